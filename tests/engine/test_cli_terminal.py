"""Names from files and hosts reach the terminal and the model card escaped (issue 12, point 3).

Graph names, node ids, block types, class-folder names, dataset paths, generated text and the
runs/hosts index may hold ANSI escape sequences, carriage returns, newlines or bidi overrides:
printed raw they clear the screen or forge lines. The model card is Markdown rendered as
HTML: a name must not inject markup there.
"""

from __future__ import annotations

import json

import pytest

from engine.project import Graph, Node, Project, save_project
from engine.templates import load_template
from engine.terminal import for_terminal
from tests.engine.cli_helpers import HOSTILE, RAW_CONTROL, image_folder_run, run_cli, text_run


def assert_terminal_safe(text: str) -> None:
    raw = RAW_CONTROL.findall(text)
    assert not raw, f"raw control characters {raw!r} in:\n{text!r}"
    forged = [line for line in text.splitlines() if line.lstrip().startswith("forged")]
    assert not forged, f"a name started a line of its own: {forged!r}"


def test_for_terminal_shows_control_characters_as_escapes():
    assert for_terminal("a\x1b[2Jb\r\nc\td") == "a\\x1b[2Jb\\r\\nc\\td"
    assert for_terminal("\u202egnp\x9b\x7f\udcff") == "\\u202egnp\\x9b\\x7f\\udcff"
    assert for_terminal("café ✓ 名前") == "café ✓ 名前"  # printable text is left alone
    assert for_terminal("one\ntwo\tx\r\x1b", keep_lines=True) == "one\ntwo\tx\\r\\x1b"


def test_md_text_makes_names_inert_markdown():
    from engine.export.card import md_text

    assert md_text("<b>&amp;") == "&lt;b&gt;&amp;amp;"
    assert md_text("[x](javascript:alert(1)) `c` *e* _u_ |t|") == (
        "\\[x\\](javascript:alert(1)) \\`c\\` \\*e\\* \\_u\\_ \\|t\\|")
    assert md_text("- item", line_start=True) == "\\- item"
    assert md_text("1. item", line_start=True) == "1\\. item"
    assert md_text("0.9731") == "0.9731"  # numbers mid-line stay as they are
    assert md_text("a\nb\x1b") == "a\\\\nb\\\\x1b"  # shown as the escape, backslash kept
    assert md_text("x" * 300, 10) == "x" * 10 + "…"


@pytest.fixture
def hostile_project(tmp_path):
    """A valid mlp whose project and graph names are hostile, plus a second graph whose
    node ids and block types are."""
    project = load_template("mlp")
    project.name = HOSTILE[4]
    graphs = {"\x1b[2Jg\nforged": project.graphs["model"]}
    graphs["model"] = project.graphs["model"]
    graphs["bad\rforged"] = Graph(nodes=[Node(id=name, type=name) for name in HOSTILE])
    project.graphs = graphs
    path = tmp_path / "hostile.lforge"
    save_project(project, path)
    return path


@pytest.mark.parametrize("command", [["validate"], ["summary"]])
def test_validate_and_summary_escape_graph_names_node_ids_and_types(hostile_project, command):
    r = run_cli(*command, str(hostile_project))
    assert r.code == 2 and r.escaped is None
    assert_terminal_safe(r.text)
    assert "bad\\rforged/a\\x1b[2Jb" in r.text  # the names are still shown, as escapes


def test_train_refusal_lists_problems_escaped(hostile_project, tmp_path):
    r = run_cli("train", str(hostile_project), "--out", str(tmp_path / "run"))
    assert r.code == 2 and "the project has errors" in r.err
    assert_terminal_safe(r.text)


@pytest.fixture(scope="module")
def hostile_classes_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("classes") / "data\x1b]0;title\x07"
    root.mkdir()
    return image_folder_run(root, [HOSTILE[0], HOSTILE[1], HOSTILE[3], "x<script>"])[0]


def test_evaluate_escapes_class_names_and_dataset_path(hostile_classes_run):
    r = run_cli("evaluate", str(hostile_classes_run))
    assert r.code == 0, r.err
    assert_terminal_safe(r.text)
    assert "a\\x1b[2Jb" in r.out  # the confusion matrix labels the class, escaped


def test_model_card_escapes_class_names_as_markdown_and_html(hostile_classes_run, tmp_path):
    r = run_cli("export", str(hostile_classes_run), "--format", "safetensors",
                "--out", str(tmp_path / "exp"))
    assert r.code == 0, r.err
    assert_terminal_safe(r.text)
    card = (tmp_path / "exp" / "README.md").read_text(encoding="utf-8")
    assert_card_safe(card)
    assert "x&lt;script&gt;" in card


def assert_card_safe(card: str) -> None:
    assert not RAW_CONTROL.findall(card.replace("\r", "")), "raw control characters in the card"
    for tag in ("<script", "<img", "<\\script", "</"):
        assert tag not in card, f"unescaped HTML {tag!r} in the card"


def test_model_card_escapes_the_project_and_graph_names(tmp_path):
    project = load_template("mlp")
    project.name = "<img src=x onerror=alert(1)>\x1b[2J\n# heading"
    project.graphs = {"`<script>`*x*\r\n[link](javascript:alert(1))": project.graphs["model"]}
    path = tmp_path / "p.lforge"
    save_project(project, path)
    graph = next(iter(project.graphs))
    r = run_cli("export", str(path), "--format", "safetensors", "--out", str(tmp_path / "exp"),
                "--graph", graph)
    assert r.code == 0, r.err
    assert_terminal_safe(r.text)
    card = (tmp_path / "exp" / "README.md").read_text(encoding="utf-8")
    assert_card_safe(card)
    title = card.splitlines()[0]
    assert title.startswith("# &lt;img src=x onerror=alert(1)&gt;\\\\x1b\\[2J")
    assert "\\[link\\]" in title and "\\`" in title and "\n# heading" not in card


@pytest.fixture(scope="module")
def hostile_text_run(tmp_path_factory):
    corpus = "".join(f"def f{i}(x):\r\n    return x * {i} + 1  # \x1b[2J\u202e\n" for i in range(150))
    return text_run(tmp_path_factory.mktemp("text"), corpus)[0]


def test_sample_escapes_control_characters_but_keeps_lines(hostile_text_run, tmp_path):
    r = run_cli("sample", str(hostile_text_run), "--prompt", "\x1b[2J\r\u202e", "--length", "60",
                "--temperature", "1.5", "--out", str(tmp_path / "s.txt"))
    assert r.code == 0, r.err
    assert_terminal_safe(r.text)
    assert r.out.startswith("\\x1b[2J\\r\\u202e")
    # the file holds the model's text as it is: it is data, not terminal output
    assert (tmp_path / "s.txt").read_bytes().startswith("\x1b[2J\r\u202e".encode())


def test_runs_list_and_remote_list_escape_the_index(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERFORGE_CONFIG_DIR", str(tmp_path))
    (tmp_path / "runs.json").write_text(json.dumps({"version": 1, "runs": [
        {"id": HOSTILE[0], "host": "local", "local_dir": str(tmp_path / "x\x1b[2J"),
         "project": HOSTILE[2], "started": HOSTILE[1]}]}))
    (tmp_path / "hosts.json").write_text(json.dumps({"version": 1, "hosts": [
        {"name": "h\x1b[2J", "host": "127.0.0.1\rforged", "user": "u\x1b]0;t\x07",
         "python": HOSTILE[3], "base_dir": HOSTILE[5]}]}))
    for command in (["runs", "list"], ["remote", "list"]):
        r = run_cli(*command)
        assert r.code == 0, r.err
        assert_terminal_safe(r.text)
        assert "\\x1b[2J" in r.out


def test_new_prints_the_file_name_escaped(tmp_path):
    r = run_cli("new", str(tmp_path / "n\rforged\x1b[2J.lforge"), "--template", "mlp")
    assert r.code == 0 and r.escaped is None
    assert_terminal_safe(r.text)
    assert "n\\rforged\\x1b[2J.lforge" in r.out


def test_json_outputs_stay_parseable_with_hostile_names(hostile_project):
    r = run_cli("summary", str(hostile_project), "--json")
    assert r.code == 2
    assert_terminal_safe(r.out)
    doc = json.loads(r.out)
    assert doc["name"] == HOSTILE[4]  # JSON carries the exact name, escaped by JSON itself


def test_problem_free_project_prints_no_escapes(tmp_path):
    path = tmp_path / "ok.lforge"
    save_project(Project(name="plain", graphs={"model": load_template("mlp").graphs["model"]}),
                 path)
    r = run_cli("validate", str(path))
    assert r.code == 0 and "\\x" not in r.out


def test_remote_add_escapes_the_host_it_echoes(tmp_path, monkeypatch):
    """Found by the CLI fuzz test: `remote add h2 --host 'c\\rforged'` echoed the raw CR."""
    monkeypatch.setenv("LAYERFORGE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    r = run_cli("remote", "add", "h2", "--host", "c\rforged")
    assert_terminal_safe(r.out + r.err)
    assert "c\\rforged" in r.out
