"""Answer predictions with an exported LayerForge model folder, without LayerForge.

This file is STANDALONE: it is copied verbatim into every server folder and run with
``python -I``, so it imports only the standard library and numpy at module level, and
onnxruntime, Pillow, tokenizers, soundfile and scipy inside the functions that need them
(never LayerForge or torch). The folder's ``deploy.json`` (written by
``engine.deploy.folder``) says what the model takes and answers.

Inputs are prepared exactly as training prepared them: an image is converted to greyscale
or RGB, resized (bilinear) to the model's input size, divided by 255 and normalised per
channel with the run's mean and std; numbers are normalised per feature; text is tokenized
with the run's ``tokenizer.json`` (cut to the input length, padded with 0); a clip is read
as mono, resampled to the run's rate and padded or cut as training did.

The numpy decoders (:func:`token_ids`, :func:`greedy_seq2seq`, :func:`ctc_greedy`,
:func:`generate`) are also what LayerForge's export check runs (``fresh_check.py``), so the
check tests this code.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

MAX_INPUTS = 256  # samples in one request
MAX_PIXELS = 40_000_000  # an uploaded image's width x height before it is decoded
MAX_CLIP_SECONDS = 600  # a clip longer than this is refused before it is resampled
DEFAULT_TOP, DEFAULT_LENGTH = 5, 100


class BadInput(ValueError):
    """A request the model cannot take; ``str(e)`` is the sentence for the user (HTTP 400)."""


class Unsupported(BadInput):
    """A kind of input this model does not take at all (HTTP 415)."""


# -- decoders shared with LayerForge's export check -----------------------------------------


def token_ids(tokenizer, texts, length):
    """[N, length] int64: each text's ids (tokenizers' Tokenizer), cut to ``length`` and
    padded with 0 ([PAD]), as training encoded the inputs."""
    out = np.zeros((len(texts), length), dtype=np.int64)
    for i, text in enumerate(texts):
        ids = tokenizer.encode(text).ids[:length]
        out[i, :len(ids)] = ids
    return out


def greedy_seq2seq(encode, decode, source, steps, bos, eos, names):
    """Greedy decoding: ``encode(source)`` -> memory once, then ``decode(feeds)`` ->
    scores [N, steps, V] on the fixed-length prefix [BOS, ...] padded with 0, one token a
    step (never [PAD] or [BOS]) until EOS or the prefix is full. ``names``: the decoder's
    inputs (tokens, memory, source). Returns the ids [N, steps], -1 after the end."""
    memory = encode(source)
    n = len(source)
    tokens = np.zeros((n, steps), dtype=np.int64)
    tokens[:, 0] = bos
    feeds = {"tokens": tokens, "memory": memory, "source": source}
    out = np.full((n, steps), -1, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    for t in range(steps):
        scores = np.array(decode({k: feeds[k] for k in names})[:, t], dtype=np.float32)
        scores[:, [0, bos]] = -np.inf
        best = scores.argmax(-1)
        for i in range(n):
            if not done[i]:
                if best[i] == eos:
                    done[i] = True
                else:
                    out[i, t] = best[i]
        if done.all():
            break
        if t + 1 < steps:
            tokens[:, t + 1] = np.where(done, 0, best)
    return out


def ctc_greedy(scores, blank=0):
    """Best-path CTC decoding of ``scores`` [N, T, V]: per sample, the argmax labels with
    consecutive repeats merged and blanks removed."""
    out = []
    for best in np.asarray(scores).argmax(-1):
        keep = np.ones(len(best), dtype=bool)
        keep[1:] = best[1:] != best[:-1]
        out.append([int(v) for v in best[keep & (best != blank)]])
    return out


def generate(step, prompts, length, window, pad_id, temperature=0.0, seed=0):
    """Continue each id list of ``prompts`` by ``length`` ids: the model (``step(ids
    [N, window]) -> scores [N, window, V]``) sees the last ``window`` ids, left-padded with
    ``pad_id`` (an empty prompt starts from it), as LayerForge's language model task does;
    greedy at temperature 0, else sampled from softmax(scores / temperature) (seeded)."""
    rng = np.random.default_rng(seed)
    ids = [list(p) if p else [pad_id] for p in prompts]
    new = [[] for _ in ids]
    for _ in range(length):
        ctx = np.full((len(ids), window), pad_id, dtype=np.int64)
        for i, seq in enumerate(ids):
            tail = seq[-window:]
            ctx[i, window - len(tail):] = tail
        scores = np.asarray(step(ctx))[:, -1].astype(np.float64)
        for i, row in enumerate(scores):
            if temperature <= 0:
                nxt = int(row.argmax())
            else:
                p = np.exp((row - row.max()) / temperature)
                nxt = int(rng.choice(len(p), p=p / p.sum()))
            ids[i].append(nxt)
            new[i].append(nxt)
    return new


# -- preparing inputs ---------------------------------------------------------------------


def normalise(x, prep):
    """``x`` (float32, one sample or a batch) with the run's mean/std, per channel (dim -3)
    or per feature (the last dim); unchanged when the run did not normalise."""
    mean, std = prep.get("mean"), prep.get("std")
    if mean is None or std is None:
        return x
    shape = (-1, 1, 1) if prep.get("normalize_axis") == "channel" else (-1,)
    m = np.asarray(mean, dtype=np.float32).reshape(shape)
    s = np.asarray(std, dtype=np.float32).reshape(shape)
    return ((x - m) / s).astype(np.float32)


def decode_image(data, channels, height, width, name="the file"):
    """An image file's bytes as uint8 [C, H, W]: greyscale ("L") or RGB, resized
    (bilinear) to ``width`` x ``height`` when it differs, as training read image files."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.size[0] * im.size[1] > MAX_PIXELS:
                raise BadInput(f"{name} is {im.size[0]}x{im.size[1]} pixels; send an image "
                               f"under {MAX_PIXELS:,} pixels")
            im = im.convert("L" if channels == 1 else "RGB")
            if im.size != (width, height):
                im = im.resize((width, height), Image.Resampling.BILINEAR)
            arr = np.array(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        if isinstance(e, BadInput):
            raise
        # Pillow's messages name its objects ("<_io.BytesIO object at 0x...>"): only the kind
        why = "not a recognised image format" if isinstance(e, UnidentifiedImageError) \
            else "damaged or truncated"
        raise BadInput(f"{name} is not an image this model can read (PNG, JPEG, BMP...): "
                       f"{why}") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def prepare_image(data, shape, prep, name="the file"):
    """An image file as the model's float32 input [C, H, W]: pixels / 255, normalised."""
    c, h, w = shape
    return normalise(decode_image(data, c, h, w, name).astype(np.float32) / 255.0, prep)


def read_clip(data, sample_rate, name="the file"):
    """A sound file's bytes (WAV, FLAC, OGG) as float32 mono samples at ``sample_rate``
    (resampled as training resampled: scipy's polyphase filter)."""
    import soundfile as sf

    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            rate, frames = int(f.samplerate), int(f.frames)
            if frames > MAX_CLIP_SECONDS * rate:
                raise BadInput(f"{name} lasts {frames / rate:.0f} s; send a clip under "
                               f"{MAX_CLIP_SECONDS} s")
            clip = f.read(dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, TypeError) as e:
        raise BadInput(f"{name} is not a sound file this model can read (WAV, FLAC, OGG): "
                       f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if clip.shape[0] == 0:
        raise BadInput(f"{name} holds no samples")
    mono = clip.mean(axis=1, dtype=np.float32) if clip.shape[1] > 1 else clip[:, 0]
    return resample(mono, rate, sample_rate, name)


def resample(clip, rate, sample_rate, name="the clip"):
    if not np.isfinite(clip).all():
        raise BadInput(f"{name} holds samples that are not finite numbers")
    if rate == sample_rate:
        return np.ascontiguousarray(clip, dtype=np.float32)
    from scipy.signal import resample_poly

    g = math.gcd(rate, sample_rate)
    return resample_poly(clip, sample_rate // g, rate // g).astype(np.float32)


def fit_clip(clip, n, speech, rate, name="the clip"):
    """``clip`` at the model's ``n`` samples: speech padded at the end (a longer clip is
    refused: its words would be cut), other sound padded or cut around the centre."""
    if len(clip) > n and speech:
        raise BadInput(f"{name} lasts {len(clip) / rate:.2f} s; this speech model takes clips "
                       f"of at most {n / rate:.2f} s (the training clips' length): cut it")
    if len(clip) == n:
        return clip
    if len(clip) > n:
        start = (len(clip) - n) // 2
        return clip[start:start + n]
    out = np.zeros(n, dtype=np.float32)
    start = 0 if speech else (n - len(clip)) // 2
    out[start:start + len(clip)] = clip
    return out


def _numbers(sample, where):
    """A JSON sample as a numeric numpy array; BadInput for text, ragged lists, NaN."""
    try:
        arr = np.asarray(sample)
    except ValueError:
        raise BadInput(f"{where} is not a rectangular array of numbers") from None
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        held = " (it holds text)" if arr.dtype.kind in "US" else ""
        raise BadInput(f"{where} must be an array of numbers{held}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise BadInput(f"{where} holds values that are not finite numbers")
    return arr


def _shape_text(shape):
    return "[" + ", ".join("any" if d is None else str(d) for d in shape) + "]"


def _option(options, key, default, low, high, kind=int):
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            kind is int and value != int(value)) or not low <= value <= high:
        what = "a whole number" if kind is int else "a number"
        raise BadInput(f'"{key}" must be {what} from {low} to {high}, not {value!r}')
    return kind(value)


# -- the predictor ----------------------------------------------------------------------------


class Predictor:
    """A model folder, opened once: ``predict_json`` and ``predict_file`` answer requests
    (thread-safe: onnxruntime sessions and tokenizers may be shared by threads)."""

    def __init__(self, folder, threads=None):
        import onnxruntime as ort

        self.folder = Path(folder)
        try:
            self.deploy = json.loads((self.folder / "deploy.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise RuntimeError(f"{self.folder}: cannot read deploy.json ({e})") from None
        if self.deploy.get("version") != 1:
            raise RuntimeError(f"{self.folder}: deploy.json version {self.deploy.get('version')}"
                               " is not 1; export the model again with this LayerForge")
        d = self.deploy
        self.task, self.data = d["task"], d["data"]
        self.prep = d.get("preprocessing") or {}
        self.inputs = d["inputs"]
        self.shape = self.inputs[0]["shape"]
        self.classes = d.get("classes")
        self.gen = d.get("generation") or {}
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = int(threads)
        self.sessions = {k: ort.InferenceSession(str(self.folder / v), options,
                                                 providers=["CPUExecutionProvider"])
                         for k, v in d["models"].items()}
        self.tokenizer = self._tokenizer(d.get("tokenizer"))
        self.target_tokenizer = self._tokenizer(d.get("target_tokenizer")) or self.tokenizer

    def _tokenizer(self, name):
        if not name:
            return None
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(self.folder / name))

    def run(self, name, feeds):
        """The outputs of model ``name`` ("model", "encoder", "decoder") on ``feeds``."""
        return self.sessions[name].run(None, feeds)

    def _model(self, x):
        return self.run("model", {self.inputs[0]["name"]: x})

    def info(self):
        """What the model takes and answers, with example request bodies."""
        d = self.deploy
        return {"task": self.task, "data": self.data, "inputs": self.inputs,
                "classes": self.classes, "int8": d.get("int8", False), "graph": d.get("graph"),
                "sample_rate": self.prep.get("sample_rate"), "examples": self._examples()}

    def _examples(self):
        if self.data in ("image", "audio"):
            what = "an image (PNG, JPEG...)" if self.data == "image" else "a WAV or FLAC clip"
            examples = [{"multipart": {"file": what}}]
            if (self.data == "image" and None not in self.shape
                    and np.prod(self.shape) <= 4096):
                examples.append({"json": {"input": np.zeros(self.shape).tolist()}})
            return examples
        if self.data == "tokens":
            body = {"text": "def "} if self.task == "language_model" else {"text": "some text"}
            if self.task == "language_model":
                body.update(length=DEFAULT_LENGTH, temperature=0)
            return [{"json": body}]
        shape = [1 if s is None else s for s in self.shape]
        return [{"json": {"input": np.zeros(shape).tolist()}}]

    # -- requests ------------------------------------------------------------------------

    def predict_json(self, body):
        """The answer to a JSON request body (see the module docstring)."""
        if not isinstance(body, dict):
            raise BadInput('the request body must be a JSON object such as {"inputs": [...]}')
        keys = [k for k in ("inputs", "input", "texts", "text") if k in body]
        if len(keys) != 1:
            raise BadInput('give exactly one of "inputs" (a list of samples), "input" (one '
                           'sample), "texts" or "text"')
        key = keys[0]
        items = body[key] if key in ("inputs", "texts") else [body[key]]
        if not isinstance(items, list) or not items:
            raise BadInput(f'"{key}" must be a non-empty list')
        if len(items) > MAX_INPUTS:
            raise BadInput(f"send at most {MAX_INPUTS} inputs in one request, not {len(items)}")
        if key in ("texts", "text"):
            return self._texts(items, body)
        if self.task in ("language_model", "seq2seq") or (
                self.data == "tokens" and self.inputs[0]["dtype"] != "int64"):
            raise BadInput('this model takes text: send {"text": "..."}')
        samples = [self._sample(s, f"input {i + 1}") for i, s in enumerate(items)]
        return self._answer(np.stack(samples), body)

    def predict_file(self, data, filename, content_type, options):
        """The answer to an uploaded file: an image (image models) or a clip (sound)."""
        name = filename or "the file"
        ctype = (content_type or "").split(";")[0].strip().lower()
        if self.data == "image":
            if ctype.startswith(("text/", "audio/", "video/", "application/json")):
                raise Unsupported(f"{name} is {ctype}; this model takes an image file")
            return self._answer(prepare_image(data, self.shape, self.prep, name)[None], options)
        if self.data == "audio":
            if ctype.startswith(("text/", "image/", "video/", "application/json")):
                raise Unsupported(f"{name} is {ctype}; this model takes a WAV or FLAC clip")
            clip = read_clip(data, self.prep["sample_rate"], name)
            return self._answer(self._clip(clip, name)[None], options)
        raise Unsupported('this model takes JSON, not a file: send {"inputs": [...]} or '
                          '{"text": "..."}')

    def _sample(self, sample, where):
        """One JSON sample as the model's input (the values as training read them)."""
        arr = _numbers(sample, where)
        if self.data == "audio":
            clip = arr.reshape(-1) if arr.ndim == 2 and arr.shape[0] == 1 else arr
            if clip.ndim != 1:
                raise BadInput(f"{where}: a clip is a list of samples at "
                               f"{self.prep['sample_rate']} Hz, not shape {list(arr.shape)}")
            return self._clip(clip.astype(np.float32), where)
        shape = self.shape
        if self.data == "image" and len(shape) == 3 and shape[0] == 1 and arr.ndim == 2:
            arr = arr[None]  # a greyscale image given as rows of pixels
        if arr.ndim != len(shape) or any(s is not None and s != a
                                         for s, a in zip(shape, arr.shape, strict=True)):
            raise BadInput(f"{where} has shape {list(arr.shape)}; this model takes "
                           f"{_shape_text(shape)} per sample")
        if self.inputs[0]["dtype"] == "int64":
            return self._ids(arr, where)
        return normalise(arr.astype(np.float32), self.prep)

    def _ids(self, arr, where):
        size = len(self.prep.get("vocab") or []) or None
        if arr.dtype.kind == "f" or (arr < 0).any() or (size and (arr >= size).any()):
            raise BadInput(f"{where}: token ids must be whole numbers from 0 to "
                           f"{(size or 1) - 1}")
        return arr.astype(np.int64)

    def _clip(self, clip, where):
        return fit_clip(clip, int(self.shape[-1]), self.task == "speech",
                        int(self.prep["sample_rate"]), where)[None]

    def _texts(self, texts, body):
        if self.data != "tokens":
            takes = {"image": "images", "audio": "sound clips"}.get(self.data, "numbers")
            raise BadInput(f"this model takes {takes}, not text")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise BadInput(f"text {i + 1} must be a string")
            if not t.strip() and self.task != "language_model":
                raise BadInput(f"text {i + 1} is empty; send some words")
        if self.task == "language_model":
            return self._generate(texts, body)
        length = self.shape[0] or 64
        if self.tokenizer is None:
            raise BadInput("this model has no tokenizer.json; send token ids as inputs")
        ids = token_ids(self.tokenizer, texts, length)
        if self.task == "seq2seq":
            return self._translate(ids)
        return self._answer(ids, body)

    # -- answers -------------------------------------------------------------------------

    def _answer(self, x, options):
        top = _option(options, "top", DEFAULT_TOP, 1, 100)
        out = self._model(x)
        if self.task == "classification":
            return self._classes(out[0], top)
        if self.task == "regression":
            return self._done([{"values": [float(v) for v in row.reshape(-1)]}
                               for row in out[0]])
        if self.task == "segmentation":
            return self._done([self._mask(scores) for scores in out[0]])
        if self.task == "detection":
            return self._done(self._boxes(out))
        if self.task == "speech":
            vocab = self.gen.get("vocab") or []
            return self._done([{"output": "".join(vocab[i] if 0 < i < len(vocab) else "?"
                                                  for i in ids)}
                               for ids in ctc_greedy(out[0], self.gen.get("blank", 0))])
        raise BadInput(f"this {self.task} model does not take this input")

    def _done(self, predictions):
        return {"task": self.task, "predictions": predictions}

    def _name(self, k):
        return self.classes[k] if self.classes and k < len(self.classes) else str(k)

    def _classes(self, logits, top):
        logits = logits.astype(np.float64).reshape(len(logits), -1)
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        answers = []
        for row in p:
            order = np.argsort(-row, kind="stable")[:top]
            best = [{"class": self._name(int(k)), "probability": float(row[k])} for k in order]
            answers.append({"class": best[0]["class"], "probability": best[0]["probability"],
                            "top": best})
        return self._done(answers)

    def _mask(self, scores):
        mask = scores.argmax(0)
        counts = np.bincount(mask.reshape(-1), minlength=scores.shape[0])
        shares = {self._name(k): float(c) / mask.size for k, c in enumerate(counts) if c}
        return {"classes": shares, "mask": mask.tolist()}

    def _boxes(self, out):
        names = [o.name for o in self.sessions["model"].get_outputs()]
        got = dict(zip(names, out, strict=True))
        answers = []
        for boxes, scores, labels in zip(got["boxes"], got["scores"], got["labels"],
                                         strict=True):
            answers.append({"boxes": [
                {"class": self._name(int(lab)), "score": float(s),
                 "box": [float(v) for v in box]}
                for box, s, lab in zip(boxes, scores, labels, strict=True) if s > 0]})
        return answers

    def _translate(self, ids):
        steps = int(self.gen["max_length"])
        names = self.gen.get("decoder_inputs") or [i.name for i in
                                                   self.sessions["decoder"].get_inputs()]
        enc = self.sessions["encoder"]
        out = greedy_seq2seq(lambda s: self.run("encoder", {enc.get_inputs()[0].name: s})[0],
                             lambda feeds: self.run("decoder", feeds)[0], ids, steps,
                             int(self.gen.get("bos", 2)), int(self.gen.get("eos", 3)), names)
        tok = self.target_tokenizer
        return self._done([{"output": tok.decode([int(v) for v in row if v >= 0],
                                                 skip_special_tokens=False)} for row in out])

    def _generate(self, prompts, options):
        length = _option(options, "length", DEFAULT_LENGTH, 1, 1000)
        temperature = _option(options, "temperature", 0.0, 0.0, 10.0, float)
        seed = _option(options, "seed", 0, 0, 2**32 - 1)
        vocab = self.gen.get("vocab") or self.prep.get("vocab") or []
        starts = [self._encode_prompt(p, vocab, i) for i, p in enumerate(prompts)]
        new = generate(lambda ctx: self._model(ctx)[0], starts, length,
                       int(self.gen.get("window") or 64), int(self.gen.get("pad_id", 0)),
                       temperature, seed)
        return self._done([{"output": p + self._decode_ids(ids, vocab)}
                           for p, ids in zip(prompts, new, strict=True)])

    def _encode_prompt(self, prompt, vocab, i):
        if self.tokenizer is not None:
            return self.tokenizer.encode(prompt).ids
        index = {ch: k for k, ch in enumerate(vocab)}
        unknown = sorted({ch for ch in prompt if ch not in index})
        if unknown:
            shown = ", ".join(repr(ch) for ch in unknown[:10])
            raise BadInput(f"text {i + 1} has characters the model never saw: {shown}")
        return [index[ch] for ch in prompt]

    def _decode_ids(self, ids, vocab):
        if self.tokenizer is not None:
            return self.tokenizer.decode(ids, skip_special_tokens=False)
        return "".join(vocab[i] if i < len(vocab) else "?" for i in ids)
