"""ViT from our blocks equals transformers.ViTModel (no pooling layer) with the same weights:
the features are the class token after the final LayerNorm."""

import re

import pytest
import torch
from transformers import ViTConfig, ViTForImageClassification, ViTModel

from engine.compile import compile_graph
from engine.shapes import analyze_graph
from engine.zoo import vit as z
from engine.zoo.common import MappingError
from tests.engine.zoo import assert_every_shape, assert_head_reads_the_features

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 37, "image_size": 32, "patch_size": 8}

#: transformers 5 names -> the names in the Hub's files (the reverse of its conversion map)
HUB_SPELLING = [
    (r"^layers\.(\d+)\.", r"encoder.layer.\1."),
    (r"\.attention\.([qkv])_proj\.", None),
    (r"\.attention\.o_proj\.", ".attention.output.dense."),
    (r"\.mlp\.fc1\.", ".intermediate.dense."),
    (r"\.mlp\.fc2\.", ".output.dense."),
]
QKV = {"q": "query", "k": "key", "v": "value"}


def hub_spelling(key: str) -> str:
    for pattern, repl in HUB_SPELLING:
        if repl is None:
            key = re.sub(pattern, lambda mt: f".attention.attention.{QKV[mt.group(1)]}.", key)
        else:
            key = re.sub(pattern, repl, key)
    return key


def hf_config(config, **extra):
    keep = {k: v for k, v in {**z.DEFAULT_CONFIG, **config}.items()
            if k not in ("model_type", "architectures", "num_labels")}
    return ViTConfig(**keep, **extra)


def scramble_small(model):
    """Biases and norms start at 0 and 1: make them random too, so a wrong map shows."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def ours(config, size=None):
    graph = z.build(config, size)
    analysis = analyze_graph(graph)
    assert analysis.ok, analysis.errors
    return graph, analysis, compile_graph(graph, analysis=analysis).eval()


@pytest.fixture(scope="module")
def base():
    """ViT-B/16 at 224 (86M parameters), built once."""
    torch.manual_seed(0)
    hf = scramble_small(ViTModel(hf_config({}), add_pooling_layer=False))
    graph, analysis, gm = ours(z.DEFAULT_CONFIG)
    gm.load_state_dict(z.map_keys(hf.state_dict(), z.DEFAULT_CONFIG), strict=True)
    return hf, graph, analysis, gm


def test_vit_base_features_equal_transformers(base):
    hf, _, _, gm = base
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        want, got = hf(x).last_hidden_state[:, 0], gm(x)
    assert got.shape == (1, 768)
    assert (want - got).abs().max().item() <= 1e-5


def test_parameter_and_block_counts_equal_transformers(base):
    hf, graph, analysis, gm = base
    assert len(hf.layers) == 12 == sum(n.type == "TransformerEncoderLayer" for n in graph.nodes)
    assert analysis.nodes["layer5"].params == sum(p.numel() for p in hf.layers[5].parameters())
    n = sum(p.numel() for p in hf.parameters())
    assert n == 85_798_656  # ViT-B/16 without pooler or head
    assert analysis.total_params == n == sum(p.numel() for p in gm.parameters())


def test_graph_follows_the_zoo_conventions(base):
    _, graph, analysis, gm = base
    ids = [n.id for n in graph.nodes]
    assert graph.flow == "down"
    assert [(n.id, n.params["shape"]) for n in graph.nodes if n.type == "Input"] == [
        ("image", [3, 224, 224])]
    assert [n.id for n in graph.nodes if n.type == "Output"] == ["features"]
    assert ids[:6] == ["image", "patch_conv", "patch_flatten", "patch_tokens", "cls_token",
                       "pos_embed"]
    assert ids[-3:] == ["final_norm", "cls_take", "features"]
    assert [i for i in ids if i.startswith("layer")] == [f"layer{i}" for i in range(12)]
    assert analysis.nodes["pos_embed"].out.shape == (197, 768)
    assert analysis.nodes["features"].out.shape == (768,)
    assert len({n.position for n in graph.nodes}) == len(graph.nodes)  # laid out
    assert gm.layer0.norm1.eps == gm.layer11.norm2.eps == gm.final_norm.eps == 1e-12
    assert gm.layer0.norm_first and gm.layer0.activation_relu_or_gelu == 2  # exact GELU


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return scramble_small(ViTModel(hf_config(TINY), add_pooling_layer=False))


def test_small_variant_equals_transformers(tiny):
    graph, analysis, gm = ours(TINY)
    mapped = z.map_keys(tiny.state_dict(), TINY)
    gm.load_state_dict(mapped, strict=True)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert (tiny(x).last_hidden_state[:, 0] - gm(x)).abs().max().item() <= 1e-5
    assert analysis.total_params == sum(p.numel() for p in tiny.parameters())


def test_hub_spelling_maps_to_the_same_tensors(tiny):
    state = tiny.state_dict()
    hub = {hub_spelling(k): v for k, v in state.items()}
    assert "encoder.layer.1.attention.attention.value.bias" in hub
    assert "encoder.layer.0.output.dense.weight" in hub
    assert "encoder.layer.0.attention.output.dense.weight" in hub
    a, b = z.map_keys(state, TINY), z.map_keys(hub, TINY)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_query_key_value_are_joined_in_order(tiny):
    state = tiny.state_dict()
    mapped = z.map_keys(state, TINY)
    w = mapped["layer1.self_attn.in_proj_weight"]
    assert torch.equal(w[32:64], state["layers.1.attention.k_proj.weight"])
    assert torch.equal(mapped["layer1.self_attn.in_proj_bias"][64:],
                       state["layers.1.attention.v_proj.bias"])
    assert mapped["pos_embed.pe"].shape == (17, 32)


def test_analysed_shapes_equal_the_real_tensors():
    graph, analysis, gm = ours(TINY)
    assert_every_shape(graph, analysis, gm, torch.randn(2, 3, 32, 32))


def test_classifier_head_reads_the_features_under_prefix_and_head():
    torch.manual_seed(0)
    hf = scramble_small(ViTForImageClassification(hf_config(TINY, num_labels=5)))
    _, _, gm = ours(TINY)
    assert_head_reads_the_features(z, hf, gm, TINY, torch.randn(2, 3, 32, 32))


def test_pooler_of_a_model_saved_with_one_is_left_out():
    torch.manual_seed(0)
    hf = ViTModel(hf_config(TINY), add_pooling_layer=True)
    state = hf.state_dict()
    assert "pooler.dense.weight" in state
    mapped = z.map_keys(state, TINY)
    assert not any("pooler" in k for k in mapped)


def test_without_qkv_bias_the_attention_bias_is_zero():
    config = {**TINY, "qkv_bias": False}
    torch.manual_seed(0)
    hf = scramble_small(ViTModel(hf_config(config), add_pooling_layer=False))
    _, _, gm = ours(config)
    mapped = z.map_keys(hf.state_dict(), config)
    assert not mapped["layer0.self_attn.in_proj_bias"].any()
    gm.load_state_dict(mapped, strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (hf(x).last_hidden_state[:, 0] - gm(x)).abs().max().item() <= 1e-5


def test_missing_tensor_is_named(tiny):
    state = dict(tiny.state_dict())
    del state["layers.1.attention.k_proj.bias"]
    with pytest.raises(MappingError, match=r"no tensor 'layers\.1\.attention\.k_proj\.bias'"):
        z.map_keys(state, TINY)
    hub = {hub_spelling(k): v for k, v in tiny.state_dict().items()}
    del hub["encoder.layer.0.intermediate.dense.weight"]
    with pytest.raises(MappingError, match=r"'encoder\.layer\.0\.intermediate\.dense\.weight'"):
        z.map_keys(hub, TINY)


def test_unexpected_tensor_is_named(tiny):
    state = {**tiny.state_dict(), "embeddings.mask_token": torch.zeros(1, 1, 32)}
    with pytest.raises(MappingError, match=r"does not use: 'embeddings\.mask_token'"):
        z.map_keys(state, TINY)


def test_checkpoint_for_another_image_size_is_named(tiny):
    with pytest.raises(MappingError, match=r"'embeddings\.position_embeddings'.* has shape "
                                           r"\[17, 32\] but the graph needs \[65, 32\]"):
        z.map_keys(tiny.state_dict(), {**TINY, "image_size": 64})


def test_another_image_size_resizes_the_position_grid_as_transformers_does(tiny):
    graph, _, gm = ours(TINY, 48)
    assert graph.nodes[0].params["shape"] == [3, 48, 48]
    mapped = z.map_keys(tiny.state_dict(), TINY, image_size=48)
    assert mapped["pos_embed.pe"].shape == (37, 32)  # 6 x 6 patches and the class token
    gm.load_state_dict(mapped, strict=True)
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        want = tiny(x, interpolate_pos_encoding=True).last_hidden_state[:, 0]
        assert (want - gm(x)).abs().max().item() <= 1e-5
    same = z.map_keys(tiny.state_dict(), TINY, image_size=32)["pos_embed.pe"]
    assert torch.equal(same, tiny.embeddings.position_embeddings[0])


def test_image_size_must_be_a_multiple_of_the_patch():
    with pytest.raises(MappingError, match="not a multiple of the patch size 16: choose 224 "
                                           "or 240"):
        z.build(z.DEFAULT_CONFIG, 230)
    assert z.build(z.DEFAULT_CONFIG, 384, layout=False).nodes[0].params["shape"] == [3, 384, 384]


def test_default_config_is_a_valid_transformers_config():
    cfg = ViTConfig(**z.DEFAULT_CONFIG)
    for key, value in z.DEFAULT_CONFIG.items():
        if key != "model_type":
            assert getattr(cfg, key) == value, key
    assert z.ARCH == cfg.model_type == "vit"


def test_unsupported_activation_is_a_mapping_error():
    with pytest.raises(MappingError, match="hidden_act 'gelu_new'.*use gelu or relu"):
        z.build({**TINY, "hidden_act": "gelu_new"})
