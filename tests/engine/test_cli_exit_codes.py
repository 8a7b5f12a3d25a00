"""Exit codes, never a traceback (issue 12, point 7): 2 for bad input, 1 for a failure at
run time, one sentence each, whatever the input or the disk does."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

import engine.cli.project_cmds as project_cmds
from engine.project import save_project
from engine.templates import load_template
from tests.engine.cli_helpers import RAW_CONTROL, run_cli, text_run, train_in_process
from tests.engine.train.helpers import tiny_mlp


def assert_one_sentence(r, code: int | tuple[int, ...], *needles: str) -> None:
    codes = code if isinstance(code, tuple) else (code,)
    assert r.escaped is None, r.escaped
    assert r.code in codes, (r.code, r.text)
    assert "Traceback" not in r.text and "internal error" not in r.text, r.text
    assert any(line.startswith("layerforge: ") for line in r.err.splitlines()), r.err
    assert not RAW_CONTROL.search(r.text)
    for needle in needles:
        assert needle in r.err, (needle, r.err)


# --- tmpfs mounts (root only; skipped elsewhere) -------------------------------------------
def _mount(path: Path, options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")


@pytest.fixture
def mounts(tmp_path):
    """mount(name, options) -> a fresh tmpfs folder, unmounted after the test."""
    made: list[Path] = []

    def mount(name: str, options: str) -> Path:
        path = tmp_path / f"{name}-{uuid.uuid4().hex[:8]}"
        _mount(path, options)
        made.append(path)
        return path

    yield mount
    for path in made:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("mlp") / "run"
    train_in_process(tiny_mlp(dataset__samples=200, training__epochs=1), run)
    return run


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    corpus = "".join(f"def f{i}(x):\n    return x * {i} + 1\n" for i in range(120))
    return text_run(tmp_path_factory.mktemp("lm"), corpus)[0]


# --- read-only and full disks ---------------------------------------------------------------
def test_new_on_a_read_only_file_system_says_so(mounts):
    ro = mounts("ro", "ro,size=64k")
    r = run_cli("new", str(ro / "x.lforge"), "--template", "mlp")
    assert_one_sentence(r, 1, "x.lforge", "read-only")  # the machine failed, not the input


def test_sample_out_on_a_read_only_file_system_says_so(mounts, lm_run):
    ro = mounts("ro", "ro,size=64k")
    r = run_cli("sample", str(lm_run), "--length", "5", "--out", str(ro / "s.txt"))
    assert_one_sentence(r, 1, "s.txt", "read-only")


@pytest.mark.parametrize("fmt", ["python", "safetensors", "pt2", "onnx"])
def test_export_on_a_full_disk_exits_1_and_leaves_nothing(mounts, mlp_run, fmt):
    full = mounts("full", "size=16k")
    r = run_cli("export", str(mlp_run), "--format", fmt, "--out", str(full / "out"))
    assert_one_sentence(r, 1, "disk is full", str(full / "out"))
    assert list(full.iterdir()) == []


def test_python_export_on_a_full_disk_without_a_mount(mlp_run, tmp_path, monkeypatch):
    # the same failure where no tmpfs can be mounted: the code file's write hits ENOSPC
    real = Path.write_text

    def full(self, *a, **kw):
        if self.name == "model.py":
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *a, **kw)

    monkeypatch.setattr(Path, "write_text", full)
    r = run_cli("export", str(mlp_run), "--format", "python", "--out", str(tmp_path / "o"))
    assert_one_sentence(r, 1, "disk is full")
    assert not (tmp_path / "o").exists()


# --- damaged files and nonsense values ------------------------------------------------------
@pytest.mark.parametrize("damage", [b"", b"\x10\x00\x00\x00\x00\x00\x00\x00{", b"garbage" * 10])
def test_evaluate_on_damaged_weights_names_the_file(mlp_run, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(mlp_run, run)
    (run / "weights.safetensors").write_bytes(damage)
    for command in (["evaluate", str(run)], ["sample", str(run)]):
        r = run_cli(*command)
        assert_one_sentence(r, 2, "weights.safetensors")


@pytest.mark.parametrize(("option", "value"), [
    ("--temperature", "nan"), ("--temperature", "inf"), ("--temperature", "-1"),
    ("--seed", "100000000000000000000000"), ("--seed", "-100000000000000000000000"),
    ("--top-k", "-3"), ("--length", "0"),
])
def test_sample_rejects_nonsense_values_naming_the_option(lm_run, option, value):
    r = run_cli("sample", str(lm_run), "--length", "5", option, value)
    assert_one_sentence(r, 2, option)


@pytest.mark.parametrize("seed", [10**23, -(10**23), 2**64])
def test_a_training_seed_out_of_range_is_refused_naming_the_field(tmp_path, seed):
    path = tmp_path / "p.lforge"
    doc = json.loads(load_template("mlp").to_json())
    doc["training"]["seed"] = seed
    path.write_text(json.dumps(doc))
    for command in (["validate", str(path)], ["train", str(path), "--out", str(tmp_path / "r")]):
        r = run_cli(*command)
        assert_one_sentence(r, 2, "training.seed")
    save_project(load_template("mlp"), path)
    r = run_cli("train", str(path), "--set", f"training.seed={seed}", "--out", str(tmp_path / "r"))
    assert_one_sentence(r, 2, "training.seed")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("setting", ["training.epochs=true", "training.lr=true",
                                     "dataset.val_fraction=false", "task.latent_dim=true",
                                     "training.patience=true"])
def test_set_refuses_booleans_for_numbers(tmp_path, setting):
    path = tmp_path / "p.lforge"
    save_project(load_template("mlp"), path)
    r = run_cli("train", str(path), "--set", setting, "--out", str(tmp_path / "r"))
    assert_one_sentence(r, 2, setting.split("=")[0])
    assert not (tmp_path / "r").exists()


def test_a_project_file_with_a_boolean_for_a_number_is_refused(tmp_path):
    path = tmp_path / "p.lforge"
    doc = json.loads(load_template("mlp").to_json())
    doc["training"]["epochs"] = True
    path.write_text(json.dumps(doc))
    r = run_cli("validate", str(path))
    assert_one_sentence(r, 2, "training.epochs")


# --- the top level: whatever escapes a command ----------------------------------------------
def _raising(exc: BaseException):
    def cmd(args):
        raise exc

    return cmd


def test_a_stray_os_error_is_one_sentence_exit_1(monkeypatch, tmp_path):
    err = OSError(errno.EROFS, "Read-only file system", str(tmp_path / "x\x1b[2J.lforge"))
    monkeypatch.setattr(project_cmds, "cmd_validate", _raising(err))
    r = run_cli("validate", "x")
    assert_one_sentence(r, 1, "x\\x1b[2J.lforge: the file system is read-only")


def test_running_out_of_memory_is_one_sentence_exit_1(monkeypatch):
    monkeypatch.setattr(project_cmds, "cmd_validate", _raising(MemoryError()))
    r = run_cli("validate", "x")
    assert_one_sentence(r, 1, "out of memory")


def test_a_defect_is_one_internal_error_line_exit_1(monkeypatch):
    monkeypatch.setattr(project_cmds, "cmd_validate", _raising(KeyError("boom\nmore")))
    monkeypatch.delenv("LAYERFORGE_DEBUG", raising=False)
    r = run_cli("validate", "x")
    assert r.escaped is None and r.code == 1 and "Traceback" not in r.text
    assert r.err.splitlines() == ["layerforge: internal error: KeyError: 'boom\\nmore' (please "
                                  "report this; LAYERFORGE_DEBUG=1 shows the details)"]
    monkeypatch.setenv("LAYERFORGE_DEBUG", "1")
    r = run_cli("validate", "x")
    assert r.code == 1 and "Traceback" in r.err  # asked for: the details, for the report


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no-state"])
def test_resume_from_a_damaged_checkpoint_names_the_file(mlp_run, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(mlp_run, run)
    last = run / "checkpoints" / "last.safetensors"
    if damage == "truncate":
        last.write_bytes(last.read_bytes()[:200])
    elif damage == "garbage":
        last.write_bytes(b"\x00" * 64)
    else:
        from safetensors.torch import load_file, save_file

        save_file(load_file(last), last)  # the tensors without the training state
    r = run_cli("train", "--resume", str(run), "--quiet")
    assert_one_sentence(r, (1, 2), "last.safetensors")
    assert "Training failed:" not in r.err  # a sentence, not an exception's name


def test_resume_of_a_run_whose_network_changed_says_so(mlp_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(mlp_run, run)
    snap = json.loads((run / "project.lforge").read_text())
    for node in snap["graphs"]["model"]["nodes"]:
        if node["type"] == "Linear" and node["params"].get("out_features", 0) > 3:
            node["params"]["out_features"] += 5
            break
    (run / "project.lforge").write_text(json.dumps(snap))
    r = run_cli("train", "--resume", str(run), "--quiet")
    assert_one_sentence(r, (1, 2), "last.safetensors", "network changed")


def test_a_damaged_runs_index_is_a_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERFORGE_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "runs.json").write_text(
        json.dumps({"version": 1, "runs": [{"id": 5}]}))
    r = run_cli("runs", "list")
    assert_one_sentence(r, 2, "runs.json", "bad run entry")
