"""Search ranges: what a sweep may change, parsed from ``KEY=SPEC``, checked against the
project, and applied to a copy of it.

KEY is a setting as ``--set`` takes it (``training.lr``, ``dataset.val_fraction``,
``task.label_smoothing``) or a block field ``GRAPH/NODE.PARAM`` (``NODE.PARAM`` when the
project has one graph). SPEC is one of::

    float:LOW..HIGH          uniform          float:0..0.5
    float:LOW..HIGH:log      log-uniform      float:1e-4..1e-1:log
    float:LOW..HIGH:STEP     a grid of steps  float:0..0.5:0.1
    int:LOW..HIGH            whole numbers    int:16..256
    int:LOW..HIGH:STEP       every STEP       int:16..256:16
    int:LOW..HIGH:log        log-uniform      int:8..512:log
    choice:A,B,C             one of a list    choice:relu,gelu,tanh

Choice values are JSON when they parse (``choice:32,64`` gives numbers, ``choice:true,false``
booleans), else plain strings. Both ends of a range are included.
"""

from __future__ import annotations

import json
import math
import typing
from dataclasses import dataclass
from typing import Any

from engine.errors import UserError
from engine.project import Project, ProjectError

SECTIONS = ("training", "dataset", "task")
KINDS = ("float", "int", "choice")
#: at most this many grid points per range (a float range with a tiny step)
MAX_GRID = 10_000


class SweepError(UserError):
    """A sweep's options or ranges are wrong; the sentence names the key and what to do."""


@dataclass(frozen=True)
class SearchRange:
    """One field's range: ``kind`` "float" | "int" | "choice"; ``low``/``high`` (both
    included), ``log`` (log-uniform) and ``step`` for numbers; ``choices`` for a choice."""

    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()

    def spec(self) -> str:
        """The SPEC text this range parses from (stored with the study)."""
        if self.kind == "choice":
            return "choice:" + ",".join(v if isinstance(v, str) else json.dumps(v)
                                        for v in self.choices)
        text = f"{self.kind}:{_num(self.low)}..{_num(self.high)}"
        if self.log:
            text += ":log"
        elif self.step is not None:
            text += f":{_num(self.step)}"
        return text

    def suggest(self, trial: Any, key: str) -> Any:
        """Ask an Optuna trial for a value of this range (parameter name ``key``)."""
        if self.kind == "choice":
            return trial.suggest_categorical(key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(key, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(key, float(self.low), float(self.high),
                                   step=self.step, log=self.log)

    def grid(self, key: str) -> list[Any]:
        """Every value of the range, for the grid sampler; a float range needs a step."""
        if self.kind == "choice":
            return list(self.choices)
        if self.log or (self.kind == "float" and self.step is None):
            raise SweepError(f"--param {key}: the grid sampler needs a finite list of values; "
                             f"give a step (e.g. {self.kind}:{_num(self.low)}..{_num(self.high)}"
                             f":STEP) or a choice list")
        step = self.step or 1
        count = int(math.floor((self.high - self.low) / step + 1e-9)) + 1
        if count > MAX_GRID:
            raise SweepError(f"--param {key}: {count:,} grid points is too many; use a larger "
                             "step")
        if self.kind == "int":
            return [int(self.low + i * step) for i in range(count)]
        return [round(self.low + i * step, 12) for i in range(count)]

    def ends(self) -> list[Any]:
        """The values checked against the field: both ends, or every choice."""
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]


def _num(v: float | int | None) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


# -- parsing -------------------------------------------------------------------------


def parse_param(text: str) -> tuple[str, SearchRange]:
    """``"training.lr=float:1e-4..1e-1:log"`` -> ``("training.lr", SearchRange(...))``.

    Raises :class:`SweepError` naming the key and the form expected."""
    key, sep, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key or not spec:
        raise SweepError(f"--param {text!r}: expected KEY=SPEC, e.g. "
                         "training.lr=float:1e-4..1e-1:log or fc1.out_features=int:16..256:16")
    return key, parse_spec(key, spec)


def parse_spec(key: str, spec: str) -> SearchRange:
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    where = f"--param {key}={spec}"
    if kind not in KINDS:
        raise SweepError(f"{where}: the range starts with float:, int: or choice: "
                         "(e.g. float:0..0.5, int:16..256:16, choice:relu,gelu)")
    if kind == "choice":
        values = [_choice_value(v.strip()) for v in rest.split(",") if v.strip()]
        if not values:
            raise SweepError(f"{where}: list the choices after choice:, separated by commas")
        seen: list[Any] = []
        for v in values:
            if v in seen:
                raise SweepError(f"{where}: {json.dumps(v)} is listed twice")
            seen.append(v)
        return SearchRange("choice", choices=tuple(values))
    bounds, _, option = rest.partition(":")
    low_text, dots, high_text = bounds.partition("..")
    if not dots:
        raise SweepError(f"{where}: write the range as {kind}:LOW..HIGH (e.g. "
                         f"{'float:0..0.5' if kind == 'float' else 'int:16..256'})")
    low, high = _number(where, kind, low_text), _number(where, kind, high_text)
    if not low < high:
        raise SweepError(f"{where}: LOW must be below HIGH")
    log, step = False, None
    option = option.strip()
    if option.lower() == "log":
        if low <= 0:
            raise SweepError(f"{where}: a log range needs LOW above 0")
        log = True
    elif option:
        step = _number(where, kind, option, what="the step")
        if step <= 0 or step > high - low:
            raise SweepError(f"{where}: the step must be above 0 and at most HIGH - LOW")
    return SearchRange(kind, low, high, log=log, step=step)


def _number(where: str, kind: str, text: str, what: str = "") -> float | int:
    text = text.strip()
    try:
        value = int(text) if kind == "int" else float(text)
    except ValueError:
        thing = what or "each end"
        want = "a whole number" if kind == "int" else "a number"
        raise SweepError(f"{where}: {thing} must be {want}, not {text!r}"
                         + (" (or 'log')" if what else "")) from None
    if not math.isfinite(value):
        raise SweepError(f"{where}: {what or 'each end'} must be a finite number")
    return value


def _choice_value(text: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, str | int | float | bool) and value is not None else text


# -- keys against the project ----------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a key points: a setting (``section``, ``name``) or a block field (``graph``,
    ``node``, ``name``)."""

    key: str
    section: str = ""
    graph: str = ""
    node: str = ""
    name: str = ""

    @property
    def is_setting(self) -> bool:
        return bool(self.section)


def resolve_key(project: Project, key: str) -> Target:
    """The setting or block field ``key`` names; SweepError naming it when it does not."""
    head, dot, name = key.rpartition(".")
    if "/" not in key and head in SECTIONS:
        section = getattr(project, head)
        fields = type(section).model_fields
        if name not in fields:
            raise SweepError(f"--param {key}: no such setting; {head} settings are: "
                             f"{', '.join(sorted(fields))}")
        return Target(key, section=head, name=name)
    if not dot or not head or not name:
        raise SweepError(f"--param {key}: name a setting (training.lr, dataset.val_fraction) "
                         "or a block field as NODE.PARAM or GRAPH/NODE.PARAM")
    graph_name, slash, node_id = head.rpartition("/")
    if not slash:
        if len(project.graphs) != 1:
            raise SweepError(f"--param {key}: the project has several graphs "
                             f"({', '.join(project.graphs)}); write GRAPH/{key}")
        graph_name = next(iter(project.graphs))
    graph = project.graphs.get(graph_name)
    if graph is None:
        raise SweepError(f"--param {key}: the project has no graph {graph_name!r} (its graphs: "
                         f"{', '.join(project.graphs)})")
    node = graph.node(node_id)
    if node is None:
        raise SweepError(f"--param {key}: graph {graph_name!r} has no block {node_id!r}")
    return Target(key, graph=graph_name, node=node_id, name=name)


def check_space(project: Project, space: dict[str, SearchRange]) -> dict[str, Target]:
    """Every key exists and its range fits the field (type and bounds); the targets by key.

    Raises one :class:`SweepError` with a line per wrong key."""
    problems: list[str] = []
    targets: dict[str, Target] = {}
    seen: dict[tuple[str, ...], str] = {}
    for key, rng in space.items():
        try:
            target = resolve_key(project, key)
            where = (target.section, target.name) if target.is_setting else \
                (target.graph, target.node, target.name)
            if where in seen:
                raise SweepError(f"--param {key}: the same field as --param {seen[where]}")
            seen[where] = key
            if target.is_setting:
                _check_setting(project, target, rng)
            else:
                _check_block_field(project, target, rng)
            targets[key] = target
        except SweepError as e:
            problems.append(str(e))
    if problems:
        raise SweepError("\n".join(problems))
    return targets


def _check_setting(project: Project, t: Target, rng: SearchRange) -> None:
    from engine.train.overrides import apply_overrides

    field = type(getattr(project, t.section)).model_fields[t.name]
    types = _field_types(field.annotation)
    if rng.kind in ("float", "int"):
        if not types & {int, float}:
            raise SweepError(f"--param {t.key}: {t.key} is not a number; use choice:A,B,...")
        if rng.kind == "float" and float not in types:
            raise SweepError(f"--param {t.key}: {t.key} is a whole number; use int:LOW..HIGH")
    for value in rng.ends():
        try:
            apply_overrides(project, {t.key: value})
        except ProjectError as e:
            raise SweepError(f"--param {t.key}: {e}") from None


def _field_types(annotation: Any) -> set[type]:
    args = typing.get_args(annotation)
    return {a for a in args if isinstance(a, type)} if args else \
        ({annotation} if isinstance(annotation, type) else set())


def _check_block_field(project: Project, t: Target, rng: SearchRange) -> None:
    from engine.blocks import ParamError, get_block

    node = project.graphs[t.graph].node(t.node)
    block = get_block(node.type) if node is not None else None
    if block is None:
        raise SweepError(f"--param {t.key}: block {t.node!r} has an unknown type")
    try:
        param = block.param(t.name)
    except KeyError:
        names = ", ".join(p.name for p in block.params) or "none"
        raise SweepError(f"--param {t.key}: a {block.type} block has no field {t.name!r} "
                         f"(its fields: {names})") from None
    if rng.kind in ("float", "int") and param.kind not in ("int", "float", "size"):
        raise SweepError(f"--param {t.key}: {t.name} is a {param.kind} field, not a number; "
                         "use choice:A,B,...")
    if rng.kind == "float" and param.kind != "float":
        raise SweepError(f"--param {t.key}: {t.name} is a whole number; use int:LOW..HIGH")
    for value in rng.ends():
        try:
            param.check(value)
        except ParamError as e:
            raise SweepError(f"--param {t.key}: {e}") from None


def apply_point(project: Project, point: dict[str, Any]) -> Project:
    """A copy of ``project`` with each key of ``point`` set: settings through
    :func:`engine.train.overrides.apply_overrides`, block fields on their node."""
    from engine.train.overrides import apply_overrides

    settings = {}
    project = project.model_copy(deep=True)
    for key, value in point.items():
        t = resolve_key(project, key)
        if t.is_setting:
            settings[key] = value
        else:
            node = project.graphs[t.graph].node(t.node)
            node.params[t.name] = value
    try:
        return apply_overrides(project, settings) if settings else project
    except ProjectError as e:
        raise SweepError(str(e)) from None


def range_problems(project: Project) -> list[Any]:
    """One warning per saved range (``project.sweep.ranges``) whose key names no field or
    whose range does not fit its field (a block renamed or deleted outside the app, a
    field's bounds changed): the sentence names the key. A warning, not an error: training
    the project alone does not need the range, and a sweep refuses to start until the
    range is fixed or removed (:func:`check_space`)."""
    out = []
    for key, text in project.sweep.ranges.items():
        try:
            target = resolve_key(project, key)
        except SweepError as e:
            out.append(_range_problem(project, key, None, e))
            continue
        try:
            check_space(project, {key: parse_spec(key, text)})
        except SweepError as e:
            out.append(_range_problem(project, key, target.node or None, e))
    return out


def _range_problem(project: Project, key: str, node: str | None, e: SweepError) -> Any:
    from engine.graph import Problem

    # pinned to the block's graph when it has one, else to the first graph (the app lists
    # a project's problems per graph)
    graph = key.rpartition(".")[0].rpartition("/")[0]
    if graph not in project.graphs:
        graph = next(iter(project.graphs))
    return Problem(graph, node, f"search range {str(e).removeprefix('--param ')}; fix or "
                   "remove this range", severity="warning")
