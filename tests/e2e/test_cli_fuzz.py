"""CLI fuzz (issue 12, point 7): a seeded corpus of hostile inputs thrown at every command.

Malformed and hostile projects, broken data files, damaged run folders, nonsense ``--set``
values and sampling options, outputs that cannot be written (under a regular file, on a
read-only or a full file system, names too long), broken modules for `import`, and hosts and
runs index files of every shape. Each case fails the test on:

- an exception escaping ``main()``, a traceback, or an "internal error" line (a defect in
  LayerForge), or a training run that failed with a raw exception ("Training failed:
  ValueError: ...");
- an exit code other than 0, 1 or 2, or a non-zero exit without a message;
- a raw control character (an escape sequence from a name) in what was printed;
- any file written, changed or left behind outside the output the command was given.

The commands run in this process through ``engine.cli.main`` (milliseconds each); training
runs the real worker code (``engine.train.worker.main``) in this process too, asked to stop
after its first step. A few cases at the end run the real `layerforge` program, where the
process boundary matters.

The seed is random per run and printed with every failure. Rerun a corpus with
``LAYERFORGE_FUZZ_SEED=N`` (one case with ``LAYERFORGE_FUZZ_CASE=I`` too); size it with
``LAYERFORGE_FUZZ_CASES`` (default 2000).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.clifuzz.cases import Case, Context, make_case
from tests.e2e.clifuzz.inprocess import InProcessWorkerClient, preserved_state
from tests.e2e.clifuzz.runs import build_runs
from tests.engine.cli_helpers import HOSTILE, RAW_CONTROL, CliResult, run_cli

SEED = int(os.environ.get("LAYERFORGE_FUZZ_SEED") or random.SystemRandom().randrange(10**9))
ONLY = os.environ.get("LAYERFORGE_FUZZ_CASE")
COUNT = int(os.environ.get("LAYERFORGE_FUZZ_CASES", "2000"))
DEFECT = re.compile(r"Traceback \(most recent call last\)|internal error|"
                    r"Training failed: [\w.]*(Error|Exception)\b|malformed job")
LAYERFORGE = str(Path(sys.executable).with_name("layerforge"))


def _mount(path: Path, options: str) -> Path | None:
    path.mkdir(parents=True)
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if proc.returncode == 0 else None


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """The folder every case lives in: trained runs, a read-only and a full tmpfs (where
    they can be mounted), HOME, the temp folder, the config and cache folders."""
    root = tmp_path_factory.mktemp("fuzz")
    mounts = [m for m in (_mount(root / "ro", "ro,size=64k"), _mount(root / "full", "size=64k"))
              if m is not None]
    full = root / "full" if root / "full" in mounts else None
    if full is not None:  # fill it: from now on every write there fails with ENOSPC
        try:
            (full / "filler").write_bytes(b"\0" * 128 * 1024)
        except OSError:
            pass
    for name in ("home", "tmp", "cache"):
        (root / name).mkdir()
    yield root
    for m in mounts:
        subprocess.run(["umount", "-l", str(m)], capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def context(sandbox):
    with preserved_state():
        runs = build_runs(sandbox / "runs")
    read_only = sandbox / "ro" if os.path.ismount(sandbox / "ro") else None
    full = sandbox / "full" if os.path.ismount(sandbox / "full") else None
    return Context(runs, read_only, full)


@pytest.fixture
def isolated(sandbox, monkeypatch):
    """Nothing a case does may reach the real home, temp, config or keyring."""
    monkeypatch.setenv("HOME", str(sandbox / "home"))
    monkeypatch.setenv("TMPDIR", str(sandbox / "tmp"))
    monkeypatch.setenv("LAYERFORGE_CACHE", str(sandbox / "cache"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(tempfile, "tempdir", str(sandbox / "tmp"))
    monkeypatch.setattr("engine.train.worker_client.WorkerClient", InProcessWorkerClient)
    try:
        import keyring
        from keyring.backends import fail

        monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())
    except ImportError:
        pass
    return


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root``: files by size and mtime, folders and links by existence."""
    seen: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        for name in dirs + files:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            key = name if rel == "." else f"{rel}/{name}"
            if os.path.isdir(path) and not os.path.islink(path):
                seen[key] = ("dir",)
            else:
                seen[key] = ("file", st.st_size, st.st_mtime_ns)
    return seen


#: the one cache any command may fill: matplotlib's font list, loaded with Captum by
#: `layerforge explain`, kept in LayerForge's cache folder rather than the home
CACHE_OK = "cache/matplotlib"


def _allowed(path: str, case_dir: str, case: Case, kind: tuple | None, root: Path) -> bool:
    """Whether ``path`` (relative to the sandbox) is the case's output, inside it, or a
    missing parent folder made for it."""
    targets = [*case.allowed, *(["config"] if case.config else [])]
    if path == CACHE_OK or path.startswith(CACHE_OK + "/"):
        return True
    for a in targets:
        a = os.path.relpath(a, root) if os.path.isabs(a) else os.path.normpath(f"{case_dir}/{a}")
        if path == a or path.startswith(a + "/"):
            return True
        if kind == ("dir",) and a.startswith(path + "/"):
            return True
    return False


def check(case: Case, r: CliResult, changed: dict[str, tuple | None], case_dir: str,
          root: Path) -> list[str]:
    problems = []
    if r.escaped:
        problems.append(f"an exception escaped main():\n{r.escaped}")
    if r.code not in (0, 1, 2):
        problems.append(f"exit code {r.code!r}")
    elif r.code != 0 and not r.text.strip():
        problems.append(f"exit {r.code} without a message")
    m = DEFECT.search(r.text)
    if m:
        problems.append(f"a defect was reported: {m.group()!r}")
    raw = RAW_CONTROL.findall(r.text)
    if raw:
        problems.append(f"raw control characters printed: {sorted(set(raw))!r}")
    outside = [p for p, kind in changed.items()
               if not _allowed(p, case_dir, case, kind, root)]
    if outside:
        problems.append(f"wrote outside its output: {sorted(outside)[:8]}")
    return problems


def _report(failures: list[tuple[int, Case, CliResult, list[str]]]) -> str:
    kinds = Counter(c.kind for _, c, _, _ in failures)
    lines = [f"{len(failures)} fuzz cases failed (LAYERFORGE_FUZZ_SEED={SEED}); by kind: "
             f"{dict(kinds)}"]
    for index, case, r, problems in failures[:12]:
        lines += ["", f"case {index} (LAYERFORGE_FUZZ_SEED={SEED} LAYERFORGE_FUZZ_CASE={index}):",
                  f"  {case.describe()}", f"  exit {r.code!r}"]
        lines += [f"  - {p}" for p in problems]
        # with LAYERFORGE_DEBUG=1 the end of an internal error's traceback
        tail = (r.text.strip().splitlines() or [""])[-12 if os.environ.get("LAYERFORGE_DEBUG") else -6:]
        lines += [f"  | {line[:300]!r}" for line in tail]
    if len(failures) > 12:
        lines += ["", "and, one line each:"]
        for index, case, r, problems in failures[12:]:
            last = (r.text.strip().splitlines() or [""])[-1]
            lines.append(f"  case {index} {case.describe()[:120]}: {problems[0][:80]} | "
                         f"{last[:160]!r}")
    return "\n".join(lines)


def test_cli_fuzz_corpus(sandbox, context, isolated, monkeypatch):
    indices = [int(ONLY)] if ONLY else range(COUNT)
    failures = []
    times: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for index in indices:
        case_dir = sandbox / "cases" / str(index)
        case_dir.mkdir(parents=True)
        case = make_case(SEED, index, context, case_dir)
        monkeypatch.setenv("LAYERFORGE_CONFIG_DIR", str(case_dir / "config"))
        before = snapshot(sandbox)
        t0 = time.perf_counter()
        with preserved_state(cwd=case_dir):
            r = run_cli(*case.argv)
        times[case.kind] += time.perf_counter() - t0
        counts[case.kind] += 1
        after = snapshot(sandbox)
        changed = {p: after.get(p) for p in set(before) | set(after)
                   if before.get(p) != after.get(p)}
        problems = check(case, r, changed, f"cases/{index}", sandbox)
        if problems:
            failures.append((index, case, r, problems))
        shutil.rmtree(case_dir, ignore_errors=True)
    total = time.perf_counter() - started
    summary = ", ".join(f"{k} {counts[k]} in {times[k]:.1f} s" for k in sorted(counts))
    print(f"\nCLI fuzz: {sum(counts.values())} cases in {total:.1f} s (seed {SEED}): {summary}")
    assert not failures, _report(failures)


# --- a few through the real program: the process boundary -----------------------------------
def _program(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = "",
             shell: str | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HOME": str(cwd), "LAYERFORGE_CONFIG_DIR": str(cwd / "config"),
                **(env or {})}
    command: str | list[str] = shell if shell else [LAYERFORGE, *args]
    return subprocess.run(command, cwd=cwd, env=full_env, input=stdin, capture_output=True,
                          text=True, timeout=240, shell=shell is not None, check=False,
                          encoding="utf-8", errors="replace")


def _assert_clean(proc: subprocess.CompletedProcess, codes: tuple[int, ...]) -> None:
    text = proc.stdout + proc.stderr
    assert proc.returncode in codes, (proc.returncode, text)
    assert not DEFECT.search(text) and "Exception ignored" not in text, text
    assert not RAW_CONTROL.search(text), text


def test_real_program_on_hostile_input(tmp_path, context):
    from engine.project import Project, save_project
    from engine.templates import load_template
    from tests.engine.export.helpers import chain

    project = load_template("mlp")
    project.name = HOSTILE[0]
    project.graphs = {HOSTILE[1]: project.graphs["model"]}
    save_project(project, tmp_path / "p.lforge")
    # a console that cannot show the names' characters: escaped, never a UnicodeEncodeError
    _assert_clean(_program("summary", "p.lforge", cwd=tmp_path,
                           env={"PYTHONIOENCODING": "ascii", "LC_ALL": "C"}), (2,))
    # the reader goes away after one line of a long table: no "Exception ignored ...
    # BrokenPipeError" at exit
    big = chain({"shape": [4]}, [(f"fc{i}", "Linear", {"out_features": 4}) for i in range(1500)])
    save_project(Project(name="big", graphs={"model": big}), tmp_path / "big.lforge")
    proc = _program(cwd=tmp_path, shell=f"'{LAYERFORGE}' summary big.lforge | head -n 1")
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == "graph model\n"
    # nonsense sampling options and a damaged run, through the real entry point
    run = tmp_path / "run"
    shutil.copytree(context.runs["lm"], run)
    _assert_clean(_program("sample", "run", "--seed", "100000000000000000000000", cwd=tmp_path),
                  (2,))
    (run / "weights.safetensors").write_bytes(b"\x10" + b"\0" * 7 + b"{")
    _assert_clean(_program("evaluate", "run", cwd=tmp_path), (2,))
    # the worker's own protocol on garbage: one failed event line, exit 2
    proc = _program("worker", cwd=tmp_path, stdin="not json\n")
    assert proc.returncode == 2 and '"failed"' in proc.stdout, proc
    assert "Traceback" not in proc.stdout + proc.stderr


def test_real_program_trains_through_its_worker_process(tmp_path):
    import json

    from tests.e2e.clifuzz.values import base_project

    (tmp_path / "p.lforge").write_text(json.dumps(base_project("mlp")))
    _assert_clean(_program("train", "p.lforge", "--out", "bad", "--set", "training.seed=1e23",
                           cwd=tmp_path), (2,))
    assert not (tmp_path / "bad").exists()
    _assert_clean(_program("train", "p.lforge", "--out", "run", "--quiet", cwd=tmp_path), (0,))
    assert (tmp_path / "run" / "weights.safetensors").is_file()


def test_real_program_onnx_export_writes_nothing_but_its_output(tmp_path, context):
    # onnxruntime writes a device id under ~/.cache (and sends usage telemetry) unless
    # told not to before it is imported
    home = tmp_path / "home"
    home.mkdir()
    _program("export", str(context.runs["mlp"]), "--format", "onnx", "--out", "exp",
             cwd=tmp_path, env={"HOME": str(home)})
    assert (tmp_path / "exp" / "model.onnx").is_file()
    assert list(home.iterdir()) == []
