"""Text to token ids and back: :class:`TextTokenizer`, over Hugging Face ``tokenizers``.

All three kinds are one ``tokenizers.Tokenizer`` (so one JSON format, which an exported
model's user loads with ``tokenizers.Tokenizer.from_str`` alone and gets the same ids):

- "char": every character is a token (a WordLevel model over single characters);
- "word": words and punctuation marks (the Whitespace pre-tokenizer, ``\\w+|[^\\w\\s]+``),
  the ``vocab_size`` most frequent of the training texts;
- "bpe": subwords learnt by byte-pair merges up to ``vocab_size`` tokens; spaces become
  "▁" (Metaspace) so decoding gives the text back.

Every tokenizer has the special ids PAD=0 "[PAD]", UNK=1 "[UNK]", BOS=2 "[BOS]" and
EOS=3 "[EOS]" at the start of its vocabulary. They are vocabulary entries only, not "added
tokens": a user's text that happens to contain "[PAD]" is read as ordinary characters and
can never produce the padding id (which the blocks' masks treat as no token).

This module imports torch only in :meth:`TextTokenizer.encode_batch`, so data facts and
the dataset panel use it without loading torch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

if TYPE_CHECKING:
    import torch

KINDS = ("char", "word", "bpe")
SPECIAL = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")
PAD, UNK, BOS, EOS = 0, 1, 2, 3
_CHUNK = 20_000  # texts encoded per call: bounds the Python lists of ids held at once


class TextTokenizer:
    """A trained tokenizer of one kind ("char", "word" or "bpe"); see the module docstring."""

    PAD, UNK, BOS, EOS = PAD, UNK, BOS, EOS

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tok = tokenizer
        self._kind = _kind_of(tokenizer)
        self._tokens: list[str] | None = None

    @classmethod
    def train(cls, texts: Iterable[str], kind: str = "word", vocab_size: int = 8000,
              lowercase: bool = True) -> TextTokenizer:
        """A tokenizer learnt from ``texts`` (a data set's training split). ``vocab_size``
        caps the vocabulary, special tokens included (the most frequent characters or words;
        the BPE merges stop there). The result depends only on the texts and the options."""
        if kind not in KINDS:
            raise ValueError(f"tokenizer kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if kind == "bpe":
            tok = Tokenizer(models.BPE(unk_token="[UNK]"))
            tok.pre_tokenizer = pre_tokenizers.Sequence(
                [pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
            tok.decoder = decoders.Metaspace()
            trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL),
                                          show_progress=False)
        else:
            tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
            if kind == "char":
                tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
                tok.decoder = decoders.Fuse()
            else:
                tok.pre_tokenizer = pre_tokenizers.Whitespace()
            trainer = trainers.WordLevelTrainer(vocab_size=vocab_size,
                                                special_tokens=list(SPECIAL),
                                                show_progress=False)
        steps = [normalizers.NFC()] + ([normalizers.Lowercase()] if lowercase else [])
        tok.normalizer = normalizers.Sequence(steps)
        tok.train_from_iterator(texts, trainer)
        return cls(_without_added_tokens(tok))

    @classmethod
    def from_json(cls, text: str) -> TextTokenizer:
        """The tokenizer :meth:`to_json` wrote (a Hugging Face tokenizer JSON)."""
        tok = Tokenizer.from_str(text)
        for i, name in enumerate(SPECIAL):
            if tok.id_to_token(i) != name:
                raise ValueError(f"not a LayerForge tokenizer: id {i} is not {name}")
        return cls(tok)

    def to_json(self) -> str:
        """The Hugging Face tokenizer JSON (``tokenizers.Tokenizer.from_str`` reads it)."""
        return self._tok.to_str()

    @property
    def kind(self) -> str:
        """"char", "word" or "bpe"."""
        return self._kind

    @property
    def vocab_size(self) -> int:
        """Token ids run from 0 to ``vocab_size - 1``."""
        return self._tok.get_vocab_size()

    def tokens(self) -> list[str]:
        """Every token, in id order (index 0 is "[PAD]")."""
        if self._tokens is None:
            self._tokens = [self._tok.id_to_token(i) or "" for i in range(self.vocab_size)]
        return list(self._tokens)

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``, without start or end tokens; unknown pieces are UNK."""
        return self._tok.encode(text).ids

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """:meth:`encode` of each text (in parallel, in Rust)."""
        return [e.ids for e in self._tok.encode_batch(list(texts))]

    def encode_padded(self, texts: Sequence[str], length: int, *, bos: bool = False,
                      eos: bool = False) -> tuple[np.ndarray, list[int]]:
        """Ids of each text as an int64 array [N, length] (see :meth:`encode_batch`), and
        each text's token count before it was cut (BOS and EOS included), for the length
        histogram. Encoded a chunk at a time, so only the array grows with the data."""
        out = np.zeros((len(texts), length), dtype=np.int64)
        full: list[int] = []
        for lo in range(0, len(texts), _CHUNK):
            for row, ids in enumerate(self.encode_many(texts[lo:lo + _CHUNK]), lo):
                seq = framed(ids, length, bos=bos, eos=eos)
                out[row, : len(seq)] = seq
                full.append(len(ids) + int(bos) + int(eos))
        return out, full

    def encode_batch(self, texts: Sequence[str], length: int, *, bos: bool = False,
                     eos: bool = False) -> torch.Tensor:
        """Ids of each text as a long tensor [N, length]: BOS first and EOS last when asked,
        cut to fit (the end token is kept) and right-padded with PAD (0)."""
        import torch

        return torch.from_numpy(self.encode_padded(texts, length, bos=bos, eos=eos)[0])

    def lengths(self, texts: Sequence[str]) -> list[int]:
        """Each text's token count (no BOS or EOS)."""
        out: list[int] = []
        for lo in range(0, len(texts), _CHUNK):
            out += [len(ids) for ids in self.encode_many(texts[lo:lo + _CHUNK])]
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``: stops at EOS, leaves out PAD and BOS. Characters join
        without spaces, words with a space, BPE pieces as the text was spaced."""
        kept: list[int] = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i not in (PAD, BOS) and 0 <= i < self.vocab_size:
                kept.append(i)
        return self._tok.decode(kept, skip_special_tokens=False)


def framed(ids: Sequence[int], length: int, *, bos: bool = False, eos: bool = False) -> list[int]:
    """``ids`` with BOS/EOS around them, cut to at most ``length`` (EOS kept)."""
    room = max(0, length - int(bos) - int(eos))
    return [BOS] * bos + list(ids[:room]) + [EOS] * eos


def _without_added_tokens(tok: Tokenizer) -> Tokenizer:
    """The trainer registers the special tokens as "added tokens", which would match the
    literal text "[PAD]" in a review; they stay in the vocabulary but are dropped from
    there, so only padding makes the padding id."""
    data = json.loads(tok.to_str())
    data["added_tokens"] = []
    return Tokenizer.from_str(json.dumps(data, ensure_ascii=False))


def _kind_of(tok: Tokenizer) -> str:
    if isinstance(tok.model, models.BPE):
        return "bpe"
    return "char" if isinstance(tok.decoder, decoders.Fuse) else "word"
