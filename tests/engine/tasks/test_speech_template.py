"""The "Speech to text (CTC)" template: it fits the built-in spoken digits (frames enough
for every transcript, one score per character and the blank) and trains as it is."""

from __future__ import annotations

import math

import torch

from engine.compile import compile_graph
from engine.data.audio import sets
from engine.data.audio.facts import audio_facts
from engine.data.core import DataBundle, Split
from engine.shapes import analyze_graph
from engine.tasks import SpeechTask
from engine.tasks.speech import frames_needed, speech_fit_problem
from engine.templates import load_template


def template_output():
    project = load_template("speech_ctc")
    graph = project.graphs["model"]
    analysis = analyze_graph(graph, "model", project.graphs)
    assert analysis.ok, analysis.errors
    out = next(analysis.nodes[n.id].out for n in graph.nodes if n.type == "Output")
    return project, analysis, out


def test_template_is_a_speech_project_on_spoken_digits():
    project = load_template("speech_ctc")
    assert project.name == "Speech to text (CTC)"
    assert project.task.kind == "speech"
    assert (project.dataset.source, project.dataset.name) == ("builtin", "spoken_digits")
    assert project.training.monitor == "val_cer"
    assert "CER" in project.notes or "character error rate" in project.notes


def test_template_output_fits_the_spoken_digits():
    project, _analysis, out = template_output()
    facts = audio_facts(project.dataset)
    assert facts is not None and facts.target == "transcript"
    frames, scores = out.shape
    assert scores == len(facts.target_vocab)
    texts = sets.words_of("spoken_digits", sets.sample_count(project.dataset),
                          sets.generation_seed(project.dataset))[1]
    longest = max(frames_needed(t) for t in texts)
    assert speech_fit_problem(frames, longest) is None
    # not by a hair: the network keeps room for slower speech than the generator's
    assert frames >= 3 * longest


def test_template_compiles_and_takes_a_ctc_step():
    project, analysis, out = template_output()
    facts = audio_facts(project.dataset)
    model = compile_graph(project.graphs["model"], "model", analysis=analysis,
                          library=project.graphs)
    vocab = list(facts.target_vocab)
    texts = ["three three", "seven", "one two", "zero"]
    y = torch.full((len(texts), 12), -1, dtype=torch.long)
    for i, t in enumerate(texts):
        y[i, :len(t)] = torch.tensor([vocab.index(c) for c in t])
    g = torch.Generator().manual_seed(0)
    x = 0.1 * torch.randn(len(texts), *facts.input_shape, generator=g)
    bundle = DataBundle(train=Split(x, y), val=Split(x, y), test=None, kind="audio",
                        input_shape=facts.input_shape, input_dtype="float",
                        target="transcript", target_vocab=vocab, target_shape=(12,),
                        sample_rate=facts.sample_rate)
    task = SpeechTask(project.task, bundle, {"model": model})
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(name, loss):
        opt.zero_grad()
        loss.backward()
        opt.step()

    loss = float(task.train_step(x, y, step)["loss"])
    assert math.isfinite(loss) and loss > 0
    metrics = task.evaluate(bundle.val, 4)
    assert {"loss", "cer", "wer", "samples", "beam_width"} <= set(metrics)
    assert len(metrics["samples"]) == len(texts)
    assert out.shape[0] == model(x[:1]).shape[1]  # the analytic frames are the real ones
