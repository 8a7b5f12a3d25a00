import keyword

from hypothesis import given
from hypothesis import strategies as st

from engine.naming import RESERVED, is_valid_id, make_identifier


@given(st.text(max_size=80), st.sets(st.sampled_from(["conv", "conv_2", "node", "x"])))
def test_any_text_becomes_a_fresh_valid_identifier(text, taken):
    name = make_identifier(text, taken)
    assert is_valid_id(name) and name.isidentifier() and name not in taken
    assert not keyword.iskeyword(name) and name not in RESERVED


def test_readable_names_stay_readable():
    assert make_identifier("Conv 1 (3x3)") == "conv_1_3x3"
    assert make_identifier("2nd layer") == "node_2nd_layer"
    assert make_identifier("forward") == "forward_1"
    assert make_identifier("import") == "import_1"
    assert make_identifier("conv", {"conv", "conv_2"}) == "conv_3"


def test_hostile_names_cannot_escape():
    for hostile in ['__import__("os")', "self; import os", "a\nb", "x = 1 #", "ödön"]:
        assert is_valid_id(make_identifier(hostile))
