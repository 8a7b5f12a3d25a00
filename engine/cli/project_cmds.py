"""Project commands: new, validate, summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.composite import graph_split
from engine.project import FILE_SUFFIX, ProjectError, load_project, save_project
from engine.shapes import GraphAnalysis, analyze_project, project_problems
from engine.terminal import for_terminal, problem_line


def register(sub: argparse._SubParsersAction) -> None:
    from engine.templates import list_templates

    p = sub.add_parser("new", help="create a project from a template")
    p.add_argument("out", help=f"the new project file ({FILE_SUFFIX})")
    p.add_argument("--template", required=True, choices=list_templates(), metavar="NAME",
                   help="one of: " + ", ".join(list_templates()))
    p.add_argument("--dataset", metavar="SPEC",
                   help="builtin:NAME, folder:PATH, idx:DIR, csv:PATH[:target=COLUMN], "
                        "text:PATH, download:NAME, segmentation:PATH (images and masks, or "
                        "COCO), detection:PATH (COCO, Pascal VOC or YOLO), texts:PATH "
                        "(labelled texts: CSV/TSV/JSONL or a folder per class), pairs:PATH "
                        "(source and target texts), audio:DIR (a folder of clips per class) "
                        "or speech:DIR (clips with transcripts)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a setting for the new project, applied before it is fitted to the "
                        "data, e.g. dataset.bad_entries=skip, dataset.image_size=96 or "
                        "dataset.tokenizer=bpe")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("validate", help="check a project; exit 2 with one line per problem")
    p.add_argument("file")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("summary", help="per-block shapes, parameters and FLOPs")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_summary)


def cmd_new(args: argparse.Namespace) -> int:
    from engine.templates import load_template

    out = Path(args.out)
    if out.suffix != FILE_SUFFIX:
        raise ProjectError(f"{out}: project files end in {FILE_SUFFIX}")
    if out.exists() and not args.force:
        raise ProjectError(f"{out}: already exists (use --force to overwrite)")
    project = load_template(args.template)
    project.name = out.stem
    if args.dataset:
        project.dataset = _parsed_dataset(args.dataset)
    if args.set:
        from engine.train.overrides import apply_overrides, parse_assignment

        project = apply_overrides(project, dict(parse_assignment(s) for s in args.set))
    if args.dataset:
        from engine.data import DataError
        from engine.data.facts import data_facts
        from engine.train.fit import fit_project

        try:
            # the facts, not the data: what the network must fit, read cheaply
            changes = fit_project(project, data_facts(project.dataset))
        except DataError as e:
            raise ProjectError(f"--dataset {args.dataset}: {e}") from None
        for change in changes:
            print(f"fitted to the data: {for_terminal(change)}")
    save_project(project, out)
    print(f"created {for_terminal(out)} from template {args.template} "
          f"({for_terminal(project.dataset.describe())})")
    return 0


def _parsed_dataset(text: str):
    from engine.data import DataError, parse_spec

    try:
        return parse_spec(text)
    except DataError as e:
        raise ProjectError(f"--dataset {text}: {e}") from None


def cmd_validate(args: argparse.Namespace) -> int:
    project = load_project(args.file)
    problems = project_problems(project)
    if not any(p.severity == "error" for p in problems):
        problems += _data_fit_problems(project, Path(args.file))
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        tag = "" if p.severity == "error" else "warning: "
        print(f"{tag}{problem_line(p)}")
    if errors:
        return 2
    blocks = sum(len(g.nodes) for g in project.graphs.values())
    print(f"ok: {blocks} blocks in {len(project.graphs)} graph(s)")
    return 0


def _data_fit_problems(project, path: Path) -> list:
    """What the app's Problems list says about the model against its data (an Input of
    another shape, outputs against classes). Data that cannot be read is an error too."""
    from engine.data.facts import data_facts, quick_facts, reads_files
    from engine.errors import UserError
    from engine.graph import Problem
    from engine.train.fit import check_fit
    from engine.train.prepare import absolute_data

    checked = project.model_copy(deep=True)
    absolute_data(checked, path.resolve().parent)
    spec = checked.dataset
    try:
        facts = data_facts(spec) if reads_files(spec) else quick_facts(spec)
        if facts is None:  # no data set chosen yet (or options its loader will explain)
            return []
        return check_fit(checked, facts)
    except UserError as e:  # the data cannot be read (torch-free: DataError needs torch)
        return [Problem("dataset", None, str(e))]


def _fmt_count(n: int) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def _graph_json(a: GraphAnalysis, project) -> dict:
    graph = project.graphs[a.structure.name]
    nodes = []
    for node in graph.nodes:
        info = a.nodes.get(node.id)
        nodes.append({
            "id": node.id,
            "type": node.type,
            "shape": list(info.out.shape) if info and info.out else None,
            "dtype": info.out.dtype if info and info.out else None,
            "params": info.params if info else 0,
            "flops": info.flops if info else 0,
            "error": info.error if info else None,
        })
    return {"nodes": nodes, "total_params": a.total_params,
            "trainable_params": graph_split(project.graphs, graph, a)[0],
            "total_flops": a.total_flops,
            "activations_per_sample": a.total_activations}


def cmd_summary(args: argparse.Namespace) -> int:
    project = load_project(args.file)
    analyses = analyze_project(project)
    problems = project_problems(project, analyses)
    if args.json:
        print(json.dumps({
            "name": project.name,
            "graphs": {n: _graph_json(a, project) for n, a in analyses.items()},
            "problems": [str(p) for p in problems],
        }, indent=2))
        return 2 if any(p.severity == "error" for p in problems) else 0
    for name, a in analyses.items():
        graph = project.graphs[name]
        print(f"graph {for_terminal(name)}")
        rows = [("node", "block", "output", "params", "FLOPs")]
        for node in graph.nodes:
            info = a.nodes.get(node.id)
            shape = str(info.out) if info and info.out else ("error" if info and info.error else "-")
            rows.append((for_terminal(node.id), for_terminal(node.type), shape, f"{info.params:,}" if info else "0",
                         _fmt_count(info.flops) if info else "0"))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            print("  " + "  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(r, widths, strict=True))))
        trainable, _ = graph_split(project.graphs, project.graphs[name], a)
        frozen = f" ({trainable:,} trainable)" if trainable != a.total_params else ""
        print(f"  total: {a.total_params:,} parameters{frozen}, {_fmt_count(a.total_flops)} "
              f"FLOPs per sample, {_fmt_count(a.total_activations)} activations per sample")
    for p in problems:
        print(("" if p.severity == "error" else "warning: ") + problem_line(p))
    return 2 if any(p.severity == "error" for p in problems) else 0
