"""Fit rules of text pairs, texts, sound and speech (engine.train.fit_text through
engine.train.fit) and the seq2seq project checks (engine.shapes.project_problems)."""

from __future__ import annotations

import pytest

from engine.data.facts import DataFacts
from engine.project import Edge, Graph, Node, Project, TaskSpec
from engine.shapes import project_problems
from engine.templates import load_template
from engine.train.fit import FIT_MODEL, check_fit, fit_project

SPECIAL = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")


def chain(*nodes: tuple[str, str, dict]) -> Graph:
    """A graph of nodes (id, type, params), each feeding the next."""
    ns = [Node(id=i, type=t, params=p) for i, t, p in nodes]
    return Graph(nodes=ns, edges=[Edge(src=a.id, dst=b.id) for a, b in zip(ns[:-1], ns[1:], strict=True)])


def pairs_facts(seq_len=40, target_len=15, source_vocab=50, target_vocab=20) -> DataFacts:
    return DataFacts("pairs:test.tsv", "tokens", (seq_len,), "long", "sequence",
                     vocab=SPECIAL + tuple(f"s{i}" for i in range(source_vocab - 4)),
                     target_vocab=SPECIAL + tuple(f"t{i}" for i in range(target_vocab - 4)),
                     target_shape=(target_len,))


def has(params: dict, **want) -> bool:
    return all(params.get(k) == v for k, v in want.items())


def messages(problems) -> list[str]:
    return [str(p) for p in problems]


# --- pairs -------------------------------------------------------------------------------------
def test_fit_sets_vocabularies_lengths_memory_and_the_output_width():
    project = load_template("translator")
    facts = pairs_facts()
    before = check_fit(project, facts)
    text = "\n".join(messages(before))
    assert "encoder/source: takes [N, 32] but pairs:test.tsv gives source ids [N, 40]" in text
    assert "decoder/source: has vocab 42 but pairs:test.tsv has 50 source tokens" in text
    assert "decoder/tokens: takes [N, 11] but pairs:test.tsv gives target ids [N, 14]" in text
    assert all(p.fix == FIT_MODEL for p in before)

    changes = fit_project(project, facts)
    enc, dec = project.graphs["encoder"], project.graphs["decoder"]
    assert has(enc.node("source").params, shape=[40], vocab=50, dtype="long")
    assert has(dec.node("tokens").params, shape=[14], vocab=20, dtype="long")
    assert has(dec.node("source").params, shape=[40], vocab=50)
    assert dec.node("memory").params["shape"] == [40, 64]
    assert dec.node("scores").params["out_features"] == 20
    assert "decoder/scores: set out_features 20" in changes
    assert check_fit(project, facts) == []
    assert fit_project(project, facts) == []  # a fitted project stays as it is


def test_a_wider_decoder_output_is_only_a_warning():
    project = load_template("translator")
    facts = pairs_facts(32, 12, 42, 30)
    fit_project(project, facts)
    project.graphs["decoder"].node("scores").params["out_features"] = 40
    (p,) = check_fit(project, facts)
    assert p.severity == "warning" and "the extra outputs are wasted" in p.message


def test_seq2seq_needs_pairs_and_pairs_need_seq2seq():
    project = load_template("translator")
    texts = DataFacts("builtin:sentiment", "tokens", (64,), "long", "class",
                      classes=("negative", "positive"), vocab=SPECIAL + ("a",))
    (p,) = check_fit(project, texts)
    assert "sequence to sequence needs pairs of texts" in p.message
    assert "builtin:dates" in p.message
    classifier = Project(graphs={"model": chain(("ids", "Input", {"shape": [32], "dtype": "long", "vocab": 42}),
                                                ("embed", "Embedding", {}),
                                                ("pool", "SequencePool", {}),
                                                ("head", "Linear", {"out_features": 2}),
                                                ("out", "Output", {}))})
    (p,) = check_fit(classifier, pairs_facts(32, 12, 42, 42))
    assert "set task.kind to seq2seq" in p.message


# --- the project's shape, whatever the data ----------------------------------------------------
def test_project_problems_name_what_the_two_graphs_need():
    project = load_template("translator")
    assert project_problems(project) == []

    missing = project.model_copy(deep=True)
    del missing.graphs["decoder"]
    assert "a seq2seq project needs a graph named 'decoder' (it writes the target text" in \
        "\n".join(messages(project_problems(missing)))

    renamed = project.model_copy(deep=True)
    dec = renamed.graphs["decoder"]
    dec.node("tokens").id = "target"
    for e in dec.edges:
        e.src = "target" if e.src == "tokens" else e.src
    text = "\n".join(messages(project_problems(renamed)))
    assert "decoder: the decoder needs an Input with the id 'tokens'" in text
    assert "decoder/target: the decoder's Inputs must have the ids 'tokens', 'memory'" in text

    wrong = project.model_copy(deep=True)
    wrong.graphs["decoder"].node("memory").params["shape"] = [32, 32]
    text = "\n".join(messages(project_problems(wrong)))
    assert ("decoder/memory: takes [N, 32, 32] but the encoder gives [N, 32, 64]: set its "
            "shape to [32, 64]") in text


def test_other_tasks_keep_their_graph_checks():
    project = load_template("translator")
    project.task = TaskSpec(kind="classification")
    assert "needs a graph named 'model'" in "\n".join(messages(project_problems(project)))


# --- texts and sound ---------------------------------------------------------------------------
def test_text_classifier_takes_the_vocabulary_length_and_classes():
    project = Project(graphs={"model": chain(
        ("ids", "Input", {"shape": [16], "dtype": "long", "vocab": 10}),
        ("embed", "Embedding", {"embedding_dim": 8, "padding": True}),
        ("pool", "SequencePool", {}),
        ("head", "Linear", {"out_features": 5}),
        ("out", "Output", {}))})
    facts = DataFacts("texts:reviews.csv", "tokens", (64,), "long", "class",
                      classes=("bad", "good", "neutral"), vocab=SPECIAL + tuple("abcdef"))
    fit_project(project, facts)
    g = project.graphs["model"]
    assert has(g.node("ids").params, shape=[64], vocab=10, dtype="long")
    assert g.node("head").params["out_features"] == 3
    assert check_fit(project, facts) == []


def _audio_project(kind: str, head: int) -> Project:
    return Project(task=TaskSpec(kind=kind), graphs={"model": chain(
        ("clip", "Input", {"shape": [1, 16000]}),
        ("mel", "LogMel", {"sample_rate": 16000, "n_mels": 40}),
        ("flat", "Reshape", {"shape": [40, -1]}),
        ("frames", "Permute", {"dims": [1, 0]}),
        ("head", "Linear", {"out_features": head}),
        *([] if kind == "speech" else [("pool", "SequencePool", {})]),
        ("out", "Output", {}))})


def test_sound_classifier_takes_the_clip_length_and_the_sample_rate():
    project = Project(graphs={"model": chain(
        ("clip", "Input", {"shape": [1, 16000]}),
        ("mel", "LogMel", {"sample_rate": 16000, "n_mels": 40}),
        ("flat", "Flatten", {}),
        ("head", "Linear", {"out_features": 8}),
        ("out", "Output", {}))})
    facts = DataFacts("audio:clips", "audio", (1, 8000), "float", "class",
                      classes=("yes", "no", "up"), sample_rate=8000)
    text = "\n".join(messages(check_fit(project, facts)))
    assert ("model/mel: reads audio at 16000 Hz but audio:clips clips are 8000 Hz, so its "
            "frequency bands would be wrong: set sample_rate to 8000") in text
    changes = fit_project(project, facts)
    g = project.graphs["model"]
    assert g.node("mel").params["sample_rate"] == 8000
    assert g.node("clip").params["shape"] == [1, 8000]
    assert g.node("head").params["out_features"] == 3
    assert "model/mel: set sample_rate 8000" in changes
    assert check_fit(project, facts) == []


def test_speech_model_gives_a_score_per_character_and_frame():
    project = _audio_project("speech", 10)
    vocab = ("_",) + tuple("abcdefg ")
    facts = DataFacts("speech:clips", "audio", (1, 16000), "float", "transcript",
                      target_vocab=vocab, target_shape=(20,), sample_rate=16000)
    (p,) = check_fit(project, facts)
    assert p.node == "head" and "has 8 characters and the CTC blank, 9 in all" in p.message
    fit_project(project, facts)
    assert project.graphs["model"].node("head").params["out_features"] == 9
    assert check_fit(project, facts) == []
    # 101 frames of audio cannot spell a 200-character transcript
    long = DataFacts("speech:clips", "audio", (1, 16000), "float", "transcript",
                     target_vocab=vocab, target_shape=(200,), sample_rate=16000)
    (p,) = check_fit(project, long)
    assert "gives 101 time frames but the longest transcript" in p.message
    assert "CTC needs at least one frame per character" in p.message


@pytest.mark.parametrize("kind", ["speech", "seq2seq"])
def test_new_tasks_say_what_data_they_need(kind):
    project = _audio_project(kind, 3) if kind == "speech" else load_template("translator")
    facts = DataFacts("builtin:keywords", "audio", (1, 16000), "float", "class",
                      classes=("yes", "no", "up"), sample_rate=16000)
    (p,) = check_fit(project, facts)
    assert p.graph == "task.kind"
    assert ("speech to text needs clips with transcripts" if kind == "speech"
            else "sequence to sequence needs pairs of texts") in p.message
