"""Malformed project files never crash the CLI: exit 2 with a message, or exit 0."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main

VALID = {
    "schema_version": 1,
    "name": "fuzz",
    "graphs": {"model": {
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [4]}, "position": [0, 0]},
            {"id": "fc", "type": "Linear", "params": {"out_features": 3}},
            {"id": "y", "type": "Output"},
        ],
        "edges": [{"src": "x", "dst": "fc"}, {"src": "fc", "dst": "y"}],
    }},
    "training": {"lr": 0.01, "batch_size": 32},
    "task": {"kind": "classification"},
}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**13, 10**13),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
json_values = st.recursive(scalars, lambda c: st.one_of(
    st.lists(c, max_size=4), st.dictionaries(st.text(max_size=8), c, max_size=4)), max_leaves=12)
PATHS = [("schema_version",), ("graphs",), ("graphs", "model"), ("graphs", "model", "nodes"),
         ("graphs", "model", "edges"), ("graphs", "model", "nodes", 0),
         ("graphs", "model", "nodes", 1, "params"), ("graphs", "model", "nodes", 1, "params", "out_features"),
         ("graphs", "model", "nodes", 1, "type"), ("graphs", "model", "nodes", 1, "id"),
         ("graphs", "model", "edges", 0, "dst"), ("graphs", "model", "nodes", 0, "params", "shape"),
         ("training",), ("training", "lr"), ("dataset",), ("task", "kind")]


def mutate(doc, path, value):
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


@st.composite
def malformed(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return json.dumps(mutate(VALID, draw(st.sampled_from(PATHS)), draw(json_values)))
    if kind == 1:
        text = json.dumps(VALID)
        cut = draw(st.integers(0, len(text)))
        return text[:cut] + draw(st.text(max_size=5))
    if kind == 2:
        return json.dumps(draw(json_values))
    depth = draw(st.integers(1, 5000))
    return "[" * depth + "]" * draw(st.integers(0, depth))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=malformed())
def test_malformed_files_get_a_message_never_a_traceback(tmp_path_factory, text, capsys):
    # capsys is read (and so emptied) on every example, which makes it safe to share.
    path = tmp_path_factory.getbasetemp() / "fuzz.lforge"
    path.write_text(text)
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 2)
    assert "Traceback" not in out + err
    if code == 2:
        assert (out + err).strip(), "exit 2 without a message"
