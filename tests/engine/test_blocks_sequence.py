"""Recurrent and attention blocks against real PyTorch, and the modules they build."""

import inspect
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from engine.blocks import get_block
from engine.blocks import modules as m
from engine.blocks.base import ShapeError, TensorSpec
from tests.engine.blockcheck import VAR_LEN, check_block

FEW = settings(max_examples=25, deadline=None)
lengths = st.one_of(st.none(), st.integers(1, 6))  # None: a variable-length sequence


@FEW
@given(kind=st.sampled_from(["RNN", "LSTM", "GRU"]), f=st.integers(1, 8), h=st.integers(1, 8),
       layers=st.integers(1, 3), bi=st.booleans(), dropout=st.sampled_from([0.0, 0.3]),
       output=st.sampled_from(["sequence", "last"]), t=lengths, relu=st.booleans())
def test_recurrent_matches_torch(kind, f, h, layers, bi, dropout, output, t, relu):
    raw = {"hidden_size": h, "num_layers": layers, "bidirectional": bi, "dropout": dropout,
           "output": output}
    if kind == "RNN":
        raw["nonlinearity"] = "relu" if relu else "tanh"
    check_block(kind, raw, [TensorSpec((t, f))])


@FEW
@given(heads=st.integers(1, 4), head_dim=st.integers(1, 4), t=lengths, causal=st.booleans(),
       dropout=st.sampled_from([0.0, 0.1]))
def test_multihead_attention_matches_torch(heads, head_dim, t, causal, dropout):
    raw = {"num_heads": heads, "causal": causal, "dropout": dropout}
    check_block("MultiheadAttention", raw, [TensorSpec((t, heads * head_dim))])


@FEW
@given(nhead=st.integers(1, 3), head_dim=st.integers(1, 4), ff=st.integers(1, 16), t=lengths,
       activation=st.sampled_from(["relu", "gelu"]), norm_first=st.booleans(),
       causal=st.booleans())
def test_transformer_encoder_layer_matches_torch(nhead, head_dim, ff, t, activation, norm_first,
                                                 causal):
    raw = {"nhead": nhead, "dim_feedforward": ff, "activation": activation,
           "norm_first": norm_first, "causal": causal}
    check_block("TransformerEncoderLayer", raw, [TensorSpec((t, nhead * head_dim))])


@FEW
@given(d=st.integers(1, 9), max_len=st.integers(VAR_LEN, 12), data=st.data(),
       learned=st.booleans(), variable=st.booleans())
def test_positional_encoding_matches_torch(d, max_len, data, learned, variable):
    t = None if variable else data.draw(st.integers(1, max_len))
    check_block("PositionalEncoding", {"max_len": max_len, "learned": learned},
                [TensorSpec((t, d))])


# -- errors a user meets ------------------------------------------------------------------

SEQUENCE_BLOCKS = ["RNN", "LSTM", "GRU", "MultiheadAttention", "TransformerEncoderLayer",
                   "PositionalEncoding"]


@pytest.mark.parametrize("type_name", SEQUENCE_BLOCKS)
def test_token_ids_ask_for_embedding(type_name):
    with pytest.raises(ShapeError, match="insert an Embedding"):
        check_block(type_name, {}, [TensorSpec((12,), "long", 50)])


@pytest.mark.parametrize("type_name", SEQUENCE_BLOCKS)
def test_flat_features_are_not_a_sequence(type_name):
    with pytest.raises(ShapeError, match=r"expects a sequence \[N, T, \w\] but gets \[N, 128\]: "
                                         "insert Reshape"):
        check_block(type_name, {}, [TensorSpec((128,))])


@pytest.mark.parametrize("type_name", SEQUENCE_BLOCKS)
def test_image_is_not_a_sequence(type_name):
    with pytest.raises(ShapeError, match=r"gets \[N, 3, 8, 8\]: insert Reshape"):
        check_block(type_name, {}, [TensorSpec((3, 8, 8))])


@pytest.mark.parametrize("type_name", SEQUENCE_BLOCKS)
def test_variable_feature_size_is_rejected(type_name):
    with pytest.raises(ShapeError, match="needs a fixed feature size"):
        check_block(type_name, {}, [TensorSpec((10, None))])


@pytest.mark.parametrize(("type_name", "param"), [("MultiheadAttention", "num_heads"),
                                                  ("TransformerEncoderLayer", "nhead")])
def test_heads_must_divide_embedding_size(type_name, param):
    with pytest.raises(ShapeError, match=rf"size 30 to be divisible by {param}, but 4 does not "
                                         r"divide 30: choose 3 or 5 heads"):
        check_block(type_name, {param: 4}, [TensorSpec((None, 30))])


def test_positional_encoding_rejects_sequence_longer_than_max_len():
    with pytest.raises(ShapeError, match="raise max_len to at least 600"):
        check_block("PositionalEncoding", {"max_len": 512}, [TensorSpec((600, 16))])


@pytest.mark.parametrize(("type_name", "raw"), [
    ("LSTM", {"hidden_size": 10**12}),
    ("GRU", {"num_layers": -1}),
    ("RNN", {"num_layers": 0}),
    ("RNN", {"nonlinearity": "sigmoid"}),
    ("LSTM", {"dropout": 1.5}),
    ("GRU", {"output": "middle"}),
    ("LSTM", {"hidden_size": 64.5}),
    ("MultiheadAttention", {"num_heads": 0}),
    ("TransformerEncoderLayer", {"dim_feedforward": 10**12}),
    ("TransformerEncoderLayer", {"activation": "tanh"}),
    ("PositionalEncoding", {"max_len": 10**9}),
    ("PositionalEncoding", {"max_len": -5}),
])
def test_resolve_rejects_absurd_params(type_name, raw):
    res = get_block(type_name).resolve(raw)
    assert res.errors and list(raw)[0] in res.errors[0]


def test_blocks_take_input_size_from_the_input_not_params():
    for type_name in SEQUENCE_BLOCKS:
        names = {p.name for p in get_block(type_name).params}
        assert not names & {"input_size", "embed_dim", "d_model"}, type_name


def test_summary_names_the_key_params():
    lstm = get_block("LSTM")
    p = lstm.resolve({"hidden_size": 64, "num_layers": 2, "bidirectional": True,
                      "output": "last"}).values
    assert lstm.summary(p) == "64, 2 layers, bi, last"


def test_recurrent_flops_scale_with_length_and_weights():
    lstm = get_block("LSTM")
    p = lstm.resolve({"hidden_size": 32}).values
    ins = [TensorSpec((10, 16))]
    out = lstm.infer(p, ins)
    weights = lstm.param_count(p, ins)
    assert 2 * weights * 10 <= lstm.flops(p, ins, out) <= 3 * weights * 10


# -- the modules themselves --------------------------------------------------------------

def test_bidirectional_last_is_both_final_hidden_states():
    torch.manual_seed(0)
    for kind in ("RNN", "LSTM", "GRU"):
        mod = m.Recurrent(kind, 3, 4, num_layers=2, bidirectional=True, output="last").eval()
        x = torch.randn(2, 5, 3)
        _, state = mod.rnn(x)
        h_n = state[0] if kind == "LSTM" else state
        want = torch.cat([h_n[-2], h_n[-1]], dim=-1)  # top layer: forward, backward
        torch.testing.assert_close(mod(x), want)


def test_unidirectional_last_is_the_last_step():
    mod = m.Recurrent("GRU", 3, 4, output="last").eval()
    seq = m.Recurrent("GRU", 3, 4, output="sequence").eval()
    seq.load_state_dict(mod.state_dict())
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(mod(x), seq(x)[:, -1])


@pytest.mark.parametrize("make", [
    lambda: m.SelfAttention(8, 2, causal=True),
    lambda: m.CausalEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True),
])
def test_causal_modules_do_not_look_ahead(make):
    torch.manual_seed(0)
    mod = make().eval()
    x = torch.randn(2, 6, 8)
    changed = x.clone()
    changed[:, 4:] = torch.randn(2, 2, 8)
    with torch.no_grad():
        a, b = mod(x), mod(changed)
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_causal_encoder_layer_equals_torch_layer_with_mask():
    torch.manual_seed(0)
    mine = m.CausalEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    ref = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    ref.load_state_dict(mine.state_dict())
    x = torch.randn(3, 5, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    torch.testing.assert_close(mine(x), ref(x, src_mask=mask))


def test_sinusoidal_encoding_values_for_odd_width():
    d, n = 5, 7
    mod = m.PositionalEncoding(d, max_len=n).eval()
    got = mod(torch.zeros(1, n, d))[0]
    for t in range(n):
        for i in range(d):
            angle = t / 10000 ** ((i - i % 2) / d)
            want = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            assert got[t, i].item() == pytest.approx(want, abs=1e-5)


def test_sinusoidal_encoding_is_not_a_weight_but_learned_is():
    fixed, learned = m.PositionalEncoding(4, 10), m.PositionalEncoding(4, 10, learned=True)
    assert list(fixed.state_dict()) == [] and list(fixed.parameters()) == []
    assert list(learned.state_dict()) == ["pe"]
    assert sum(p.numel() for p in learned.parameters()) == 40


def test_positional_encoding_rejects_too_long_sequence_at_run_time():
    with pytest.raises(ValueError, match="longer than max_len 4"):
        m.PositionalEncoding(3, max_len=4)(torch.zeros(1, 5, 3))


SELF_CONTAINED = [
    (m.Recurrent, ("LSTM", 3, 4, 2, True, 0.0, "last")),
    (m.Recurrent, ("RNN", 3, 4, 1, False, 0.0, "sequence", "relu")),
    (m.SelfAttention, (8, 2, 0.0, True)),
    (m.PositionalEncoding, (5, 9, False, 0.0)),
    (m.PositionalEncoding, (5, 9, True, 0.0)),
    (m.CausalEncoderLayer, (8, 2, 16, 0.0)),
]


@pytest.mark.parametrize(("cls", "args"), SELF_CONTAINED,
                         ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(SELF_CONTAINED)])
def test_module_source_is_self_contained(cls, args):
    namespace = {"torch": torch, "nn": nn, "math": math}
    exec(inspect.getsource(cls), namespace)
    copy_cls = namespace[cls.__name__]
    kwargs = {"batch_first": True} if cls is m.CausalEncoderLayer else {}
    torch.manual_seed(0)
    original = cls(*args, **kwargs).eval()
    copy = copy_cls(*args, **kwargs).eval()
    copy.load_state_dict(original.state_dict())
    x = torch.randn(2, 6, args[1] if cls is m.Recurrent else args[0])
    with torch.no_grad():
        torch.testing.assert_close(copy(x), original(x), rtol=0, atol=0)
