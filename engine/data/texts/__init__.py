"""Text classification and sequence-to-sequence data: "texts" and "pairs" files and the
built-in "sentiment" and "dates" sets, as token ids.

- texts: a CSV/TSV/JSONL file with a text and a label column, or one folder of ``.txt``
  files per class (:mod:`.tables`, :mod:`.folders`) -> x long [N, seq_len] (ids,
  right-padded with 0), y long [N] class ids (classes sorted);
- pairs: a TSV/CSV/JSONL file of source and target columns, or two aligned text files ->
  x long [N, seq_len] (source ids) and y long [N, target_len] (BOS, target ids, EOS, then
  0 padding).

The tokenizer (:class:`TextTokenizer`, "char", "word" or "bpe") is trained on the training
split only, or given back from a run. Bad entries stop or are skipped as
``dataset.bad_entries`` says (:mod:`.records`). Reading, splitting and the tokenizer need
no torch (:mod:`.prepare`); :func:`summary` and :func:`preview` serve the dataset panel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.data.texts.prepare import SPLITS, Prepared, build, prepare, read_set, summary_of
from engine.data.texts.tokenizer import TextTokenizer
from engine.project import DatasetSpec

Progress = Callable[[str, int, int], None]

__all__ = ["TextTokenizer", "load_text_data", "preview", "summary"]


def load_text_data(spec: DatasetSpec, *, progress: Progress | None = None,
                   tokenizers: dict[str, str] | None = None) -> Any:
    """The :class:`~engine.data.core.DataBundle` of a texts or pairs spec (see the module
    docstring); ``tokenizers`` (a run's data.json entries) are used instead of training."""
    import torch

    from engine.data.core import DataBundle, Split

    if tokenizers and tokenizers.get("tokenizer"):
        prepared = build(spec, read_set(spec), progress, tokenizers)
    else:
        prepared = prepare(spec, progress)
    data, tok = prepared.data, prepared.tokenizer
    _check_memory(len(data), spec, data.kind)
    if progress is not None:
        progress("Encoding texts", 0, 1)
    splits: dict[str, Split] = {}
    lengths: list[int] = []
    target_lengths: list[int] = []
    for name in SPLITS:
        x, n = tok.encode_padded(prepared.texts(name), spec.seq_len)
        y, m = _targets(prepared, name, spec)
        splits[name] = Split(torch.from_numpy(x), y)
        lengths += n
        target_lengths += m
    if progress is not None:
        progress("Encoding texts", 1, 1)
    texts = {s: prepared.texts(s) for s in SPLITS}
    pairs = data.kind == "pairs"
    target_tok = prepared.target_tokenizer
    vocab = tok.tokens()
    target_vocab = None
    if pairs:
        assert target_tok is not None
        target_vocab = vocab if target_tok is tok else target_tok.tokens()
    return DataBundle(
        train=splits["train"],
        val=splits["val"],
        test=splits["test"] if prepared.order["test"] else None,
        kind="tokens",
        input_shape=(spec.seq_len,),
        input_dtype="long",
        target="sequence" if pairs else "class",
        classes=None if pairs else list(prepared.classes or []),
        vocab=vocab,
        source=data.source,
        target_shape=(spec.target_len,) if pairs else (),
        summary=summary_of(prepared, spec, lengths, target_lengths if pairs else None),
        tokenizer=tok,
        target_tokenizer=target_tok,
        target_vocab=target_vocab,
        texts=texts,
        target_texts={s: prepared.labels(s) for s in SPLITS} if pairs else None,
    )


def _targets(prepared: Prepared, split: str, spec: DatasetSpec) -> tuple[Any, list[int]]:
    """The split's targets: class ids [N], or target ids [N, target_len] framed by BOS and
    EOS with the targets' token counts."""
    import torch

    labels = prepared.labels(split)
    if prepared.target_tokenizer is not None:
        y, counts = prepared.target_tokenizer.encode_padded(labels, spec.target_len, bos=True,
                                                           eos=True)
        return torch.from_numpy(y), counts
    index = {c: i for i, c in enumerate(prepared.classes or [])}
    return torch.tensor([index[c] for c in labels], dtype=torch.long), []


def _check_memory(n: int, spec: DatasetSpec, kind: str) -> None:
    """Refuse token tensors larger than half the machine's memory, before making them."""
    from engine.data.limits import format_bytes, physical_memory
    from engine.data.texts.records import data_error

    per = spec.seq_len + (spec.target_len if kind == "pairs" else 1)
    need = n * per * 8
    ram = physical_memory()
    if ram is not None and need > ram // 2:
        raise data_error(f"{spec.source}: {n:,} samples of {spec.seq_len:,} token ids take "
                         f"{format_bytes(need)}, more than half of this machine's memory "
                         f"({format_bytes(ram)}); lower the sequence length (dataset.seq_len) "
                         "or use a sample of the rows")


def summary(spec: DatasetSpec) -> dict[str, Any]:
    """What the data holds, for the dataset panel: samples per split, label counts (texts),
    token length histograms (``{"bins": edges, "counts": counts}``), how many texts are
    longer than ``seq_len``, the columns used, vocabulary sizes, skipped entries and the
    first problems. Raises :class:`~engine.data.core.DataError` when the data cannot be
    read (``bad_entries="stop"`` and a bad entry)."""
    return summary_of(prepare(spec), spec)


def preview(spec: DatasetSpec, rows: int = 50) -> dict[str, Any]:
    """:func:`summary` plus the first ``rows`` samples in file order: ``{"text", "label"}``
    (texts) or ``{"source", "target"}`` (pairs), each with its split."""
    prepared = prepare(spec)
    out = summary_of(prepared, spec)
    split_of = {i: s for s in SPLITS for i in prepared.order[s]}
    data = prepared.data
    keys = ("text", "label") if data.kind == "texts" else ("source", "target")
    out["rows"] = [{keys[0]: data.texts[i], keys[1]: data.labels[i], "split": split_of[i]}
                   for i in range(min(rows, len(data)))]
    return out
