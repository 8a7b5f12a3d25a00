"""`layerforge predict`: a trained run on the user's own input, as the app's "Try it" answers.

- image runs (classification, regression, segmentation, detection): ``--file`` image files;
- rows of numbers (vector classification, regression): ``--values "5.1,3.5,1.4,0.2"``,
  repeatable, one sample each;
- language models: ``--text PROMPT`` with ``--length``, ``--temperature`` and ``--seed``;
- text classification and seq2seq: ``--text`` texts (or ``--file`` text files read one text
  per line); sound and speech: ``--file`` WAV files.

The run is opened from its data.json and weights (:func:`engine.train.inference.open_model`),
so a run whose data set is gone (downloaded from a remote machine) still answers. The
answers are :func:`engine.train.predict.predict`'s; this module checks the options against
the run's kind (:func:`engine.train.predict.input_facts`, before anything is loaded) and
prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.terminal import for_terminal

MAX_TOP = 100
#: classes shown for a classifier unless --top says
TOP = 3
MAX_BEAM = 64
MAX_LENGTH = 10_000
#: per kind: (the option that gives its inputs, what they are)
INPUTS = {
    "image": ("--file", "image files"), "segmentation": ("--file", "image files"),
    "detection": ("--file", "image files"), "vector": ("--values", "rows of numbers"),
    "text": ("--text", "texts"), "seq2seq": ("--text", "texts"),
    "sound": ("--file", "WAV files"), "speech": ("--file", "WAV files"),
    "language": ("--text", "a prompt")}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="run a trained model on your own images, numbers, "
                       "texts, prompts or WAV files")
    p.add_argument("run_dir", metavar="RUN_DIR")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--file", nargs="+", metavar="FILE",
                       help="image files (image runs), WAV files (sound and speech runs), or "
                            "text files read one text per line (text runs)")
    given.add_argument("--values", action="append", metavar="NUMBERS",
                       help='one sample\'s numbers, comma separated ("5.1,3.5,1.4,0.2"); '
                            "repeat for more samples (vector and regression runs)")
    given.add_argument("--text", nargs="+", metavar="TEXT",
                       help="texts to classify or translate, or a language model's prompt")
    p.add_argument("--top", type=int, metavar="K",
                   help="how many classes to show for classifiers (default 3)")
    p.add_argument("--beam", type=int, metavar="N",
                   help="beam width for seq2seq and speech runs (default: the task's "
                        "beam_width; 1 is greedy)")
    p.add_argument("--length", type=int, metavar="N",
                   help="tokens a language model adds to the prompt (default 100)")
    p.add_argument("--temperature", type=float, metavar="T",
                   help="a language model's sampling temperature (default 0: the likeliest "
                        "token each time)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="a language model's sampling seed (default 0; the same seed gives "
                        "the same text)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_predict)


def _option_for(what: str, data: str) -> tuple[str, str]:
    if what == "regression":
        return ("--file", "image files") if data == "image" else ("--values", "rows of numbers")
    return INPUTS[what]


def _check_args(args: argparse.Namespace, facts: dict[str, Any]) -> None:
    what, task = facts["kind"], facts["task"]
    if not what:
        raise UsageError(f"{args.run_dir}: {facts['problem']} (see `layerforge evaluate` and "
                         "`layerforge sample`)")
    flag, things = _option_for(what, facts["data"])
    gave = "--file" if args.file else "--values" if args.values else "--text"
    text_files = what in ("text", "seq2seq") and gave == "--file"
    if gave != flag and not text_files:
        raise UsageError(f"this {task.replace('_', ' ')} run takes {things}: give them with "
                         f"{flag}, not {gave}")
    _check_numbers(args, what)
    if what == "language" and len(args.text) != 1:
        raise UsageError("a language model continues one prompt: give --text once, with the "
                         "prompt in quotes")
    for f in args.file or []:
        if not Path(f).is_file():
            raise UsageError(f"{f}: no such file")


def _check_numbers(args: argparse.Namespace, what: str) -> None:
    rules = [("--beam", args.beam, ("seq2seq", "speech"), 1, MAX_BEAM,
              "sequence-to-sequence and speech runs"),
             ("--top", args.top, ("text", "sound", "image", "vector"), 1, MAX_TOP,
              "classifiers (images, rows of numbers, texts and sounds)"),
             ("--length", args.length, ("language",), 1, MAX_LENGTH, "language models"),
             ("--seed", args.seed, ("language",), 0, 2**32 - 1, "language models"),
             ("--temperature", args.temperature, ("language",), 0.0, 100.0, "language models")]
    for flag, value, kinds, lo, hi, who in rules:
        if value is None:
            continue
        if what not in kinds:
            raise UsageError(f"{flag} is for {who}")
        if not lo <= value <= hi:
            raise UsageError(f"{flag} must be between {lo} and {hi}, not {value}")


def read_texts(files: list[str]) -> list[str]:
    """The non-empty lines of text files, in order."""
    from engine.files import read_text

    texts = []
    for f in files:
        texts += [line for line in read_text(Path(f), UsageError, what="a text file")
                  .splitlines() if line.strip()]
    if not texts:
        raise UsageError(f"{', '.join(files)}: no text in the file(s)")
    return texts


def read_values(rows: list[str]) -> list[list[float]]:
    """Each --values argument as numbers (comma, semicolon, tab or space separated)."""
    import re

    out = []
    for row in rows:
        cells = [c for c in re.split(r"[,;\s]+", row.strip()) if c]
        if not cells:
            raise UsageError(f'--values "{row}": no numbers; write them comma separated, '
                             'e.g. --values "5.1,3.5,1.4,0.2"')
        try:
            out.append([float(c) for c in cells])
        except ValueError:
            bad = next(c for c in cells if not _is_number(c))
            raise UsageError(f'--values "{row}": \'{bad}\' is not a number') from None
    return out


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def cmd_predict(args: argparse.Namespace) -> int:
    from engine.train.predict import input_facts

    facts = input_facts(args.run_dir)
    if not facts["kind"] and not facts["data"] and facts["task"] in ("classification",
                                                                     "regression"):
        facts["kind"] = "?"  # no data.json: the loaded data will say
    else:
        _check_args(args, facts)
    from engine.train.inference import open_model
    from engine.train.predict import predict, predict_kind

    loaded = open_model(args.run_dir)
    if facts["kind"] == "?":
        facts.update(kind=predict_kind(facts["task"], loaded.bundle.kind),
                     data=loaded.bundle.kind)
        _check_args(args, facts)
    what = facts["kind"]
    inputs: list[Any] = list(args.file or [])
    if args.values:
        inputs = read_values(args.values)
    elif what in ("text", "seq2seq", "language"):
        inputs = list(args.text) if args.text else read_texts(args.file)
    options = {k: v for k, v in (("length", args.length), ("temperature", args.temperature),
                                 ("seed", args.seed)) if v is not None}
    results = predict(loaded, inputs, beam_width=args.beam, top=args.top or TOP, **options)
    if args.json:
        from engine.cli.evaluation import as_json

        shown = [{k: _plain(v) for k, v in r.items() if k not in ("clip", "image")}
                 for r in results]
        print(as_json({"kind": what, "results": shown}))
        return 0
    for r in results:
        _print(r)
    return 0


def _plain(value: Any) -> Any:
    """numpy arrays (a segmentation mask) as nested lists, for JSON."""
    return value.tolist() if hasattr(value, "tolist") else value


def _print(r: dict[str, Any]) -> None:
    print(for_terminal(r["input"]))
    if "top" in r:
        width = max(len(for_terminal(c["class"])) for c in r["top"])
        for c in r["top"]:
            print(f"  {for_terminal(c['class']).ljust(width)}  {c['probability']:.3f}")
    elif "values" in r:
        width = max(len(for_terminal(n)) for n in r["names"])
        for name, v in zip(r["names"], r["values"], strict=True):
            print(f"  {for_terminal(name).ljust(width)}  {v:.6g}")
    elif "shares" in r:
        h, w = r["mask"].shape
        print(f"  mask {w}x{h}; share of the pixels per class:")
        width = max(len(for_terminal(c)) for c in r["shares"])
        for name, share in sorted(r["shares"].items(), key=lambda kv: -kv[1]):
            print(f"  {for_terminal(name).ljust(width)}  {share:6.1%}")
    elif "boxes" in r:
        if not r["boxes"]:
            print("  no boxes")
        for b in r["boxes"]:
            x0, y0, x1, y1 = b["box"]
            print(f"  {for_terminal(b['class'])}  {b['score']:.3f}  "
                  f"[{x0:.1f}, {y0:.1f}, {x1:.1f}, {y1:.1f}]")
    else:
        print(f"  -> {for_terminal(r['output'])}")
