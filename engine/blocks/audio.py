"""The audio front end: spectrogram, log-mel and MFCC features computed from raw audio
inside the network, and SpecAugment's masks on them.

Shapes are analytic: with center=True framing a clip of L samples gives
L // hop_length + 1 frames. The modules are in ``engine.blocks.modules_audio``.
"""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.base import Block, Param, ShapeError, TensorSpec, need_float, one_input

_WHEN = (
    " Put it right after an Input of raw audio [1, L] (mono samples in -1..1); training sets "
    "sample_rate from the data. The result is an image of C channels, ready for Conv2d; "
    "for a recurrent or transformer model, Reshape it into a sequence of frames."
)

_N_FFT = Param("n_fft", "int", 400, "Window length in samples (400 = 25 ms at 16 kHz); the "
               "spectrum has n_fft / 2 + 1 frequency bins.", min=8, max=65_536)
_HOP = Param("hop_length", "int", 160, "Samples between frames (160 = 10 ms at 16 kHz); "
             "a clip of L samples gives L // hop_length + 1 frames.", min=1, max=65_536)
_RATE = Param("sample_rate", "int", 16000, "Samples per second of the audio; training sets "
              "it from the data.", min=1000, max=384_000)
_MELS = Param("n_mels", "int", 40, "Number of mel filters (frequency rows of the result).",
              min=1, max=512)
_F_MIN = Param("f_min", "float", 20.0, "Lowest frequency of the mel filters, in Hz.",
               min=0.0, max=192_000.0)
_F_MAX = Param("f_max", "float", 0.0, "Highest frequency of the mel filters, in Hz; 0 means "
               "half the sample rate.", min=0.0, max=192_000.0)


def fft_flops(frames: int, n_fft: int) -> int:
    """An FFT's operations for ``frames`` windows: windowing, ~5 n log2 n for the transform
    and 3 per bin for the power."""
    bins = n_fft // 2 + 1
    return frames * (n_fft + 5 * n_fft * max(1, n_fft.bit_length() - 1) + 3 * bins)


class _FrontEnd(Block):
    family = "audio"

    def feature_rows(self, p: dict[str, Any]) -> int:
        return p["n_fft"] // 2 + 1

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        need_float(self, x)
        if len(x.shape) != 2:
            raise ShapeError(
                f"{self.title} expects audio [N, C, L] (channels, samples) but gets {x}: give "
                "the Input the shape [1, L] for mono clips of L samples"
            )
        c, length = x.shape
        half = p["n_fft"] // 2
        if length is not None and length <= half:
            raise ShapeError(
                f"{self.title} needs clips longer than n_fft / 2 = {half} samples but gets "
                f"{length}: use a smaller n_fft or longer clips"
            )
        self.check(p)
        frames = None if length is None else length // p["hop_length"] + 1
        return TensorSpec((c, self.feature_rows(p), frames))

    def check(self, p: dict[str, Any]) -> None:
        """Parameter combinations the front end refuses (ShapeError)."""

    def frames(self, ins: list[TensorSpec], p: dict[str, Any]) -> int:
        c, length = ins[0].shape
        steps = 1 if length is None else length // p["hop_length"] + 1
        return (c or 1) * steps

    def flops(self, p, ins, out) -> int:
        return fft_flops(self.frames(ins, p), p["n_fft"]) + out.numel()  # + the log

    def onnx_problem(self, p, ins):
        # The exporter traces at a short length (8 samples) where reflection padding fails,
        # and onnxruntime is checked at lengths 5 and 11: measured, the export fails.
        if ins and len(ins[0].shape) == 2 and ins[0].shape[1] is None:
            return (f"{self.title} exports to ONNX only for clips of a fixed length: give "
                    "the Input a fixed number of samples, e.g. [1, 16000]")
        return self.onnx_issue


def check_band(block: Block, p: dict[str, Any]) -> None:
    nyquist = p["sample_rate"] / 2
    top = p["f_max"] or nyquist
    if top > nyquist:
        raise ShapeError(
            f"{block.title}'s f_max {top:g} Hz is above half the sample rate ({nyquist:g} "
            "Hz), where the spectrum ends: lower f_max, or set it to 0"
        )
    if p["f_min"] >= top:
        raise ShapeError(
            f"{block.title}'s f_min {p['f_min']:g} Hz is not below f_max {top:g} Hz: lower "
            "f_min or raise f_max"
        )


@register
class Spectrogram(_FrontEnd):
    type = "Spectrogram"
    title = "Spectrogram"
    doc = (
        "The short-time Fourier transform of audio [N, C, L]: how strong each frequency is in "
        "each short window, [N, C, n_fft / 2 + 1, frames] with frames = L // hop_length + 1 "
        "(Hann window, centred frames). On by default, log gives log(power + 1e-6), which "
        "a network learns from far better than raw power. Log-mel is usually the better "
        "start for speech; use the spectrogram to keep every frequency bin." + _WHEN
    )
    params = (_N_FFT, _HOP,
              Param("log", "bool", True, "Return log(power + 1e-6) instead of the power."))

    def summary(self, p) -> str:
        return f"{p['n_fft']}/{p['hop_length']}" + (", log" if p["log"] else "")

    def build(self, p, ins):
        from engine.blocks.modules_audio import Spectrogram as Module

        return Module(p["n_fft"], p["hop_length"], p["log"])


@register
class LogMel(_FrontEnd):
    type = "LogMel"
    title = "Log-mel spectrogram"
    doc = (
        "Log-mel features of audio [N, C, L]: the spectrogram summed through n_mels "
        "triangular filters spaced as the ear hears pitch (HTK mel scale), then log(x + "
        "1e-6); [N, C, n_mels, frames] with frames = L // hop_length + 1. The standard input "
        "for keyword spotting and speech recognition." + _WHEN
    )
    params = (_RATE, _N_FFT, _HOP, _MELS, _F_MIN, _F_MAX)

    def feature_rows(self, p):
        return p["n_mels"]

    def check(self, p):
        check_band(self, p)

    def flops(self, p, ins, out) -> int:
        bins = p["n_fft"] // 2 + 1
        return super().flops(p, ins, out) + 2 * bins * out.numel()

    def summary(self, p) -> str:
        return f"{p['n_mels']} mels, {p['n_fft']}/{p['hop_length']}"

    def build(self, p, ins):
        from engine.blocks.modules_audio import LogMel as Module

        return Module(p["sample_rate"], p["n_fft"], p["hop_length"], p["n_mels"], p["f_min"],
                      p["f_max"])


@register
class MFCC(_FrontEnd):
    type = "MFCC"
    title = "MFCC"
    doc = (
        "Mel-frequency cepstral coefficients of audio [N, C, L]: the orthonormal DCT of the "
        "log-mel features, keeping the first n_mfcc; [N, C, n_mfcc, frames] with frames = "
        "L // hop_length + 1. A compact, decorrelated summary of each frame, suited to small "
        "models and recurrent layers; CNNs usually do better on log-mel." + _WHEN
    )
    params = (_RATE, _N_FFT, _HOP, _MELS,
              Param("n_mfcc", "int", 13, "Number of coefficients kept (at most n_mels).",
                    min=1, max=512),
              _F_MIN, _F_MAX)

    def feature_rows(self, p):
        return p["n_mfcc"]

    def check(self, p):
        check_band(self, p)
        if p["n_mfcc"] > p["n_mels"]:
            raise ShapeError(
                f"{self.title} keeps n_mfcc {p['n_mfcc']} coefficients of {p['n_mels']} mel "
                f"filters: choose n_mfcc at most {p['n_mels']} or raise n_mels"
            )

    def flops(self, p, ins, out) -> int:
        bins = p["n_fft"] // 2 + 1
        mel = self.frames(ins, p) * p["n_mels"]
        return (fft_flops(self.frames(ins, p), p["n_fft"]) + 2 * bins * mel + mel
                + 2 * p["n_mels"] * out.numel())

    def summary(self, p) -> str:
        return f"{p['n_mfcc']} of {p['n_mels']} mels"

    def build(self, p, ins):
        from engine.blocks.modules_audio import MFCC as Module

        return Module(p["sample_rate"], p["n_fft"], p["hop_length"], p["n_mels"], p["n_mfcc"],
                      p["f_min"], p["f_max"])


@register
class SpecAugment(Block):
    type = "SpecAugment"
    family = "audio"
    title = "SpecAugment"
    doc = (
        "Masks random bands of features [N, C, F, T] while training: time_masks bands of up "
        "to time_width frames and freq_masks bands of up to freq_width frequency rows, each "
        "set to the sample's mean. The network learns not to rely on any one moment or "
        "frequency, which helps most with little data. Only while training: at evaluation "
        "and in exports it passes its input through, like Dropout. Put it right after the "
        "LogMel, Spectrogram or MFCC block."
    )
    params = (
        Param("time_masks", "int", 2, "Number of time bands masked per sample.", min=0, max=64),
        Param("time_width", "int", 10, "Widest time band, in frames.", min=0, max=100_000),
        Param("freq_masks", "int", 2, "Number of frequency bands masked per sample.",
              min=0, max=64),
        Param("freq_width", "int", 8, "Widest frequency band, in rows.", min=0, max=100_000),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        need_float(self, x)
        if len(x.shape) not in (2, 3):
            raise ShapeError(
                f"{self.title} expects features [N, C, F, T] (frequency, then time) but gets "
                f"{x}: put it right after a LogMel, Spectrogram or MFCC block"
            )
        return x

    def flops(self, p, ins, out) -> int:
        return 0  # nothing at evaluation

    def summary(self, p) -> str:
        return f"t {p['time_masks']}x{p['time_width']}, f {p['freq_masks']}x{p['freq_width']}"

    def build(self, p, ins):
        from engine.blocks.modules_audio import SpecAugment as Module

        return Module(p["time_masks"], p["time_width"], p["freq_masks"], p["freq_width"])
