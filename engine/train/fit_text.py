"""Fit rules of the language and speech data (used by engine.train.fit).

Text classification and sound classification need nothing beyond the classifier rules
(the Input takes the data's [seq_len] ids or [1, samples] clips, the last Linear gives one
score per class); this module adds what is particular to them and to the two new tasks:

- sound: every front-end block (Spectrogram, LogMel, MFCC) reads the clips at the data's
  sample rate, or its mel scale and frequency bands are wrong;
- speech to text: one graph "model", the Input [1, samples], the Output logits
  [frames, V] with V = the transcripts' characters plus the CTC blank, and at least as many
  frames as the longest transcript has characters;
- sequence to sequence: two graphs. The encoder's one Input takes the source ids
  [seq_len] (vocab = the source vocabulary) and its one Output is the memory [S, D]. The
  decoder's Inputs are named by id: ``tokens`` (the target so far, ids [target_len - 1],
  vocab = the target vocabulary), ``memory`` (the encoder's output, the same shape) and
  optionally ``source`` (the source ids again, for masks); its Output gives
  [target_len - 1, V] with V = the target vocabulary's size.

Torch-free, like engine.train.fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.data.facts import DataFacts, describe_kind
from engine.graph import Problem
from engine.project import Graph, Project
from engine.shapes import GraphAnalysis, analyze_graph
from engine.train.head import shape_text, source_of

if TYPE_CHECKING:
    from engine.blocks.base import TensorSpec

#: what the two new tasks need of the data's targets, and what the data has, in words
NEEDS = {
    "seq2seq": ("sequence", "sequence to sequence needs pairs of texts (a source and a target)"),
    "speech": ("transcript", "speech to text needs clips with transcripts"),
}
HAS = {"sequence": "holds pairs of texts", "transcript": "holds clips with transcripts"}
_TASK_OF = {"sequence": "seq2seq", "transcript": "speech"}

FRONT_ENDS = ("Spectrogram", "LogMel", "MFCC")
DECODER_INPUTS = ("tokens", "memory", "source")
_PASS_THROUGH = {"ReLU", "LeakyReLU", "GELU", "Tanh", "Sigmoid", "Dropout", "Identity",
                 "ELU", "SiLU", "Softplus", "Mish"}


def target_fix(kind: str, facts: DataFacts) -> str | None:
    """The fix when ``kind`` cannot use ``facts``' targets and text pairs or transcripts
    are involved (None otherwise)."""
    if facts.target in _TASK_OF:
        return f"set task.kind to {_TASK_OF[facts.target]}, or choose data with the targets it needs"
    if kind == "seq2seq":
        return ("choose pairs of texts (builtin:dates, or Pairs files: a TSV of source and "
                "target, or two aligned text files) or another task.kind")
    if kind == "speech":
        return ("choose clips with transcripts (builtin:spoken_digits, or Speech files: a "
                "folder of WAVs with a transcripts CSV) or another task.kind")
    return None


def _inputs(graph: Graph) -> list[str]:
    return [n.id for n in graph.nodes if n.type == "Input"]


def _outputs(graph: Graph) -> list[str]:
    return [n.id for n in graph.nodes if n.type == "Output"]


def last_linear(graph: Graph) -> str | None:
    """The Linear giving the (first) Output, through activations and dropout."""
    outs = _outputs(graph)
    cur = source_of(graph, outs[0]) if outs else None
    for _ in range(8):
        node = graph.node(cur) if cur else None
        if node is None or node.type == "Linear":
            return node.id if node is not None else None
        if node.type not in _PASS_THROUGH:
            return None
        cur = source_of(graph, node.id)
    return None


def _set_params(graph: Graph, gname: str, node_id: str, want: dict[str, Any]) -> list[str]:
    """Set ``want`` on the node's params in place; one sentence when something changed."""
    node = graph.node(node_id)
    assert node is not None
    said = [f"{k} {v}" for k, v in want.items() if node.params.get(k) != v]
    if not said:
        return []
    node.params = {**node.params, **want}
    return [f"{gname}/{node_id}: set {', '.join(said)}"]


# --- sound: the front end's sample rate -----------------------------------------------------
def has_front_end(graph: Graph) -> bool:
    """The graph turns sound into features itself (a Spectrogram, LogMel or MFCC block):
    it is made for sound clips."""
    return any(n.type in FRONT_ENDS for n in graph.nodes)


def front_end_problems(graph: Graph, gname: str, facts: DataFacts) -> list[Problem]:
    """A front-end block whose sample rate is not the clips'."""
    rate = facts.sample_rate
    if not rate:
        return []
    return [Problem(gname, n.id, f"reads audio at {n.params.get('sample_rate', 16000)} Hz but "
                    f"{facts.source} clips are {rate} Hz, so its frequency bands would be "
                    f"wrong: set sample_rate to {rate}")
            for n in graph.nodes
            if n.type in FRONT_ENDS and n.params.get("sample_rate", 16000) != rate]


def fit_front_ends(graph: Graph, gname: str, facts: DataFacts) -> list[str]:
    """Set every front-end block's sample rate to the clips'."""
    if not facts.sample_rate:
        return []
    changes: list[str] = []
    for n in graph.nodes:
        if n.type in FRONT_ENDS:
            changes += _set_params(graph, gname, n.id, {"sample_rate": facts.sample_rate})
    return changes


# --- speech to text ---------------------------------------------------------------------------
def speech_output_problems(graph: Graph, gname: str, out_node: str, out: TensorSpec,
                           facts: DataFacts, src: str) -> list[Problem]:
    """What is wrong with a speech model's output ``out`` for CTC over the data's
    characters."""
    v = len(facts.target_vocab or ())
    shape = tuple(out.shape)
    head = last_linear(graph)
    if len(shape) != 2:
        return [Problem(gname, out_node, f"gives {shape_text(shape)} but speech to text gives "
                        f"a score per character for each time frame, [N, frames, {v}]: turn "
                        f"the features into a sequence [frames, features] (Reshape), and end "
                        f"with a Linear of {v} outputs")]
    frames, have = shape
    probs = []
    if have is not None and v and have != v:
        where = head or out_node
        fix = f": set out_features to {v}" if head else f": end with a Linear of {v} outputs"
        probs.append(Problem(gname, where, f"gives {have} scores per frame but {src} has {v - 1} "
                             f"characters and the CTC blank, {v} in all{fix}"))
    longest = facts.target_shape[0] if facts.target_shape else 0
    if frames is not None and longest and frames < longest:
        probs.append(Problem(gname, out_node, f"gives {frames} time frames but the longest "
                             f"transcript of {src} has {longest} characters, and CTC needs at "
                             f"least one frame per character: downsample time less (a smaller "
                             f"hop_length or stride)"))
    return probs


def fit_speech_head(graph: Graph, gname: str, facts: DataFacts) -> list[str]:
    """Set the last Linear's width to the characters plus the blank."""
    head = last_linear(graph)
    v = len(facts.target_vocab or ())
    return _set_params(graph, gname, head, {"out_features": v}) if head and v else []


# --- sequence to sequence: the project's shape ------------------------------------------------
def seq2seq_structure(project: Project, analyses: dict[str, GraphAnalysis]) -> list[Problem]:
    """What a seq2seq project needs of its two graphs, whatever the data: an encoder with
    one Input and one Output, a decoder whose Inputs are ``tokens`` and ``memory`` (and
    maybe ``source``), the memory Input taking what the encoder gives."""
    probs = []
    for name, role in (("encoder", "reads the source text"),
                       ("decoder", "writes the target text, attending to the encoder's output")):
        if name not in project.graphs:
            probs.append(Problem(name, None, f"a seq2seq project needs a graph named {name!r} "
                                 f"(it {role})"))
    if probs:
        return probs
    enc, dec = project.graphs["encoder"], project.graphs["decoder"]
    ins, outs = _inputs(enc), _outputs(enc)
    if len(ins) != 1:
        probs.append(Problem("encoder", None, f"the encoder needs exactly one Input, the source "
                             f"token ids, but has {len(ins)}"))
    if len(outs) != 1:
        probs.append(Problem("encoder", None, f"the encoder needs exactly one Output, its memory "
                             f"[N, S, D] that the decoder attends to, but has {len(outs)}"))
    dins = _inputs(dec)
    for nid in dins:
        if nid not in DECODER_INPUTS:
            probs.append(Problem("decoder", nid, f"the decoder's Inputs must have the ids "
                                 f"'tokens', 'memory' and (optionally) 'source', not {nid!r}: "
                                 f"rename it to the one it is, or remove it"))
    if "tokens" not in dins:
        probs.append(Problem("decoder", None, "the decoder needs an Input with the id 'tokens': "
                             "the target text so far, token ids (dtype long), from which it "
                             "predicts each next token"))
    if "memory" not in dins:
        probs.append(Problem("decoder", None, "the decoder needs an Input with the id 'memory': "
                             "the encoder's output, which its cross-attention reads"))
    if len(_outputs(dec)) != 1:
        probs.append(Problem("decoder", None, f"the decoder needs exactly one Output, the next "
                             f"token's scores [N, T, vocab], but has {len(_outputs(dec))}"))
    for nid, what in (("tokens", "the target so far"), ("source", "the source text")):
        node = dec.node(nid) if nid in dins else None
        if node is not None and node.params.get("dtype", "float") != "long":
            probs.append(Problem("decoder", nid, f"takes real values but {what} is token ids: "
                                 f"set dtype to long"))
    probs += _memory_problem(project, analyses)
    return probs


def _memory_problem(project: Project, analyses: dict[str, GraphAnalysis]) -> list[Problem]:
    enc_a = analyses.get("encoder")
    dec = project.graphs["decoder"]
    node = dec.node("memory")
    if enc_a is None or not enc_a.ok or node is None or len(enc_a.structure.outputs) != 1:
        return []
    given = enc_a.output_specs()[0]
    if given is None:
        return []
    if node.params.get("dtype", "float") != "float":
        return [Problem("decoder", "memory", "takes token ids but the encoder's memory is real "
                        "values: set dtype to float")]
    have = tuple(None if d == -1 else d for d in node.params.get("shape", ()))
    if have != tuple(given.shape):
        return [Problem("decoder", "memory", f"takes {shape_text(have)} but the encoder gives "
                        f"{shape_text(given.shape)}: set its shape to "
                        f"{[-1 if d is None else d for d in given.shape]}")]
    return []


# --- sequence to sequence: against the data ----------------------------------------------------
def seq2seq_problems(project: Project, facts: DataFacts, src: str) -> list[Problem]:
    """Problems between a seq2seq project and pairs of texts ``facts``."""
    analyses = {n: analyze_graph(project.graphs[n], n, project.graphs)
                for n in ("encoder", "decoder") if n in project.graphs}
    probs = seq2seq_structure(project, analyses)
    if probs:
        return probs
    for name in ("encoder", "decoder"):
        if not analyses[name].ok:
            return list(analyses[name].errors)
    seq_len, target_len = facts.input_shape[0], facts.target_shape[0]
    source_vocab = len(facts.vocab or ())
    target_vocab = len(facts.target_vocab or facts.vocab or ())
    want = {("encoder", _inputs(project.graphs["encoder"])[0]): (seq_len, source_vocab, "source"),
            ("decoder", "tokens"): (target_len - 1, target_vocab, "target"),
            ("decoder", "source"): (seq_len, source_vocab, "source")}
    for (gname, nid), (length, vocab, side) in want.items():
        a = analyses[gname]
        if nid in a.nodes and a.nodes[nid].out is not None:
            probs += _ids_problem(gname, nid, a.nodes[nid].out, length, vocab, side, src)
    out = analyses["decoder"].output_specs()[0]
    if out is not None:
        probs += _logits_problems(project.graphs["decoder"],
                                  analyses["decoder"].structure.outputs[0], out,
                                  target_len - 1, target_vocab, src)
    return probs


def _ids_problem(gname: str, nid: str, spec: TensorSpec, length: int, vocab: int, side: str,
                 src: str) -> list[Problem]:
    if spec.dtype != "long":
        return [Problem(gname, nid, f"takes {describe_kind(spec.shape, spec.dtype)} but the "
                        f"{side} text is token ids: set dtype to long")]
    probs = []
    if tuple(spec.shape) not in ((length,), (None,)):
        probs.append(Problem(gname, nid, f"takes {shape_text(spec.shape)} but {src} gives "
                             f"{side} ids {shape_text((length,))}: set shape to [{length}]"))
    if vocab and (spec.vocab or 0) < vocab:
        probs.append(Problem(gname, nid, f"has vocab {spec.vocab} but {src} has {vocab} "
                             f"{side} tokens: set vocab to {vocab}"))
    return probs


def _logits_problems(graph: Graph, out_node: str, out: TensorSpec, length: int, vocab: int,
                     src: str) -> list[Problem]:
    shape = tuple(out.shape)
    if len(shape) != 2:
        return [Problem("decoder", out_node, f"gives {shape_text(shape)} but the decoder gives "
                        f"a score per target token at every position, [N, {length}, {vocab}]: "
                        f"end it with a Linear of {vocab} outputs on the sequence")]
    steps, have = shape
    head = last_linear(graph)
    where = head or out_node
    fix = f": set out_features to {vocab}" if head else f": end with a Linear of {vocab} outputs"
    probs = []
    if steps is not None and steps != length:
        probs.append(Problem("decoder", out_node, f"gives {steps} positions but reads "
                             f"{length} target tokens: keep one position per token (no "
                             f"pooling or striding in the decoder)"))
    if have is not None and vocab and have < vocab:
        probs.append(Problem("decoder", where, f"gives {have} scores per position but {src} "
                             f"has {vocab} target tokens{fix}"))
    elif have is not None and vocab and have > vocab:
        probs.append(Problem("decoder", where, f"gives {have} scores per position but {src} "
                             f"has only {vocab} target tokens; the extra outputs are "
                             f"wasted{fix}", "warning"))
    return probs


def fit_seq2seq(project: Project, facts: DataFacts) -> list[str]:
    """Fit both graphs in place to pairs of texts: the Inputs' shapes and vocabularies, the
    decoder's memory Input to what the (fitted) encoder gives, the last Linear's width to
    the target vocabulary. One sentence per change."""
    enc, dec = project.graphs.get("encoder"), project.graphs.get("decoder")
    if enc is None or dec is None or facts.target != "sequence":
        return []
    seq_len, target_len = facts.input_shape[0], facts.target_shape[0]
    source_vocab = len(facts.vocab or ())
    target_vocab = len(facts.target_vocab or facts.vocab or ())
    changes: list[str] = []
    enc_ins = _inputs(enc)
    if len(enc_ins) == 1:
        changes += _set_params(enc, "encoder", enc_ins[0],
                               {"shape": [seq_len], "dtype": "long", "vocab": source_vocab})
    dins = _inputs(dec)
    if "tokens" in dins:
        changes += _set_params(dec, "decoder", "tokens",
                               {"shape": [target_len - 1], "dtype": "long", "vocab": target_vocab})
    if "source" in dins:
        changes += _set_params(dec, "decoder", "source",
                               {"shape": [seq_len], "dtype": "long", "vocab": source_vocab})
    a = analyze_graph(enc, "encoder", project.graphs)
    given = a.output_specs()[0] if a.ok and len(a.structure.outputs) == 1 else None
    if "memory" in dins and given is not None:
        changes += _set_params(dec, "decoder", "memory", {
            "shape": [-1 if d is None else d for d in given.shape], "dtype": "float"})
    head = last_linear(dec)
    if head and target_vocab:
        changes += _set_params(dec, "decoder", head, {"out_features": target_vocab})
    return changes
