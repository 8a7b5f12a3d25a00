"""`layerforge export` and `layerforge import`: clear messages, exit 2, no partial files."""

from __future__ import annotations

import pytest

from engine.cli import main
from engine.project import load_project
from engine.templates import template_path
from tests.engine.export.helpers import files_under, make_run

NET = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x
'''


def test_export_run_folder_succeeds(tmp_path, capsys):
    run = make_run(tmp_path / "run", "mlp")
    assert main(["export", str(run), "--format", "safetensors", "--out", str(tmp_path / "o")]) == 0
    assert files_under(tmp_path / "o") == ["README.md", "model.safetensors"]
    assert "exported graph model as safetensors" in capsys.readouterr().out


def test_export_project_file_warns_untrained(tmp_path, capsys):
    assert main(["export", str(template_path("mlp")), "--format", "safetensors",
                 "--out", str(tmp_path / "o")]) == 0
    assert "exporting UNTRAINED weights" in capsys.readouterr().err
    assert "Untrained weights" in (tmp_path / "o" / "README.md").read_text()


def test_run_folder_without_weights_names_the_missing_file(tmp_path, capsys):
    run = make_run(tmp_path / "run", "mlp", weights=False)
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "o")]) == 2
    assert "weights.safetensors is missing" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unwritable_target_folder_exits_2_without_files(tmp_path, capsys):
    run = make_run(tmp_path / "run", "mlp")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code = main(["export", str(run), "--format", "python", "--out", str(blocker / "o")])
    assert code == 2
    assert "cannot write to" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "run"]


def test_existing_folder_keeps_other_files_and_no_staging_left(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["export", str(template_path("mlp")), "--format", "safetensors",
                 "--out", str(out)]) == 0
    assert files_under(out) == ["README.md", "model.safetensors", "notes.txt"]


def test_gan_project_needs_graph_choice(tmp_path, capsys):
    code = main(["export", str(template_path("dcgan")), "--format", "safetensors",
                 "--out", str(tmp_path / "o")])
    assert code == 2
    assert "--graph" in capsys.readouterr().err


def test_import_writes_laid_out_project_and_weights(tmp_path, monkeypatch, capsys):
    (tmp_path / "nets.py").write_text(NET)
    monkeypatch.chdir(tmp_path)
    code = main(["import", "nets.py:Net", "--input-shape", "6", "--out", "net.lforge",
                 "--weights"])
    assert code == 0, capsys.readouterr().err
    graph = load_project(tmp_path / "net.lforge").graphs["model"]
    assert [n.type for n in graph.nodes] == ["Input", "Linear", "GELU", "Linear", "Output"]
    assert len({n.position for n in graph.nodes}) == 5
    assert (tmp_path / "net.safetensors").is_file()


def test_import_untraceable_module_exits_2_without_files(tmp_path, monkeypatch, capsys):
    (tmp_path / "nets.py").write_text(NET)
    monkeypatch.chdir(tmp_path)
    code = main(["import", "nets.py:Branchy", "--input-shape", "4", "--out", "b.lforge"])
    err = capsys.readouterr().err
    assert code == 2
    assert "torch.fx cannot trace Branchy:" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__") == ["nets.py"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--input-shape", "1,x"], "expected whole numbers"),
    (["--input-shape", "4", "--dtype", "long"], "needs --vocab"),
])
def test_import_bad_arguments_exit_2(tmp_path, capsys, argv, message):
    code = main(["import", "nets.py:Net", *argv, "--out", str(tmp_path / "n.lforge")])
    assert code == 2
    assert message in capsys.readouterr().err


def test_export_creates_a_missing_parent_folder(tmp_path, capsys, monkeypatch):
    run = make_run(tmp_path / "run", "mlp")
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(run), "--format", "safetensors", "--out", "export/safetensors"]) == 0
    assert files_under(tmp_path / "export") == ["safetensors", "safetensors/README.md",
                                                "safetensors/model.safetensors"]
    assert not [p for p in tmp_path.rglob(".layerforge-export-*")]
