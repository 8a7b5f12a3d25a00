"""What a texts or pairs data set gives a model, without torch: :func:`text_facts`.

The vocabulary is the tokenizer's, so it is trained here as loading trains it (on the same
training split); :func:`~engine.data.texts.prepare.prepare` keeps the result for an
unchanged spec and files, so the editor's check after every edit costs nothing more.
"""

from __future__ import annotations

from engine.data.facts import DataFacts
from engine.data.texts.prepare import prepare
from engine.project import DatasetSpec


def text_facts(spec: DatasetSpec) -> DataFacts:
    """The facts :func:`engine.data.facts.facts_of` gives for the loaded data: token ids
    [seq_len] (long); texts: the classes; pairs: target ids [target_len] and the target
    side's vocabulary. Raises :class:`~engine.data.core.DataError` as loading does."""
    prepared = prepare(spec)
    vocab = tuple(prepared.tokenizer.tokens())
    source = prepared.data.source
    if prepared.data.kind == "texts":
        return DataFacts(source, "tokens", (spec.seq_len,), "long", "class",
                         classes=tuple(prepared.classes or ()), vocab=vocab)
    target = prepared.target_tokenizer
    target_vocab = vocab if target is None or target is prepared.tokenizer else tuple(
        target.tokens())
    return DataFacts(source, "tokens", (spec.seq_len,), "long", "sequence", vocab=vocab,
                     target_shape=(spec.target_len,), target_vocab=target_vocab)
