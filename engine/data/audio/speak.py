"""The built-in spoken sets, generated with espeak-ng and cached.

Every clip is spoken with its own voice (eight English accents times a dozen voice
variants), speed (120-220 words per minute), pitch, amplitude and, for digits, gap between
words; it is placed at a random point of its clip, and white or pink noise is added at a
random level. So no two clips are alike and a model has to learn the words, not one
recording. All parameters are drawn from the seed up front, so a set is the same on every
machine with the same espeak-ng.

espeak-ng runs as one subprocess per clip (no shell), several at once from a small pool of
threads: the work is in the espeak-ng processes, so threads give the parallelism of a
process pool without starting Python workers. The set is cached as 16-bit samples in a
``.npz`` under ``cache_root()/speech/`` (written to a temporary file and renamed, so an
interrupted generation never leaves a half file), keyed by set, size, seed, rate and clip
length; a warm load reads that file.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.data.audio import sets
from engine.data.audio.wav import fit_length, resample, to_int16

#: bump when the generation changes, so old caches are not taken for new sets
GENERATOR_VERSION = 1
ESPEAK = "espeak-ng"
INSTALL_HINT = ("install it with `sudo apt-get install espeak-ng` (`make test` installs it "
                "when missing), or choose another data set")
VOICES = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
          "en-us-nyc", "en-gb-x-gbcwmd")
VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt2", "klatt3")
SPEED = (120, 220)  # words per minute
PITCH = (20, 80)  # espeak-ng's 0-99 scale
AMPLITUDE = (40, 120)  # espeak-ng's default is 100 (louder clips into int16's limit)
NOISE = (0.0, 0.08)  # noise peak as a fraction of the speech's peak
#: samples below this fraction of the clip's peak count as the silence around the words
SILENCE = 0.02
Progress = Callable[[str, int, int], None]


class SpeechError(Exception):
    """espeak-ng is missing or failed; the message is for the user."""


@dataclass(frozen=True)
class Voice:
    """How one clip is spoken and where it sits in its clip."""

    voice: str
    speed: int
    pitch: int
    amplitude: int
    gap: int  # extra pause between words, in 10 ms
    offset: float  # where the words start, as a fraction of the room left in the clip
    pink: bool  # pink noise, else white
    noise: float
    seed: int  # the noise's

    def label(self) -> str:
        """A short description for the dataset panel: "en-us+f3, 150 wpm, pitch 40"."""
        return f"{self.voice}, {self.speed} wpm, pitch {self.pitch}"


@dataclass
class SpokenSet:
    """A generated set: int16 clips [N, L] at ``rate``, the class ids (keywords) or None,
    the words of every clip (keywords: the class name; digits: the transcript) and how each
    was spoken."""

    x: np.ndarray
    labels: np.ndarray | None
    texts: list[str]
    voices: list[str]
    rate: int


def espeak_path() -> str:
    """The espeak-ng program, or :class:`SpeechError` saying how to install it."""
    found = shutil.which(ESPEAK)
    if found is None:
        raise SpeechError(f"the built-in spoken sets are generated with espeak-ng, which is not "
                          f"installed; {INSTALL_HINT}")
    return found


def cache_file(folder: Path, name: str, n: int, seed: int, rate: int, length: int) -> Path:
    """Where the set with these settings is cached."""
    return folder / f"{name}-n{n}-seed{seed}-{rate}hz-{length}-v{GENERATOR_VERSION}.npz"


def spoken_set(name: str, n: int, seed: int, rate: int, seconds: float, folder: Path, *,
               progress: Progress | None = None, workers: int | None = None) -> SpokenSet:
    """The set ``name`` with ``n`` clips of ``seconds`` at ``rate`` Hz from ``seed``, read
    from the cache in ``folder`` or generated and cached there."""
    length = sets.clip_samples(rate, seconds)
    path = cache_file(folder, name, n, seed, rate, length)
    cached = _read_cache(path)
    if cached is not None:
        return cached
    labels, texts = sets.words_of(name, n, seed)
    voices = draw_voices(name, n, seed)
    program = espeak_path()
    x = np.zeros((n, length), dtype=np.int16)
    workers = workers or min(4, max(1, len(os.sched_getaffinity(0))))
    title = f"Speaking the {name} clips with espeak-ng"
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(render, program, texts[i], voices[i], rate, length): i
                   for i in range(n)}
        for done, future in enumerate(as_completed(futures), start=1):
            x[futures[future]] = future.result()
            if progress is not None:
                progress(title, done, n)
    result = SpokenSet(x, labels, texts, [v.label() for v in voices], rate)
    _write_cache(path, result)
    return result


def draw_voices(name: str, n: int, seed: int) -> list[Voice]:
    """How each of the ``n`` clips is spoken, from ``seed`` alone."""
    rng = np.random.default_rng([seed, 2])
    voice = rng.integers(0, len(VOICES), n)
    variant = rng.integers(0, len(VARIANTS), n)
    speed = rng.integers(SPEED[0], SPEED[1] + 1, n)
    pitch = rng.integers(PITCH[0], PITCH[1] + 1, n)
    amplitude = rng.integers(AMPLITUDE[0], AMPLITUDE[1] + 1, n)
    gap = rng.integers(0, 6, n) if name == "spoken_digits" else np.zeros(n, dtype=np.int64)
    offset = rng.random(n)
    pink = rng.random(n) < 0.5
    noise = rng.uniform(NOISE[0], NOISE[1], n)
    seeds = rng.integers(0, 2**32, n)
    out = []
    for i in range(n):
        v = VOICES[voice[i]] + (f"+{VARIANTS[variant[i]]}" if VARIANTS[variant[i]] else "")
        out.append(Voice(v, int(speed[i]), int(pitch[i]), int(amplitude[i]), int(gap[i]),
                         float(offset[i]), bool(pink[i]), float(noise[i]), int(seeds[i])))
    return out


def render(program: str, text: str, voice: Voice, rate: int, length: int) -> np.ndarray:
    """One clip: ``text`` spoken as ``voice`` says, trimmed of silence, at ``rate`` Hz,
    placed in ``length`` samples, with noise added; as int16. Words that come out longer
    than the clip are spoken again faster."""
    speed = voice.speed
    for _ in range(4):
        words = _trim(resample(*_speak(program, text, voice, speed), rate))
        if words.shape[0] <= length:
            break
        speed = min(450, int(speed * words.shape[0] / length * 1.1) + 1)
    words = fit_length(words, length, "center")  # only if even the fastest voice was too long
    clip = np.zeros(length, dtype=np.float32)
    start = int(voice.offset * (length - words.shape[0]))
    clip[start : start + words.shape[0]] = words
    peak = float(np.abs(words).max()) if words.size else 0.0
    clip += _noise(length, voice.pink, np.random.default_rng(voice.seed)) * (voice.noise * peak)
    return to_int16(clip)


def _speak(program: str, text: str, voice: Voice, speed: int) -> tuple[np.ndarray, int]:
    command = [program, "-v", voice.voice, "-s", str(speed), "-p", str(voice.pitch),
               "-a", str(voice.amplitude), "-g", str(voice.gap), "--stdout", text]
    try:
        done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SpeechError(f"espeak-ng could not be run ({e}); {INSTALL_HINT}") from None
    if done.returncode != 0 or not done.stdout:
        said = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        raise SpeechError(f"espeak-ng failed to speak {text!r} with voice {voice.voice} ({said}); "
                          "check that its English voices are installed (espeak-ng-data)")
    data, rate = sf.read(io.BytesIO(done.stdout), dtype="float32", always_2d=True)
    return data.mean(axis=1, dtype=np.float32), int(rate)


def _trim(clip: np.ndarray) -> np.ndarray:
    """The clip without the silence espeak-ng puts before and after the words."""
    if clip.size == 0:
        return clip
    loud = np.flatnonzero(np.abs(clip) > SILENCE * float(np.abs(clip).max()))
    return clip[loud[0] : loud[-1] + 1] if loud.size else clip[:0]


def _noise(n: int, pink: bool, rng: np.random.Generator) -> np.ndarray:
    """White or pink (1/f power) noise of ``n`` samples with peak 1."""
    white = rng.standard_normal(n).astype(np.float32)
    if pink:
        spectrum = np.fft.rfft(white)
        spectrum[1:] /= np.sqrt(np.arange(1, spectrum.shape[0]))
        spectrum[0] = 0
        white = np.fft.irfft(spectrum, n).astype(np.float32)
    return white / max(float(np.abs(white).max()), 1e-12)


def _read_cache(path: Path) -> SpokenSet | None:
    """The cached set, or None when it is not there or cannot be read (then it is made
    again and the file replaced)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            labels = z["labels"] if z["labels"].size else None
            return SpokenSet(z["x"], labels, z["texts"].tolist(), z["voices"].tolist(),
                             int(z["rate"]))
    except (OSError, ValueError, KeyError, EOFError):
        return None


def _write_cache(path: Path, s: SpokenSet) -> None:
    """Write the set to ``path`` atomically; a cache that cannot be written is not an
    error (the set is generated again next time)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".npz", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            labels = s.labels if s.labels is not None else np.zeros(0, dtype=np.int64)
            np.savez(f, x=s.x, labels=labels, texts=np.array(s.texts), voices=np.array(s.voices),
                     rate=np.array(s.rate))
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
