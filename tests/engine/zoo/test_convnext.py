"""ConvNeXt from our blocks equals transformers.ConvNextModel with the same weights."""

import pytest
import torch
from transformers import ConvNextConfig, ConvNextForImageClassification, ConvNextModel

from engine.compile import compile_graph
from engine.shapes import analyze_graph
from engine.zoo import convnext as z
from engine.zoo.common import MappingError
from tests.engine.zoo import assert_every_shape, assert_head_reads_the_features

TINY = {"hidden_sizes": [8, 16], "depths": [1, 2], "num_stages": 2, "image_size": 32,
        "drop_path_rate": 0.2}
NO_SCALE = {**TINY, "layer_scale_init_value": 0.0, "hidden_act": "relu", "patch_size": 2,
            "layer_norm_eps": 1e-5}


def hf_config(config, **extra):
    keep = {k: v for k, v in {**z.DEFAULT_CONFIG, **config}.items()
            if k not in ("model_type", "architectures", "num_labels")}
    return ConvNextConfig(**keep, **extra)


def scramble(model):
    """Random weights everywhere: layer scale 1e-6 and zero biases would hide a wrong map."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def ours(config, size=None):
    graph = z.build(config, size)
    analysis = analyze_graph(graph)
    assert analysis.ok, analysis.errors
    return graph, analysis, compile_graph(graph, analysis=analysis).eval()


@pytest.fixture(scope="module")
def full():
    torch.manual_seed(0)
    hf = scramble(ConvNextModel(hf_config({})))
    graph, analysis, gm = ours(z.DEFAULT_CONFIG, 64)
    gm.load_state_dict(z.map_keys(hf.state_dict(), z.DEFAULT_CONFIG), strict=True)
    return hf, graph, analysis, gm


def test_convnext_tiny_224_features_equal_transformers(full):
    hf, _, _, gm = full
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        want, got = hf(x).pooler_output, gm(x)
    assert got.shape == (2, 768)
    assert (want - got).abs().max().item() <= 1e-5


def test_parameter_and_block_counts_equal_transformers(full):
    hf, graph, analysis, gm = full
    layers = [m for m in hf.modules() if type(m).__name__ == "ConvNextLayer"]
    assert len(layers) == 18 == sum(n.type == "Add" for n in graph.nodes)
    assert sum(n.type == "Conv2d" and n.params.get("groups", 1) > 1 for n in graph.nodes) == 18
    block = sum(info.params for nid, info in analysis.nodes.items() if nid.startswith("s3_b4_"))
    assert block == sum(p.numel() for p in hf.encoder.stages[2].layers[4].parameters())
    n = sum(p.numel() for p in hf.parameters())
    assert n == 27_820_128  # ConvNeXt-T backbone, as published (28M with the head)
    assert analysis.total_params == n == sum(p.numel() for p in gm.parameters())


def test_graph_follows_the_zoo_conventions(full):
    _, graph, analysis, _ = full
    ids = [n.id for n in graph.nodes]
    assert graph.flow == "down"
    inputs = [n for n in graph.nodes if n.type == "Input"]
    outputs = [n for n in graph.nodes if n.type == "Output"]
    assert [(n.id, n.params["shape"]) for n in inputs] == [("image", [3, 64, 64])]
    assert [n.id for n in outputs] == ["features"]
    assert analysis.nodes["features"].out.shape == (768,)
    for nid in ("stem_conv", "stem_norm", "s1_b0_dwconv", "s1_b0_pwconv1", "s1_b0_scale",
                "s2_down_norm", "s2_down_conv", "s3_b8_add", "s4_b2_add", "pool", "final_norm"):
        assert nid in ids, nid
    assert not any("drop" in i for i in ids)  # drop_path_rate 0: no stochastic depth blocks
    assert len({n.position for n in graph.nodes}) == len(graph.nodes)  # laid out
    assert z.build(z.DEFAULT_CONFIG).nodes[0].params["shape"] == [3, 224, 224]


def test_eps_of_every_norm_follows_the_model_code(full):
    _, graph, _, gm = full
    norms = {n.id: n.params for n in graph.nodes if n.type == "LayerNorm"}
    assert norms.pop("final_norm")["eps"] == 1e-12 == gm.final_norm.eps
    assert all(p["eps"] == 1e-6 for p in norms.values())
    assert norms["stem_norm"]["channels_first"] and norms["s2_down_norm"]["channels_first"]
    assert not norms["s1_b0_norm"].get("channels_first", False)


@pytest.mark.parametrize("config", [TINY, NO_SCALE], ids=["drop-path", "no-layer-scale"])
def test_small_variants_equal_transformers(config):
    torch.manual_seed(0)
    hf = scramble(ConvNextModel(hf_config(config)))
    graph, analysis, gm = ours(config)
    mapped = z.map_keys(hf.state_dict(), config)
    assert len(mapped) == len(hf.state_dict())  # every tensor used once
    gm.load_state_dict(mapped, strict=True)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert (hf(x).pooler_output - gm(x)).abs().max().item() <= 1e-5
    assert analysis.total_params == sum(p.numel() for p in hf.parameters())
    types = {n.type for n in graph.nodes}
    assert "StochasticDepth" in types  # identity at evaluation
    assert ("LayerScale" in types) == (config is TINY)


def test_drop_path_grows_linearly_over_the_blocks():
    graph = z.build(TINY, layout=False)
    rates = [n.params["p"] for n in graph.nodes if n.type == "StochasticDepth"]
    assert rates == [0.1, 0.2]  # three blocks, 0 .. 0.2: the first has none
    encoder = ConvNextModel(hf_config(TINY)).encoder
    want = [layer.drop_path.drop_prob for stage in encoder.stages for layer in stage.layers
            if hasattr(layer.drop_path, "drop_prob")]
    assert rates == pytest.approx(want)


def test_analysed_shapes_equal_the_real_tensors():
    graph, analysis, gm = ours(TINY)
    assert_every_shape(graph, analysis, gm, torch.randn(2, 3, 32, 32))


def test_classifier_head_reads_the_features_under_prefix_and_head():
    torch.manual_seed(0)
    hf = scramble(ConvNextForImageClassification(hf_config(TINY, num_labels=5)))
    _, _, gm = ours(TINY)
    assert_head_reads_the_features(z, hf, gm, TINY, torch.randn(2, 3, 32, 32))


@pytest.fixture(scope="module")
def tiny_state():
    torch.manual_seed(0)
    return ConvNextModel(hf_config(TINY)).state_dict()


def test_missing_tensor_is_named(tiny_state):
    state = dict(tiny_state)
    del state["encoder.stages.1.layers.1.pwconv2.bias"]
    with pytest.raises(MappingError, match=r"no tensor 'encoder\.stages\.1\.layers\.1\."
                                           r"pwconv2\.bias'"):
        z.map_keys(state, TINY)


def test_unexpected_tensor_is_named(tiny_state):
    state = {**tiny_state, "encoder.stages.0.layers.0.gamma": torch.zeros(8)}
    with pytest.raises(MappingError, match=r"does not use: 'encoder\.stages\.0\.layers\.0\."
                                           r"gamma'"):
        z.map_keys(state, TINY)


def test_wrong_shape_is_named(tiny_state):
    state = {**tiny_state, "encoder.stages.1.layers.0.dwconv.weight": torch.zeros(16, 1, 3, 3)}
    with pytest.raises(MappingError, match=r"'encoder\.stages\.1\.layers\.0\.dwconv\.weight'.* "
                                           r"has shape \[16, 1, 3, 3\] but the graph needs "
                                           r"\[16, 1, 7, 7\]"):
        z.map_keys(state, TINY)


def test_checkpoint_of_another_size_does_not_fit(tiny_state):
    with pytest.raises(MappingError, match="convnext"):
        z.map_keys(tiny_state, z.DEFAULT_CONFIG)


def test_default_config_is_a_valid_transformers_config():
    cfg = ConvNextConfig(**z.DEFAULT_CONFIG)
    for key, value in z.DEFAULT_CONFIG.items():
        if key != "model_type":
            got = getattr(cfg, key)
            assert (list(got) if isinstance(got, tuple) else got) == value, key
    assert z.ARCH == cfg.model_type == "convnext"


def test_bad_config_is_a_mapping_error():
    with pytest.raises(MappingError, match="one of each per stage"):
        z.build({"depths": [3, 3, 9]})
    with pytest.raises(MappingError, match="hidden_act 'mish'"):
        z.build({"hidden_act": "mish"})
