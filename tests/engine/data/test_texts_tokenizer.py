"""TextTokenizer: the three kinds, special ids, padding and cutting, decoding, and the JSON
that a run and every export save (it must give the same ids in a fresh process with
Hugging Face ``tokenizers`` alone)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tokenizers import Tokenizer

from engine.data.texts import TextTokenizer
from engine.data.texts.tokenizer import BOS, EOS, PAD, UNK

TEXTS = ["The battery is not bad, really!", "I love this phone.", "the screen is awful",
         "Naïve café owners love coffee", "the the the battery battery"] * 4


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_special_ids_and_json_round_trip(kind) -> None:
    tok = TextTokenizer.train(TEXTS, kind, 200)
    assert tok.kind == kind
    assert tok.tokens()[:4] == ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
    assert (PAD, UNK, BOS, EOS) == (0, 1, 2, 3)
    again = TextTokenizer.from_json(tok.to_json())
    assert again.to_json() == tok.to_json()
    assert again.kind == kind and again.tokens() == tok.tokens()
    assert again.encode("the battery is fine") == tok.encode("the battery is fine")


def test_training_is_deterministic_across_processes() -> None:
    """Rust hash maps are seeded per process: ties between equally frequent tokens must
    still give the same ids, or a resumed run would read other ids."""
    code = ("import json, sys; from engine.data.texts import TextTokenizer; "
            f"sys.stdout.write(json.dumps([TextTokenizer.train({TEXTS!r}, k, 40).to_json() "
            "for k in ('char', 'word', 'bpe')]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    here = [TextTokenizer.train(TEXTS, k, 40).to_json() for k in ("char", "word", "bpe")]
    assert json.loads(done.stdout) == here


def test_decode_each_kind() -> None:
    char = TextTokenizer.train(TEXTS, "char", 200)
    assert char.decode(char.encode("the phone is bad")) == "the phone is bad"
    word = TextTokenizer.train(TEXTS, "word", 200)
    assert word.decode(word.encode("The battery is not bad!")) == "the battery is not bad !"
    bpe = TextTokenizer.train(TEXTS, "bpe", 200)
    assert bpe.decode(bpe.encode("the battery is not bad, really!")) == (
        "the battery is not bad, really!")
    # stops at EOS; PAD and BOS are not text
    ids = [BOS, *char.encode("on"), EOS, *char.encode("no"), PAD]
    assert char.decode(ids) == "on"


def test_unknown_and_lowercase() -> None:
    word = TextTokenizer.train(TEXTS, "word", 200)
    assert word.encode("zebra") == [UNK]
    assert word.encode("LOVE") == word.encode("love")
    cased = TextTokenizer.train(TEXTS, "word", 200, lowercase=False)
    assert cased.encode("LOVE") == [UNK] and cased.encode("love") != [UNK]


def test_vocab_size_caps_words_by_frequency() -> None:
    tok = TextTokenizer.train(TEXTS, "word", 6)
    assert tok.vocab_size == 6
    assert tok.tokens()[4:] == ["the", "battery"]  # the two most frequent words


def test_literal_special_token_text_is_not_padding() -> None:
    """A review that says "[PAD]" must not make padding ids (the masks would drop it)."""
    for kind in ("char", "word", "bpe"):
        tok = TextTokenizer.train(TEXTS + ["[PAD] [EOS]"], kind, 200)
        assert PAD not in tok.encode("[PAD]") and EOS not in tok.encode("[EOS]")


def test_encode_batch_pads_cuts_and_frames() -> None:
    tok = TextTokenizer.train(TEXTS, "char", 200)
    x = tok.encode_batch(["abc", "the battery"], 5)
    assert x.dtype.is_floating_point is False and tuple(x.shape) == (2, 5)
    assert x[0].tolist()[3:] == [PAD, PAD] and x[1].tolist() == tok.encode("the b")
    y = tok.encode_batch(["love", "the battery"], 6, bos=True, eos=True)
    assert y[0].tolist() == [BOS, *tok.encode("love"), EOS]
    assert y[1].tolist() == [BOS, *tok.encode("the "), EOS]  # cut, the end token kept


def test_saved_json_works_with_tokenizers_alone() -> None:
    """What an exported model's user does: Tokenizer.from_str, encode, same ids."""
    tok = TextTokenizer.train(TEXTS, "bpe", 100)
    plain = Tokenizer.from_str(tok.to_json())
    assert plain.encode("The battery is fine").ids == tok.encode("The battery is fine")


def test_from_json_refuses_a_foreign_tokenizer() -> None:
    from tokenizers import models

    foreign = Tokenizer(models.WordLevel({"a": 0, "b": 1, "c": 2, "d": 3}, unk_token="a"))
    with pytest.raises(ValueError, match="not a LayerForge tokenizer"):
        TextTokenizer.from_json(foreign.to_str())
