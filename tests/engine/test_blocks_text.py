"""Padding masks, SequencePool, CrossAttention and TransformerDecoderLayer against PyTorch.

A masked block must give each sequence the result it would get alone and unpadded; the
reference here is always the same module run on the trimmed sequence."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from engine.blocks import get_block
from engine.blocks import modules as m
from engine.blocks import modules_text as mt
from engine.blocks.base import ShapeError, TensorSpec
from tests.engine.blockcheck import check_block

FEW = settings(max_examples=20, deadline=None)
lengths = st.one_of(st.none(), st.integers(1, 6))
MASKABLE = ["RNN", "LSTM", "GRU", "MultiheadAttention", "TransformerEncoderLayer",
            "SequencePool"]


def ids_of(t, vocab=9):
    return TensorSpec((t,), "long", vocab)


def padded(lengths_, t, d, seed=0):
    """Random vectors [N, T, D] and token ids [N, T], right-padded with 0 to ``t``."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.zeros(len(lengths_), t, dtype=torch.long)
    for b, n in enumerate(lengths_):
        ids[b, :n] = torch.randint(1, 9, (n,), generator=g)
    return torch.randn(len(lengths_), t, d, generator=g), ids


# -- shapes and parameter counts against PyTorch ---------------------------------------------


@FEW
@given(kind=st.sampled_from(["RNN", "LSTM", "GRU"]), f=st.integers(1, 6), h=st.integers(1, 6),
       layers=st.integers(1, 3), bi=st.booleans(), output=st.sampled_from(["sequence", "last"]),
       t=lengths)
def test_masked_recurrent_matches_torch(kind, f, h, layers, bi, output, t):
    raw = {"hidden_size": h, "num_layers": layers, "bidirectional": bi, "output": output,
           "masked": True}
    check_block(kind, raw, [TensorSpec((t, f)), ids_of(t)])


@FEW
@given(type_name=st.sampled_from(["MultiheadAttention", "TransformerEncoderLayer"]),
       heads=st.integers(1, 3), head_dim=st.integers(1, 4), t=lengths, causal=st.booleans())
def test_masked_attention_matches_torch(type_name, heads, head_dim, t, causal):
    key = "num_heads" if type_name == "MultiheadAttention" else "nhead"
    raw = {key: heads, "causal": causal, "masked": True}
    check_block(type_name, raw, [TensorSpec((t, heads * head_dim)), ids_of(t)])


@FEW
@given(mode=st.sampled_from(["mean", "max", "first", "last"]), masked=st.booleans(),
       d=st.integers(1, 6), t=lengths)
def test_sequence_pool_matches_torch(mode, masked, d, t):
    ins = [TensorSpec((t, d))] + ([ids_of(t)] if masked else [])
    check_block("SequencePool", {"mode": mode, "masked": masked}, ins)


@FEW
@given(heads=st.integers(1, 3), head_dim=st.integers(1, 4), e=st.integers(1, 7), t=lengths,
       s=lengths, masked=st.booleans())
def test_cross_attention_matches_torch(heads, head_dim, e, t, s, masked):
    ins = [TensorSpec((t, heads * head_dim)), TensorSpec((s, e))] + ([ids_of(s)] if masked else [])
    check_block("CrossAttention", {"num_heads": heads, "masked": masked}, ins)


@FEW
@given(nhead=st.integers(1, 3), head_dim=st.integers(1, 4), ff=st.integers(1, 12), t=lengths,
       s=lengths, masked=st.booleans(), norm_first=st.booleans(),
       activation=st.sampled_from(["relu", "gelu"]))
def test_decoder_layer_matches_torch(nhead, head_dim, ff, t, s, masked, norm_first, activation):
    d = nhead * head_dim
    ins = [TensorSpec((t, d)), TensorSpec((s, d))] + ([ids_of(s)] if masked else [])
    raw = {"nhead": nhead, "dim_feedforward": ff, "masked": masked, "norm_first": norm_first,
           "activation": activation}
    check_block("TransformerDecoderLayer", raw, ins)


@pytest.mark.parametrize("padding", [False, True])
def test_embedding_padding_matches_torch(padding):
    check_block("Embedding", {"embedding_dim": 5, "padding": padding}, [ids_of(7, vocab=11)])


# -- what a mask does ---------------------------------------------------------------------------


def test_embedding_padding_vector_is_zero_and_never_trained():
    emb = get_block("Embedding")
    p = emb.resolve({"embedding_dim": 4, "padding": True}).values
    layer = emb.build(p, [ids_of(5, vocab=6)])
    assert torch.count_nonzero(layer.weight[0]) == 0
    layer(torch.tensor([[0, 1, 0, 2]])).sum().backward()
    assert torch.count_nonzero(layer.weight.grad[0]) == 0 and layer.weight.grad[1].abs().sum() > 0


def test_padding_off_builds_the_embedding_of_older_projects():
    emb = get_block("Embedding")
    torch.manual_seed(3)
    new = emb.build(emb.resolve({"embedding_dim": 4}).values, [ids_of(5, vocab=6)])
    torch.manual_seed(3)
    old = nn.Embedding(6, 4)
    assert new.padding_idx is None and torch.equal(new.weight, old.weight)


def _split_weights(fused: nn.Module, masked: m.Recurrent) -> None:
    """Copy a fused bidirectional torch RNN's weights into the masked module's layers."""
    for i, (ahead, back) in enumerate(zip(masked.forward_layers, masked.backward_layers,
                                          strict=True)):
        for name, _ in ahead.named_parameters():
            base = name[:-1]  # weight_ih_l0 -> weight_ih_l
            getattr(ahead, name).data.copy_(getattr(fused, f"{base}{i}"))
            getattr(back, name).data.copy_(getattr(fused, f"{base}{i}_reverse"))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("output", ["last", "sequence"])
def test_masked_recurrent_equals_each_sequence_alone(kind, bidirectional, output):
    torch.manual_seed(0)
    plain = m.Recurrent(kind, 3, 4, num_layers=2, bidirectional=bidirectional,
                        output=output).eval()
    masked = m.Recurrent(kind, 3, 4, num_layers=2, bidirectional=bidirectional, output=output,
                         masked=True).eval()
    if bidirectional:
        _split_weights(plain.rnn, masked)
    else:
        masked.load_state_dict(plain.state_dict())  # same layout: toggling keeps the weights
    sizes = [5, 2, 7, 1]
    x, ids = padded(sizes, 7, 3)
    with torch.no_grad():
        got = masked(x, ids)
        for b, n in enumerate(sizes):
            alone = plain(x[b:b + 1, :n])[0]
            if output == "last":
                torch.testing.assert_close(got[b], alone)
            else:
                torch.testing.assert_close(got[b, :n], alone)
                assert torch.count_nonzero(got[b, n:]) == 0


@pytest.mark.parametrize("mode", ["mean", "max", "first", "last"])
def test_masked_sequence_pool_equals_each_sequence_alone(mode):
    sizes = [3, 6, 1]
    x, ids = padded(sizes, 6, 4)
    got = mt.SequencePool(mode, masked=True)(x, ids)
    plain = mt.SequencePool(mode)
    for b, n in enumerate(sizes):
        torch.testing.assert_close(got[b], plain(x[b:b + 1, :n])[0])


def test_sequence_pool_of_padding_only_is_zero_not_nan():
    x, ids = padded([0, 2], 4, 3)
    for mode in ("mean", "max"):
        assert torch.equal(mt.SequencePool(mode, masked=True)(x, ids)[0], torch.zeros(3))


ATTENDING = {
    "self": lambda: m.SelfAttention(8, 2, masked=True),
    "self causal": lambda: m.SelfAttention(8, 2, causal=True, masked=True),
    "encoder": lambda: m.MaskedEncoderLayer(8, 2, 16, dropout=0.0),
    "encoder causal": lambda: m.MaskedEncoderLayer(8, 2, 16, dropout=0.0, causal=True),
}


@pytest.mark.parametrize("name", list(ATTENDING))
def test_masked_self_attention_ignores_padding(name):
    torch.manual_seed(0)
    layer = ATTENDING[name]().eval()
    sizes = [3, 5, 0]
    x, ids = padded(sizes, 5, 8)
    noisy = x.clone()
    noisy[0, 3:] = 100.0  # anything may stand in the padding
    with torch.no_grad():
        a, b = layer(x, ids), layer(noisy, ids)
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a[0, :3], layer(x[:1, :3], ids[:1, :3])[0])
    assert torch.count_nonzero(a[0, 3:]) == 0 and torch.isfinite(a).all()


def test_masked_encoder_layer_equals_the_torch_layer_with_a_key_padding_mask():
    torch.manual_seed(0)
    mine = m.MaskedEncoderLayer(8, 2, 16, dropout=0.0)
    ref = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    ref.load_state_dict(mine.state_dict())
    x, ids = padded([4, 2], 4, 8)
    want = ref(x, src_key_padding_mask=ids == 0).masked_fill((ids == 0).unsqueeze(-1), 0.0)
    torch.testing.assert_close(mine(x, ids), want)


@pytest.mark.parametrize("make", [lambda: mt.CrossAttention(8, 6, 2, masked=True),
                                  lambda: mt.CausalDecoderLayer(6, 2, 12, 0.0, masked=True)],
                         ids=["cross", "decoder"])
def test_masked_memory_padding_is_ignored(make):
    torch.manual_seed(0)
    layer = make().eval()
    d = layer.self_attn.embed_dim if isinstance(layer, nn.TransformerDecoderLayer) else 8
    e = 6
    memory, src = padded([2, 4, 0], 4, e, seed=1)
    x = torch.randn(3, 3, d)
    noisy = memory.clone()
    noisy[0, 2:] = -50.0
    with torch.no_grad():
        a = layer(x, memory, src)
        torch.testing.assert_close(a, layer(x, noisy, src))
        torch.testing.assert_close(a[0], layer(x[:1], memory[:1, :2], src[:1, :2])[0])
    assert torch.isfinite(a).all()


def test_decoder_layer_is_causal_and_equals_torch_with_masks():
    torch.manual_seed(0)
    mine = mt.CausalDecoderLayer(8, 2, 16, 0.0, masked=True).eval()
    ref = nn.TransformerDecoderLayer(8, 2, 16, 0.0, batch_first=True).eval()
    ref.load_state_dict(mine.state_dict())
    x, memory = torch.randn(2, 5, 8), torch.randn(2, 4, 8)
    src = torch.tensor([[3, 4, 0, 0], [5, 6, 7, 1]])
    want = ref(x, memory, tgt_mask=nn.Transformer.generate_square_subsequent_mask(5),
               memory_key_padding_mask=src == 0)
    torch.testing.assert_close(mine(x, memory, src), want)
    later = x.clone()
    later[:, 3:] = torch.randn(2, 2, 8)
    torch.testing.assert_close(mine(later, memory, src)[:, :3], want[:, :3])


# -- what the user sees -----------------------------------------------------------------------


@pytest.mark.parametrize("type_name", MASKABLE)
def test_masked_adds_a_mask_port_and_off_keeps_one_input(type_name):
    block = get_block(type_name)
    assert block.input_ports(block.resolve({}).values) == ("in",)
    assert block.input_ports(block.resolve({"masked": True}).values) == ("in", "mask")


def test_memory_blocks_have_memory_and_mask_ports():
    for type_name in ("CrossAttention", "TransformerDecoderLayer"):
        block = get_block(type_name)
        assert block.input_ports(block.resolve({}).values) == ("in", "memory")
        assert block.input_ports(block.resolve({"masked": True}).values) == (
            "in", "memory", "mask")


@pytest.mark.parametrize("type_name", MASKABLE)
def test_mask_of_vectors_asks_for_the_token_ids(type_name):
    with pytest.raises(ShapeError, match=r"mask input takes the token ids \[N, T\] of the "
                                         r"sequence \(dtype long\) but gets \[N, 6, 8\]: "
                                         "connect the Input"):
        check_block(type_name, {"masked": True}, [TensorSpec((6, 8)), TensorSpec((6, 8))])


@pytest.mark.parametrize("type_name", MASKABLE)
def test_mask_of_another_length_is_refused(type_name):
    with pytest.raises(ShapeError, match="mask has 9 steps but the sequence has 6"):
        check_block(type_name, {"masked": True}, [TensorSpec((6, 8)), ids_of(9)])


def test_source_mask_must_match_the_memory_not_the_target():
    ins = [TensorSpec((5, 8)), TensorSpec((7, 8))]
    check_block("CrossAttention", {"num_heads": 2, "masked": True}, ins + [ids_of(7)])
    with pytest.raises(ShapeError, match=r"mask has 5 steps but the memory \(source "
                                         r"sequence\) has 7"):
        check_block("TransformerDecoderLayer", {"nhead": 2, "masked": True}, ins + [ids_of(5)])


def test_decoder_memory_of_another_width_says_how_to_fix_it():
    with pytest.raises(ShapeError, match=r"memory \[N, 7, 12\] has 12 features: give the "
                                         r"encoder the embedding size 8, or put a Linear\(8\)"):
        check_block("TransformerDecoderLayer", {"nhead": 2}, [TensorSpec((5, 8)),
                                                             TensorSpec((7, 12))])


def test_memory_must_be_a_sequence():
    with pytest.raises(ShapeError, match=r"memory input expects a sequence \[N, S, E\]"):
        check_block("CrossAttention", {"num_heads": 2}, [TensorSpec((5, 8)), TensorSpec((8,))])


def test_pool_refuses_token_ids_and_flat_vectors():
    with pytest.raises(ShapeError, match="insert an Embedding"):
        check_block("SequencePool", {}, [ids_of(5)])
    with pytest.raises(ShapeError, match=r"expects a sequence \[N, T, D\] but gets \[N, 16\]"):
        check_block("SequencePool", {}, [TensorSpec((16,))])


def test_cross_attention_flops_grow_with_both_lengths():
    block = get_block("CrossAttention")
    p = block.resolve({"num_heads": 2}).values

    def cost(t, s):
        ins = [TensorSpec((t, 8)), TensorSpec((s, 8))]
        return block.flops(p, ins, block.infer(p, ins))

    assert cost(10, 20) > cost(10, 10) > cost(5, 10)
    # projections are linear, scores quadratic: twice as long, less than four times the cost
    assert 2 * cost(10, 10) < cost(20, 20) < 4 * cost(10, 10)


def test_summaries_say_masked():
    for type_name in MASKABLE + ["CrossAttention", "TransformerDecoderLayer"]:
        block = get_block(type_name)
        assert "masked" in block.summary(block.resolve({"masked": True}).values), type_name
        assert "masked" not in block.summary(block.resolve({}).values), type_name
