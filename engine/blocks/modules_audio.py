"""nn.Module classes of the audio front end: spectrogram, log-mel, MFCC and SpecAugment.

They compute features inside the network from raw audio [N, C, L], so the features train
and run on the model's device and export with it (docs/decisions/0009-audio-front-end.md). Every fixed table (the Hann window,
the mel filterbank, the DCT) is a non-persistent buffer: rebuilt from the constructor's
arguments, never trained, not saved with the weights.

As in ``engine.blocks.modules``, each class uses only ``torch``, ``nn`` and ``math`` and no
helper outside its body, because the Python exporter copies its source into model.py (a
subclass comes with the classes it extends).
"""

import math

import torch
from torch import nn


class Spectrogram(nn.Module):
    """The power spectrum |STFT|^2 of audio [N, C, L]: [N, C, n_fft // 2 + 1, frames] with
    frames = L // hop_length + 1 (a Hann window of n_fft samples every hop_length samples;
    the signal is reflected by n_fft // 2 at both ends so that frame k is centred on sample
    k * hop_length). ``log=True`` returns log(power + 1e-6).

    While torch.onnx exports it, the transform is a matrix product of the frames with the
    windowed DFT basis instead of torch.stft: ONNX Runtime's STFT operator computes a window
    that is not a power of two (400) as a plain DFT with ~75 times torch's rounding error,
    and is slower there too. The log spectrogram is computed in float64 (except on MPS,
    which has none): log(power + 1e-6) of the weakest bins magnifies float32 rounding
    beyond the export check's tolerance; mel filters sum bins, so LogMel and MFCC need not
    (decision 0009).
    """

    def __init__(self, n_fft=400, hop_length=160, log=True):
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.log = log
        window = torch.hann_window(n_fft)
        self.register_buffer("window", window, persistent=False)
        # The export's DFT basis [n_fft, bins real parts then bins imaginary parts], made
        # here in float64 (ONNX Runtime's own cosine is accurate to float32 only) and kept
        # in float32 (MPS has no float64) with its rounding error, so that basis +
        # basis_low restores it to ~48 bits for the float64 product.
        turns = torch.outer(torch.arange(n_fft), torch.arange(n_fft // 2 + 1)) % n_fft
        angle = turns.double() * (2 * math.pi / n_fft)
        basis = torch.cat([torch.cos(angle), -torch.sin(angle)], dim=1)
        basis = basis * window.double().unsqueeze(1)  # the very window torch.stft gets
        self.register_buffer("basis", basis.float(), persistent=False)
        self.register_buffer("basis_low", (basis - basis.float().double()).float(),
                             persistent=False)

    def power(self, x: torch.Tensor, precise: bool = False) -> torch.Tensor:
        clips = x.reshape(-1, x.shape[-1])
        if precise and x.device.type != "mps":
            clips = clips.double()
        if torch.onnx.is_in_onnx_export():
            half = self.n_fft // 2
            padded = nn.functional.pad(clips.unsqueeze(1), (half, half), mode="reflect")
            frames = padded.squeeze(1).unfold(-1, self.n_fft, self.hop_length)
            basis = self.basis.to(clips.dtype)
            if clips.dtype == torch.float64:
                basis = basis + self.basis_low.to(clips.dtype)
            spectrum = torch.matmul(frames, basis)  # [clips, frames, 2 * bins]
            power = spectrum[..., :half + 1].square() + spectrum[..., half + 1:].square()
            power = power.transpose(1, 2)
        else:
            spec = torch.stft(clips, self.n_fft, self.hop_length,
                              window=self.window.to(clips.dtype), center=True,
                              pad_mode="reflect", return_complex=True)
            power = torch.view_as_real(spec).square().sum(dim=-1)
        power = power.to(x.dtype)
        return power.reshape(x.shape[0], x.shape[1], power.shape[-2], power.shape[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.log:
            return self.power(x)
        return torch.log(self.power(x, precise=True) + 1e-6)


class LogMel(Spectrogram):
    """Log-mel features of audio [N, C, L]: [N, C, n_mels, frames], log(mel power + 1e-6).

    The power spectrum is summed through ``n_mels`` triangular filters evenly spaced on the
    HTK mel scale (mel = 2595 log10(1 + f / 700)) from ``f_min`` to ``f_max`` Hz (0: half
    the sample rate), unnormalised, as torchaudio's MelSpectrogram does by default.
    """

    def __init__(self, sample_rate=16000, n_fft=400, hop_length=160, n_mels=40, f_min=20.0,
                 f_max=0.0):
        super().__init__(n_fft, hop_length, log=True)
        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.f_min = f_min
        self.f_max = f_max
        top = f_max if f_max > 0 else sample_rate / 2
        low_mel = 2595.0 * math.log10(1.0 + f_min / 700.0)
        high_mel = 2595.0 * math.log10(1.0 + top / 700.0)
        mels = torch.linspace(low_mel, high_mel, n_mels + 2, dtype=torch.float64)
        edges = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)  # filter edges and centres, in Hz
        bins = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
        lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
        rising = (bins - lower) / (centre - lower)
        falling = (upper - bins) / (upper - centre)
        filters = torch.minimum(rising, falling).clamp(min=0.0)  # [n_mels, n_fft // 2 + 1]
        self.register_buffer("filters", filters.float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(torch.matmul(self.filters, self.power(x)) + 1e-6)


class MFCC(LogMel):
    """Mel-frequency cepstral coefficients of audio [N, C, L]: [N, C, n_mfcc, frames], the
    first ``n_mfcc`` coefficients of the orthonormal DCT-II of the log-mel features (over
    the mel axis), a compact summary of each frame's spectral envelope.
    """

    def __init__(self, sample_rate=16000, n_fft=400, hop_length=160, n_mels=40, n_mfcc=13,
                 f_min=20.0, f_max=0.0):
        super().__init__(sample_rate, n_fft, hop_length, n_mels, f_min, f_max)
        self.n_mfcc = n_mfcc
        k = torch.arange(n_mfcc, dtype=torch.float64).unsqueeze(1)
        n = torch.arange(n_mels, dtype=torch.float64).unsqueeze(0)
        dct = torch.cos(math.pi / n_mels * (n + 0.5) * k) * math.sqrt(2.0 / n_mels)
        dct[0] /= math.sqrt(2.0)  # orthonormal: the constant row has norm 1 too
        self.register_buffer("dct", dct.float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.dct, super().forward(x))


class SpecAugment(nn.Module):
    """SpecAugment's masks on features [N, ..., F, T] (frequency, then time, last), while
    training only: per sample, ``freq_masks`` bands of up to ``freq_width`` frequency rows
    and ``time_masks`` bands of up to ``time_width`` frames, of random width and place, are
    set to the sample's mean value (the same bands for all its channels). The identity at
    evaluation, like dropout.
    """

    def __init__(self, time_masks=2, time_width=10, freq_masks=2, freq_width=8):
        super().__init__()
        self.time_masks = time_masks
        self.time_width = time_width
        self.freq_masks = freq_masks
        self.freq_width = freq_width

    def bands(self, n: int, size: int, width: int, count: int, device) -> torch.Tensor:
        """[n, size] True inside any of ``count`` random bands of 0..width steps."""
        pos = torch.arange(size, device=device)
        hit = torch.zeros(n, size, dtype=torch.bool, device=device)
        for _ in range(count):
            w = (torch.rand(n, 1, device=device) * (min(width, size) + 1)).floor()
            start = (torch.rand(n, 1, device=device) * (size - w + 1)).floor()
            hit |= (pos >= start) & (pos < start + w)
        return hit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        n, freq, time = x.shape[0], x.shape[-2], x.shape[-1]
        rows = self.bands(n, freq, self.freq_width, self.freq_masks, x.device)
        frames = self.bands(n, time, self.time_width, self.time_masks, x.device)
        hit = rows.unsqueeze(2) | frames.unsqueeze(1)  # [N, F, T]
        hit = hit.reshape((n,) + (1,) * (x.dim() - 3) + (freq, time))
        fill = x.mean(dim=tuple(range(1, x.dim())), keepdim=True)
        return torch.where(hit, fill, x)
