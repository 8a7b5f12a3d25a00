"""Which LayerForge block each ONNX node came from, and the blocks flagged before an int8
export: those ONNX Runtime leaves in float ("will not quantize") and those whose numbers
suit 8 bits badly ("may quantize badly").

The exporter records each node's module path in the node metadata
``pkg.torch.onnx.name_scopes`` (``['', 'conv1', 'conv2d']``: the top-level block is the
second entry). Blocks emitted as plain functions (Add, Flatten, GlobalAvgPool) get the name
of the traced operation instead (``add_40``); their nodes are matched to the block whose
inputs and consumers in the graph are the same as theirs. A convolution folded with the
BatchNorm after it names both blocks (``stem + stem_bn``): its weight is ``stem.weight``.
"""

from __future__ import annotations

import ast
from collections import defaultdict

import numpy as np

SCOPES = "pkg.torch.onnx.name_scopes"
#: ops that only move, reshape or compare values: never a reason to flag a block
GLUE = frozenset({
    "Constant", "ConstantOfShape", "Shape", "Size", "Cast", "CastLike", "Identity", "Reshape",
    "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Slice", "Gather",
    "GatherElements", "GatherND", "Expand", "Range", "Equal", "Less", "LessOrEqual",
    "Greater", "GreaterOrEqual", "Not", "And", "Or", "Where", "Dropout", "Split", "Tile",
    "NonZero", "ScatterND", "Trilu", "Max", "Min", "ArgMax", "MaxPool", "Relu", "Clip", "Pad",
})
#: quantized ops that only pass int8 values on: quantizing them alone changes nothing
PASSIVE = frozenset({"MaxPool", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten",
                     "Resize", "Split", "Pad", "Relu", "Clip", "ArgMax", "Where", "Gather"})
#: what an op left in float is, for the flag's sentence
FAMILIES = {"LSTM": "recurrent", "GRU": "recurrent", "RNN": "recurrent",
            "LayerNormalization": "normalisation", "BatchNormalization": "normalisation",
            "InstanceNormalization": "normalisation", "GroupNormalization": "normalisation",
            "ConvTranspose": "transposed convolution", "ReduceMean": "averaging",
            "STFT": "spectrogram", "DFT": "spectrogram", "Erf": "GELU", "Gelu": "GELU"}
#: a tensor whose calibrated range is this many times the spread of its central 99.8% of
#: values leaves those values fewer than 256 / OUTLIER_RATIO int8 steps
OUTLIER_RATIO = 10.0
STATS_SAMPLES = 64  # calibration samples the activation statistics look at
STATS_VALUES = 1_000_000  # values per tensor kept for the percentiles


def float_tensors(model) -> set[str]:
    """Names of the float32 tensors of ``model`` (after ONNX shape inference): integer
    shape arithmetic (Sub, Div on sizes) is nothing to quantize."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    return {v.name for v in [*inferred.graph.value_info, *inferred.graph.output]
            if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}


def quantized_ops() -> frozenset[str]:
    """Op types ONNX Runtime's static QOperator quantization has int8 kernels for."""
    from onnxruntime.quantization.registry import QLinearOpsRegistry

    return frozenset(QLinearOpsRegistry)


def node_blocks(model, structure, exported=None) -> dict[str, str]:
    """ONNX node name -> the block (or ``a + b`` blocks) it came from; nodes that cannot be
    attributed (shape arithmetic, constants) are left out. ``exported``: the model as the
    exporter wrote it, when ``model`` is a rewrite of it that may have lost the node
    metadata (ONNX Runtime's pre-processing keeps the node names)."""
    ids = [n for n in structure.order if n in structure.live]
    known = set(ids)
    initializers = {i.name for i in model.graph.initializer}
    scopes = {n.name: _scope(n) for n in exported.graph.node} if exported is not None else {}
    owners: dict[str, tuple[str, ...]] = {}
    for node in model.graph.node:
        blocks = []
        scope = _scope(node) or scopes.get(node.name)
        if scope in known:
            blocks.append(scope)
        for name in node.input:  # a folded Conv+BatchNorm: the weight names the conv
            prefix = name.split(".", 1)[0]
            if name in initializers and "." in name and prefix in known and prefix not in blocks:
                blocks.insert(0, prefix)
        if blocks:
            owners[node.name] = tuple(blocks)
    _match_function_blocks(model, structure, ids, owners)
    order = {nid: i for i, nid in enumerate(ids)}
    return {n: " + ".join(sorted(b, key=order.__getitem__)) for n, b in owners.items()}


def _scope(node) -> str | None:
    for prop in node.metadata_props:
        if prop.key == SCOPES:
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                return None
            return scopes[1] if isinstance(scopes, list) and len(scopes) > 1 else None
    return None


def _match_function_blocks(model, structure, ids: list[str],
                           owners: dict[str, tuple[str, ...]]) -> None:
    """Give each group of connected unattributed nodes the one block whose sources are
    among the blocks feeding the group and whose consumers are among those it feeds."""
    producer: dict[str, str] = {}  # tensor -> node name
    consumers: dict[str, list[str]] = defaultdict(list)
    for node in model.graph.node:
        for t in node.output:
            producer[t] = node.name
        for t in node.input:
            consumers[t].append(node.name)
    nodes = {n.name: n for n in model.graph.node}
    graph_inputs = {i.name for i in model.graph.input}
    graph_outputs = {o.name for o in model.graph.output}
    used_by: dict[str, set[str]] = defaultdict(set)
    for nid in ids:
        for src in structure.sources.get(nid, []):
            if src is not None:
                used_by[src].add(nid)
    taken = {b for bs in owners.values() for b in bs}
    for _ in range(3):  # a function block fed by another resolves on the next round
        groups = _groups([n for n in nodes if n not in owners], nodes, producer, consumers)
        for group in groups:
            feeds, fed = set(), set()
            for name in group:
                for t in nodes[name].input:
                    src = producer.get(t)
                    if src in owners:
                        feeds.update(owners[src])
                    elif t in graph_inputs:
                        feeds.add(t)
                for t in nodes[name].output:
                    fed.update(b for c in consumers.get(t, []) if c in owners for b in owners[c])
                    if t in graph_outputs:
                        fed.add(t)
            if not feeds:
                continue  # constants and shape arithmetic
            found = [nid for nid in ids if nid not in taken
                     and structure.blocks[nid].type not in ("Input", "Output")
                     and {s for s in structure.sources.get(nid, []) if s} <= feeds
                     and used_by[nid] & fed]
            if len(found) == 1:
                taken.add(found[0])
                for name in group:
                    owners[name] = (found[0],)


def _groups(names: list[str], nodes, producer, consumers) -> list[list[str]]:
    """Connected groups (through tensors) of the nodes ``names``."""
    left = set(names)
    groups = []
    for start in names:
        if start not in left:
            continue
        left.discard(start)
        group, todo = [start], [start]
        while todo:
            node = nodes[todo.pop()]
            near = [producer.get(t) for t in node.input]
            near += [c for t in node.output for c in consumers.get(t, [])]
            for other in near:
                if other in left:
                    left.discard(other)
                    group.append(other)
                    todo.append(other)
        groups.append(group)
    return groups


def block_nodes(model, owners: dict[str, str]) -> dict[str, list]:
    """Block label -> its ONNX nodes, blocks in the order their first node runs."""
    out: dict[str, list] = {}
    for node in model.graph.node:
        label = owners.get(node.name)
        if label:
            out.setdefault(label, []).append(node)
    return out


def sensitive_blocks(model, owners: dict[str, str]) -> dict[str, list[str]]:
    """Blocks whose quantization alone changes the model (they compute in int8, not just
    pass int8 values on), with their node names: the rows of the sensitivity table."""
    ops = quantized_ops()
    initializers = {i.name for i in model.graph.initializer}
    out = {}
    for label, nodes in block_nodes(model, owners).items():
        if any((n.op_type in ops and n.op_type not in PASSIVE)
               or (n.op_type == "Gather" and n.input[0] in initializers) for n in nodes):
            out[label] = [n.name for n in nodes]
    return out


def flag_blocks(model, owners: dict[str, str],
                spreads: dict[str, tuple[str, float, float, float, float]]) -> list[dict]:
    """The flags, one row per (block, problem): "error" for ops left in float, "warning"
    for ops and value ranges that 8 bits serve badly (see :func:`activation_spreads`)."""
    ops = quantized_ops()
    initializers = {i.name for i in model.graph.initializer}
    floating = float_tensors(model)
    rows = []
    for label, nodes in block_nodes(model, owners).items():
        kinds = list(dict.fromkeys(n.op_type for n in nodes if set(n.output) & floating))
        floats = [k for k in kinds if k not in ops and k not in GLUE]
        if floats:
            what = ", ".join(f"{k} ({FAMILIES[k]})" if k in FAMILIES else k for k in floats)
            rows.append({"block": label, "ops": floats, "severity": "error", "reason": (
                f"will not quantize: ONNX Runtime has no static int8 kernel for {what}; "
                f"{'it stays' if len(floats) == 1 else 'they stay'} float32, with a "
                "dequantize before and a quantize after (no smaller, and slower)")})
        risky = [k for k in kinds if k in ("Softmax", "Attention", "MultiHeadAttention")]
        if any(n.op_type == "MatMul" and not set(n.input) & initializers for n in nodes):
            risky.append("MatMul")
        if risky:
            rows.append({"block": label, "ops": risky, "severity": "warning", "reason": (
                "may quantize badly: attention (softmax probabilities and products of two "
                "activations) loses precision at 8 bits")})
        if label in spreads:
            op, lo, hi, p_lo, p_hi = spreads[label]
            share = 256 * (p_hi - p_lo) / (hi - lo) if hi > lo else 256.0
            rows.append({"block": label, "ops": [op], "severity": "warning", "reason": (
                f"may quantize badly: its output ranges over [{lo:.3g}, {hi:.3g}] on the "
                f"calibration samples but 99.8% of the values lie in [{p_lo:.3g}, "
                f"{p_hi:.3g}], about {max(share, 1):.0f} of the 256 int8 steps: a few "
                "outliers set the scale")})
    return rows


def activation_spreads(model, owners: dict[str, str], feeds: list[dict[str, np.ndarray]]
                       ) -> dict[str, tuple[str, float, float, float, float]]:
    """Blocks with an output whose calibrated range is dominated by outliers:
    label -> (op, min, max, 0.1th percentile, 99.9th percentile) of the worst such output,
    measured on the first STATS_SAMPLES calibration samples."""
    import onnx
    import onnxruntime as ort

    ops = quantized_ops()
    floats = float_tensors(model)
    watched: dict[str, tuple[str, str]] = {}  # tensor -> (block, op)
    for node in model.graph.node:
        label = owners.get(node.name)
        if label and node.op_type in ops and node.op_type not in PASSIVE:
            for t in node.output:
                if t in floats:
                    watched[t] = (label, node.op_type)
    if not watched:
        return {}
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    present = {o.name for o in probe.graph.output}
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None)
                              for t in watched if t not in present)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(probe.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    values: dict[str, list[np.ndarray]] = defaultdict(list)
    seen = 0
    for feed in feeds:
        outs = dict(zip(names, sess.run(None, feed), strict=True))
        for t in watched:
            v = outs[t].ravel()
            step = max(1, v.size * len(feeds) // STATS_VALUES)
            values[t].append(v[::step])
        seen += next(iter(feed.values())).shape[0]
        if seen >= STATS_SAMPLES:
            break
    worst: dict[str, tuple[float, tuple[str, float, float, float, float]]] = {}
    for t, (label, op) in watched.items():
        v = np.concatenate(values[t]).astype(np.float64)
        if v.size == 0:
            continue
        lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)  # int8 ranges hold 0
        p_lo, p_hi = (float(q) for q in np.quantile(v, [0.001, 0.999]))
        ratio = (hi - lo) / max(p_hi - p_lo, (hi - lo) * 1e-6, 1e-30)
        if ratio >= OUTLIER_RATIO and (label not in worst or ratio > worst[label][0]):
            worst[label] = (ratio, (op, lo, hi, p_lo, p_hi))
    return {label: info for label, (_, info) in worst.items()}
