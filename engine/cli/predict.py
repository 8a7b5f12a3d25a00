"""`layerforge predict`: a trained language or sound model on the user's own input.

- text classification: typed texts (or text files, one text per line) -> the top K classes
  with their probabilities;
- sequence to sequence: texts -> the output text (greedy, or beam search with ``--beam``);
- sound classification (keyword spotting): WAV files -> the top K classes;
- speech to text: WAV files -> the transcript.

Other runs get a sentence saying which kinds predict covers. The run's data is loaded as
``layerforge evaluate`` loads it (:func:`engine.train.inference.open_run`), and the answers
are :func:`engine.train.predict.predict`'s, as the app's "Try" boxes give them; this module
checks the options and prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli.terminal import for_terminal
from engine.errors import UsageError

KINDS = ("text classification", "sequence to sequence", "sound classification (keywords)",
         "speech to text")
MAX_TOP = 100
#: classes shown for a classifier unless --top says
TOP = 3
MAX_BEAM = 64


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="run a trained text, seq2seq, sound or speech model on "
                       "typed text or WAV files")
    p.add_argument("run_dir", metavar="RUN_DIR")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", nargs="+", metavar="TEXT",
                       help="texts to classify or translate")
    given.add_argument("--file", nargs="+", metavar="FILE",
                       help="WAV files (sound and speech runs), or text files read one text "
                            "per line (text runs)")
    p.add_argument("--beam", type=int, metavar="N",
                   help="beam width for seq2seq and speech runs (default: the task's "
                        "beam_width; 1 is greedy)")
    p.add_argument("--top", type=int, metavar="K",
                   help="how many classes to show for classifiers (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_predict)


def _run_kind(run_dir: Path) -> tuple[str, str]:
    """(task kind, data kind) of a run from its project and data.json, without loading
    the data; the data kind is "" when data.json is missing."""
    from engine.train.rundir import RunDir

    run = RunDir(run_dir)
    kind = run.load_project().task.kind
    try:
        info = json.loads(run.data_info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    return kind, str(info.get("kind") or "") if isinstance(info, dict) else ""


def _check_args(args: argparse.Namespace, what: str, task_kind: str) -> None:
    if not what:
        raise UsageError(f"{args.run_dir}: predict covers {', '.join(KINDS)} runs; this is a "
                         f"{task_kind} run (see `layerforge evaluate` and `layerforge sample`)")
    if args.beam is not None:
        if what not in ("seq2seq", "speech"):
            raise UsageError("--beam is for sequence-to-sequence and speech runs")
        if not 1 <= args.beam <= MAX_BEAM:
            raise UsageError(f"--beam must be between 1 and {MAX_BEAM}")
    if args.top is not None:
        if what not in ("text", "sound"):
            raise UsageError("--top is for text and sound classification runs")
        if not 1 <= args.top <= MAX_TOP:
            raise UsageError(f"--top must be between 1 and {MAX_TOP}")
    if what in ("sound", "speech") and args.text:
        raise UsageError("this run reads sound: give WAV files with --file")
    for f in args.file or []:
        if not Path(f).is_file():
            raise UsageError(f"{f}: no such file")


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


def cmd_predict(args: argparse.Namespace) -> int:
    from engine.train.predict import predict, predict_kind

    task_kind, data_kind = _run_kind(Path(args.run_dir))
    what = predict_kind(task_kind, data_kind)
    if not what and not data_kind and task_kind == "classification":
        what = "?"  # no data.json: the loaded data will say
    _check_args(args, what, task_kind)
    from engine.train.inference import open_run

    loaded = open_run(args.run_dir)
    if what == "?":
        what = predict_kind(task_kind, loaded.bundle.kind)
        _check_args(args, what, task_kind)
    inputs = list(args.file or [])
    if what in ("text", "seq2seq"):
        inputs = list(args.text) if args.text else read_texts(args.file)
    results = [{k: v for k, v in r.items() if k != "clip"}
               for r in predict(loaded, inputs, beam_width=args.beam, top=args.top or TOP)]
    if args.json:
        from engine.cli.evaluation import as_json

        print(as_json({"kind": what, "results": results}))
        return 0
    for r in results:
        print(for_terminal(r["input"]))
        if "top" in r:
            width = max(len(for_terminal(c["class"])) for c in r["top"])
            for c in r["top"]:
                print(f"  {for_terminal(c['class']).ljust(width)}  {c['probability']:.3f}")
        else:
            print(f"  -> {for_terminal(r['output'])}")
    return 0
