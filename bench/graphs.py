"""Generated graphs of a given size for the benchmarks."""

from __future__ import annotations

from engine.layout import apply_layout
from engine.project import Edge, Graph, Node


def residual_cnn(blocks: int) -> Graph:
    """A plausible CNN of exactly ``blocks`` nodes: residual units of conv-bn-relu-conv-bn-add-relu
    (7 nodes) after a stem, closed by pooling, a classifier and an output."""
    nodes = [Node(id="image", type="Input", params={"shape": [3, 32, 32]}),
             Node(id="stem", type="Conv2d", params={"out_channels": 16, "kernel_size": 3})]
    edges = [Edge(src="image", dst="stem")]
    prev = "stem"
    tail = 4  # gap, fc, relu?, output
    k = 0
    while len(nodes) + 7 + tail <= blocks:
        k += 1
        unit = [(f"u{k}_conv1", "Conv2d", {"out_channels": 16, "kernel_size": 3}),
                (f"u{k}_bn1", "BatchNorm2d", {}), (f"u{k}_relu1", "ReLU", {}),
                (f"u{k}_conv2", "Conv2d", {"out_channels": 16, "kernel_size": 3}),
                (f"u{k}_bn2", "BatchNorm2d", {})]
        last = prev
        for nid, t, p in unit:
            nodes.append(Node(id=nid, type=t, params=p))
            edges.append(Edge(src=last, dst=nid))
            last = nid
        nodes.append(Node(id=f"u{k}_add", type="Add"))
        edges += [Edge(src=last, dst=f"u{k}_add", dst_port="in0"),
                  Edge(src=prev, dst=f"u{k}_add", dst_port="in1")]
        nodes.append(Node(id=f"u{k}_relu2", type="ReLU"))
        edges.append(Edge(src=f"u{k}_add", dst=f"u{k}_relu2"))
        prev = f"u{k}_relu2"
    while len(nodes) + tail < blocks:  # pad with cheap activations to hit the exact count
        nid = f"pad{len(nodes)}"
        nodes.append(Node(id=nid, type="ReLU"))
        edges.append(Edge(src=prev, dst=nid))
        prev = nid
    for nid, t, p in (("gap", "GlobalAvgPool", {}), ("fc", "Linear", {"out_features": 64}),
                      ("head", "Linear", {"out_features": 10}), ("logits", "Output", {})):
        nodes.append(Node(id=nid, type=t, params=p))
        edges.append(Edge(src=prev, dst=nid))
        prev = nid
    g = Graph(nodes=nodes, edges=edges)
    apply_layout(g)
    return g
