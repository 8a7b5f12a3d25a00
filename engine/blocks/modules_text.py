"""nn.Module classes of the blocks for text and other token sequences: pooling over a
sequence, cross-attention and the transformer decoder layer.

As in ``engine.blocks.modules``, each class is self-contained (only ``torch``, ``nn`` and
``math``, no helper outside its body): the Python exporter copies its source into a
standalone model.py. Token ids [N, T] passed as ``ids`` mark padding with id 0.
"""

import torch
from torch import nn


class SequencePool(nn.Module):
    """One vector per sequence: [N, T, D] -> [N, D], by ``mode`` "mean", "max", "first" or
    "last" over the steps. ``forward(x, ids)`` with token ids [N, T] (``masked=True``)
    pools over the real steps only: first and last are the first and last real steps, and
    a sequence of padding only gives zeros for mean and max.
    """

    def __init__(self, mode="mean", masked=False):
        super().__init__()
        if mode not in ("mean", "max", "first", "last"):
            raise ValueError(f"mode must be mean, max, first or last, not {mode!r}")
        self.mode = mode
        self.masked = masked

    def forward(self, x: torch.Tensor, ids=None) -> torch.Tensor:
        if not self.masked:
            if self.mode == "mean":
                return x.mean(dim=1)
            if self.mode == "max":
                return x.amax(dim=1)
            return x[:, 0] if self.mode == "first" else x[:, -1]
        real = (ids != 0).unsqueeze(-1)
        if self.mode == "mean":
            count = real.sum(dim=1).clamp(min=1).to(x.dtype)
            return (x * real.to(x.dtype)).sum(dim=1) / count
        if self.mode == "max":
            low = torch.finfo(x.dtype).min
            best = x.masked_fill(~real, low).amax(dim=1)
            return best.masked_fill(~real.any(dim=1), 0.0)
        t = x.shape[1]
        # a score per step that peaks at the first (or last) real step; argmax finds it
        order = torch.arange(t, 0, -1) if self.mode == "first" else torch.arange(1, t + 1)
        score = real.squeeze(-1).long() * order.to(x.device)
        at = score.argmax(dim=1).view(-1, 1, 1).expand(-1, 1, x.shape[-1])
        return x.gather(1, at).squeeze(1)


class CrossAttention(nn.Module):
    """Multi-head attention of a sequence x [N, T, D] (the queries) over another, the memory
    [N, S, E] (keys and values, e.g. an encoder's output), returning [N, T, D].
    ``forward(x, memory, ids)`` with the memory's token ids [N, S] (``masked=True``): no
    query attends to the memory's padding (id 0).
    """

    def __init__(self, embed_dim, memory_dim, num_heads, dropout=0.0, masked=False):
        super().__init__()
        self.embed_dim = embed_dim
        self.memory_dim = memory_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.masked = masked
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout,
                                          kdim=memory_dim, vdim=memory_dim, batch_first=True)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, ids=None) -> torch.Tensor:
        keys = None
        if self.masked:
            pad = ids == 0
            # a memory of padding only is attended to whole rather than not at all (NaN)
            keys = pad & ~pad.all(dim=1, keepdim=True)
        y, _ = self.attn(x, memory, memory, key_padding_mask=keys, need_weights=False)
        return y


class CausalDecoderLayer(nn.TransformerDecoderLayer):
    """nn.TransformerDecoderLayer (batch first) whose self-attention is always causal: step
    t of the target [N, T, D] reads only steps up to t, so a decoder trained with teacher
    forcing predicts each next token from the ones before it. Cross-attention reads the
    memory [N, S, D]; ``forward(tgt, memory, ids)`` with the source ids [N, S]
    (``masked=True``) keeps it off the source's padding (id 0).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 norm_first=False, masked=False):
        super().__init__(d_model, nhead, dim_feedforward=dim_feedforward, dropout=dropout,
                         activation=activation, batch_first=True, norm_first=norm_first)
        self.activation_name = activation
        self.masked = masked

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, ids=None) -> torch.Tensor:
        t = tgt.shape[1]
        # True marks a position that may not be attended to: everything after the query.
        causal = torch.ones(t, t, dtype=torch.bool, device=tgt.device).triu(1)
        keys = None
        if self.masked:
            pad = ids == 0
            keys = pad & ~pad.all(dim=1, keepdim=True)
        return super().forward(tgt, memory, tgt_mask=causal, memory_key_padding_mask=keys,
                               tgt_is_causal=True)
