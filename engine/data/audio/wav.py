"""Reading one sound clip: any WAV (or FLAC/OGG) libsndfile opens, as float32 mono at the
project's sample rate.

Clips keep their recorded level (16-bit samples are divided by 32768, float files are taken
as they are): a quiet recording stays quiet, as it will be when the model is used. Channels
are averaged, and the rate is changed with a polyphase filter
(``scipy.signal.resample_poly``), which low-passes before it decimates, so no aliasing folds
high frequencies down. Everything here is numpy only, so the dataset panel and the editor's
data checks can read clips without torch.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

#: the file names read as clips (lower case)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
#: the sample rates a clip may have (Hz)
MIN_RATE, MAX_RATE = 8000, 48000
#: longer files are refused before they are decoded: a clip of a data set is seconds long,
#: and an hour of 48 kHz stereo would take 1.4 GB as float32
MAX_CLIP_SECONDS = 600.0


class ClipError(Exception):
    """A clip cannot be used; the message says why, without the file name (the caller
    names the file and, for a bad entry, the row)."""


def is_audio(path: Path) -> bool:
    """Whether ``path`` is named like a clip (hidden files are not)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def clip_header(path: str | Path) -> tuple[int, int, int]:
    """``(sample rate, channels, frames)`` from the file's header, without decoding it.
    Raises :class:`ClipError` when the file cannot be used."""
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError) as e:
        raise ClipError(_reason(e)) from None
    except OSError as e:
        raise ClipError(f"cannot be read ({e.strerror or e})") from None
    rate, channels, frames = int(info.samplerate), int(info.channels), int(info.frames)
    _check_header(rate, frames)
    return rate, channels, frames


def read_clip(path: str | Path, sample_rate: int) -> np.ndarray:
    """The clip at ``path`` as float32 mono samples at ``sample_rate`` Hz.

    Raises :class:`ClipError` for a file libsndfile cannot open, a truncated WAV, a file
    with no samples, a rate outside 8-48 kHz, a clip longer than ten minutes, or samples
    that are not finite numbers.
    """
    try:
        with sf.SoundFile(str(path)) as f:
            rate, frames = int(f.samplerate), int(f.frames)
            _check_header(rate, frames)
            data = f.read(dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as e:
        raise ClipError(_reason(e)) from None
    except OSError as e:
        raise ClipError(f"cannot be read ({e.strerror or e})") from None
    if data.shape[0] == 0:
        raise ClipError("holds no samples")
    _check_complete(Path(path))
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(mono).all():
        raise ClipError("holds samples that are not finite numbers (NaN or infinity)")
    return resample(mono, rate, sample_rate)


def resample(clip: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    """``clip`` (float32, ``rate`` Hz) at ``sample_rate`` Hz (polyphase, anti-aliased)."""
    if rate == sample_rate:
        return np.ascontiguousarray(clip, dtype=np.float32)
    g = math.gcd(rate, sample_rate)
    out = resample_poly(clip.astype(np.float32, copy=False), sample_rate // g, rate // g)
    return out.astype(np.float32, copy=False)


def fit_length(clip: np.ndarray, n: int, where: str = "center") -> np.ndarray:
    """``clip`` padded with zeros or cut to ``n`` samples.

    ``where="center"``: padded equally on both sides, or the middle ``n`` samples kept
    (a keyword is usually in the middle of its clip); ``"end"``: padded at the end, or the
    first ``n`` samples kept (speech starts at the beginning).
    """
    if where not in ("center", "end"):
        raise ValueError(f"where must be 'center' or 'end', not {where!r}")
    length = clip.shape[0]
    if length == n:
        return clip
    if length > n:
        start = (length - n) // 2 if where == "center" else 0
        return clip[start : start + n]
    out = np.zeros(n, dtype=clip.dtype)
    start = (n - length) // 2 if where == "center" else 0
    out[start : start + length] = clip
    return out


def to_int16(clip: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as 16-bit PCM (clipped), the way generated sets are cached."""
    return np.clip(np.round(clip * 32768.0), -32768, 32767).astype(np.int16)


def _check_header(rate: int, frames: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ClipError(f"has a sample rate of {rate} Hz; LayerForge reads clips of "
                        f"{MIN_RATE // 1000}-{MAX_RATE // 1000} kHz (convert it, e.g. with "
                        "sox or ffmpeg)")
    if frames <= 0:
        raise ClipError("holds no samples")
    if frames > MAX_CLIP_SECONDS * rate:
        raise ClipError(f"is {frames / rate / 60:.0f} minutes long; clips of a data set may be "
                        f"at most {MAX_CLIP_SECONDS / 60:.0f} minutes (cut it into clips)")


def _reason(e: Exception) -> str:
    text = str(e)
    # libsndfile's message starts "Error opening 'PATH': "; the caller names the file
    detail = text.split("': ", 1)[1] if "': " in text else text
    detail = detail.strip().rstrip(".")
    return f"is not a sound file libsndfile can read ({detail})"


def _check_complete(path: Path) -> None:
    """Refuse a WAV whose data chunk is shorter than its header declares (a copy or
    download that broke off). libsndfile quietly reads what is there, so a truncated clip
    would otherwise train as a shorter one."""
    if path.suffix.lower() != ".wav":
        return
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return  # RF64, W64 and others: libsndfile's own checks apply
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                chunk, length = struct.unpack("<4sI", f.read(8))
                if chunk == b"data":
                    have = size - pos - 8
                    # 0 and 0xFFFFFFFF: written while streaming, the length was never filled in
                    if length not in (0, 0xFFFFFFFF) and have < length:
                        raise ClipError(f"is truncated: its header declares {length:,} bytes of "
                                        f"samples but the file holds {have:,}")
                    return
                pos += 8 + length + (length & 1)
    except OSError as e:
        raise ClipError(f"cannot be read ({e.strerror or e})") from None
