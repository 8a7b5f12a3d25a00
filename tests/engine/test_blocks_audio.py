"""The audio front end (Spectrogram, LogMel, MFCC, SpecAugment) against PyTorch and
independent references (numpy's FFT, scipy's DCT), and its ONNX and Python exports."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import scipy.fft
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from engine.blocks import get_block
from engine.blocks import modules_audio as ma
from engine.blocks.base import ShapeError, TensorSpec
from engine.compile import compile_graph
from engine.export import export
from engine.export.onnx_export import onnx_problems
from tests.engine.blockcheck import check_block
from tests.engine.export.helpers import chain, save_graph_project

FEW = settings(max_examples=15, deadline=None)
RATE = 16000


def tone(freq: float, seconds: float = 0.25, rate: int = RATE) -> torch.Tensor:
    t = torch.arange(int(seconds * rate), dtype=torch.float32) / rate
    return (0.5 * torch.sin(2 * math.pi * freq * t)).reshape(1, 1, -1)


# -- shapes and parameter counts against PyTorch ---------------------------------------------


@FEW
@given(type_name=st.sampled_from(["Spectrogram", "LogMel", "MFCC"]), c=st.integers(1, 2),
       n_fft=st.sampled_from([16, 64, 100, 400]), hop=st.integers(1, 200), extra=st.integers(1, 900),
       n_mels=st.integers(4, 24), data=st.data())
def test_front_end_matches_torch(type_name, c, n_fft, hop, extra, n_mels, data):
    raw = {"n_fft": n_fft, "hop_length": hop}
    if type_name != "Spectrogram":
        raw["n_mels"] = n_mels
    if type_name == "MFCC":
        raw["n_mfcc"] = data.draw(st.integers(1, n_mels))
    check_block(type_name, raw, [TensorSpec((c, n_fft // 2 + extra))])


@FEW
@given(shape=st.sampled_from([(1, 40, 50), (2, 13, 7), (20, 30)]), masks=st.integers(0, 3),
       width=st.integers(0, 60))
def test_spec_augment_keeps_the_shape(shape, masks, width):
    raw = {"time_masks": masks, "time_width": width, "freq_masks": masks, "freq_width": width}
    check_block("SpecAugment", raw, [TensorSpec(shape)])


def test_frames_follow_centred_framing():
    block = get_block("LogMel")
    p = block.resolve({}).values
    assert block.infer(p, [TensorSpec((1, 16000))]) == TensorSpec((1, 40, 101))
    assert block.infer(p, [TensorSpec((1, None))]) == TensorSpec((1, 40, None))


# -- the features are right ---------------------------------------------------------------------


def test_spectrogram_equals_numpy_fft_of_hann_windowed_frames():
    x = torch.randn(1, 1, 1000, generator=torch.Generator().manual_seed(0))
    n_fft, hop = 256, 100
    got = ma.Spectrogram(n_fft, hop, log=False)(x)[0, 0].numpy()
    signal = np.pad(x[0, 0].double().numpy(), n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    frames = np.stack([signal[k * hop:k * hop + n_fft] * window
                       for k in range(1000 // hop + 1)], axis=1)
    want = np.abs(np.fft.rfft(frames, axis=0)) ** 2
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_log_mel_peaks_in_the_filter_around_a_tone():
    layer = ma.LogMel(RATE, n_mels=40)
    edges = 700 * (10 ** (np.linspace(2595 * np.log10(1 + 20 / 700),
                                      2595 * np.log10(1 + 8000 / 700), 42) / 2595) - 1)
    for freq in (300.0, 1000.0, 3500.0):
        energy = layer(tone(freq))[0, 0].mean(dim=1)
        want = int(np.argmin(np.abs(edges[1:-1] - freq)))  # the filter centred nearest
        assert abs(int(energy.argmax()) - want) <= 1, freq


def test_mel_filters_are_htk_triangles_that_reach_one_at_their_centres():
    layer = ma.LogMel(RATE, n_fft=4096, n_mels=10, f_min=0.0)
    filters = layer.filters.double()
    assert filters.shape == (10, 2049) and (filters >= 0).all()
    assert torch.all(filters.max(dim=1).values > 0.98)
    # the first filter's centre: one eleventh of the way up the mel scale, in Hz
    centre = 700 * (10 ** ((2595 * math.log10(1 + 8000 / 700)) / 11 / 2595) - 1)
    bin_hz = RATE / 4096
    assert abs(int(filters[0].argmax()) * bin_hz - centre) <= bin_hz


def test_mfcc_is_scipys_orthonormal_dct_of_log_mel():
    x = tone(440.0) + 0.1 * torch.randn(1, 1, 4000, generator=torch.Generator().manual_seed(1))
    mfcc = ma.MFCC(RATE, n_mels=32, n_mfcc=12)(x)[0, 0].double().numpy()
    log_mel = ma.LogMel(RATE, n_mels=32)(x)[0, 0].double().numpy()
    want = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=0)[:12]
    np.testing.assert_allclose(mfcc, want, rtol=1e-4, atol=1e-3)


def test_sample_rate_moves_the_filters():
    assert not torch.equal(ma.LogMel(8000).filters, ma.LogMel(16000).filters)


def test_tables_are_buffers_not_weights_nor_saved():
    for layer in (ma.Spectrogram(), ma.LogMel(), ma.MFCC(), ma.SpecAugment()):
        assert list(layer.parameters()) == [] and list(layer.state_dict()) == []
    layer = ma.MFCC().to(torch.float64)
    assert layer.filters.dtype == torch.float64 and layer.dct.dtype == torch.float64


def test_silence_gives_the_log_floor_not_minus_infinity():
    out = ma.LogMel()(torch.zeros(2, 1, 1600))
    torch.testing.assert_close(out, torch.full_like(out, math.log(1e-6)))


def test_spec_augment_masks_bands_with_the_mean_only_while_training():
    layer = ma.SpecAugment(time_masks=2, time_width=5, freq_masks=1, freq_width=3)
    x = torch.randn(8, 2, 20, 30)
    assert torch.equal(layer.eval()(x), x)
    torch.manual_seed(0)
    y = layer.train()(x)
    changed = y != x
    assert changed.any()
    assert torch.equal(changed[:, 0], changed[:, 1])  # the same bands in every channel
    for b in range(8):
        fill = x[b].mean()
        assert torch.allclose(y[b][changed[b]], fill.expand(int(changed[b].sum())))
        rows = changed[b, 0].all(dim=1).sum()  # frequency rows masked across all time
        frames = changed[b, 0].all(dim=0).sum()
        assert rows <= 3 and frames <= 10


# -- what the user sees -----------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["Spectrogram", "LogMel", "MFCC"])
def test_errors_say_what_to_do(type_name):
    with pytest.raises(ShapeError, match=r"expects audio \[N, C, L\] .* give the Input the "
                                         r"shape \[1, L\]"):
        check_block(type_name, {}, [TensorSpec((16000,))])
    with pytest.raises(ShapeError, match="needs clips longer than n_fft / 2 = 200 samples but "
                                         "gets 150: use a smaller n_fft or longer clips"):
        check_block(type_name, {}, [TensorSpec((1, 150))])
    with pytest.raises(ShapeError, match="insert an Embedding"):
        check_block(type_name, {}, [TensorSpec((1, 16000), "long", 10)])


def test_frequency_range_and_coefficients_are_checked():
    with pytest.raises(ShapeError, match=r"f_max 9000 Hz is above half the sample rate "
                                         r"\(8000 Hz\)"):
        check_block("LogMel", {"f_max": 9000.0}, [TensorSpec((1, 16000))])
    with pytest.raises(ShapeError, match="f_min 5000 Hz is not below f_max 4000 Hz"):
        check_block("MFCC", {"f_min": 5000.0, "sample_rate": 8000}, [TensorSpec((1, 8000))])
    with pytest.raises(ShapeError, match="choose n_mfcc at most 20 or raise n_mels"):
        check_block("MFCC", {"n_mfcc": 30, "n_mels": 20}, [TensorSpec((1, 16000))])


def test_spec_augment_wants_features_not_audio():
    with pytest.raises(ShapeError, match="put it right after a LogMel"):
        check_block("SpecAugment", {}, [TensorSpec((16000,))])


def test_variable_length_audio_is_named_as_the_reason_it_cannot_export():
    graph = chain({"shape": [1, -1]}, [("mel", "LogMel", {})])
    ((nid, why),) = onnx_problems(graph)
    assert nid == "mel" and "give the Input a fixed number of samples" in why


def test_flops_grow_with_the_clip_and_the_filters():
    block = get_block("LogMel")

    def cost(length, mels):
        p = block.resolve({"n_mels": mels}).values
        ins = [TensorSpec((1, length))]
        return block.flops(p, ins, block.infer(p, ins))

    assert cost(32000, 40) > 1.9 * cost(16000, 40) and cost(16000, 80) > cost(16000, 40)


# -- exports ------------------------------------------------------------------------------------


def test_module_sources_are_self_contained():
    namespace = {"torch": torch, "nn": nn, "math": math}
    for cls in (ma.Spectrogram, ma.LogMel, ma.MFCC, ma.SpecAugment):
        exec(inspect.getsource(cls), namespace)
    x = torch.randn(2, 1, 3000)
    torch.testing.assert_close(namespace["MFCC"](8000, 256, 80, 24, 10)(x),
                               ma.MFCC(8000, 256, 80, 24, 10)(x), rtol=0, atol=0)


@pytest.mark.parametrize(("blocks", "classes"), [
    ([("spec", "Spectrogram", {"n_fft": 256, "hop_length": 128})], ["Spectrogram"]),
    ([("mel", "LogMel", {}), ("aug", "SpecAugment", {})], ["Spectrogram", "LogMel", "SpecAugment"]),
    ([("mfcc", "MFCC", {"sample_rate": 8000})], ["Spectrogram", "LogMel", "MFCC"]),
], ids=["spectrogram", "logmel", "mfcc"])
def test_onnx_and_python_exports_match_pytorch(tmp_path, blocks, classes):
    graph = chain({"shape": [1, 4000]}, blocks)
    project = save_graph_project(tmp_path / "p.lforge", graph)
    report = export(project, "onnx", tmp_path / "m.onnx")  # checked in onnxruntime
    assert report.worst_diff is not None and report.worst_diff < 1e-3
    export(project, "python", tmp_path / "py")  # checked in a fresh process
    code = (tmp_path / "py" / "model.py").read_text()
    assert [c for c in ("Spectrogram", "LogMel", "MFCC", "SpecAugment")
            if f"\nclass {c}(" in code] == classes
    gm_code = compile_graph(graph, "model").code
    assert f"{blocks[0][0]} = self.{blocks[0][0]}(x)" in gm_code
