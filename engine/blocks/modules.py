"""Small nn.Module classes that the sequence blocks build.

Each class here is self-contained: it uses only ``torch``, ``nn`` (torch.nn) and ``math``,
and no helper outside its own body, because the Python exporter copies each class's source
(``inspect.getsource``) into standalone model code. Keep it that way: no imports from
``engine`` and no module-level helpers.

Block modules import this file lazily (inside ``build``) so the editor starts without torch.
"""

import math

import torch
from torch import nn


class Recurrent(nn.Module):
    """A batch-first RNN, LSTM or GRU that returns a tensor, not a tuple.

    ``output="sequence"`` returns every step, [N, T, H * directions]. ``output="last"``
    returns the final hidden state of the top layer, [N, H * directions]: the forward
    direction's last step and, when bidirectional, the backward direction's output at the
    first step (where the backward pass ends).

    ``masked=True``: ``forward(x, ids)`` also takes the token ids [N, T] of the sequence,
    right-padded with 0. Each sequence then ends at its last real step: "last" reads the
    state there, "sequence" returns zeros at the padded steps, and the backward direction
    starts there. Packed sequences would do the same but cannot be exported to ONNX, so a
    masked bidirectional layer runs each layer and direction on its own, the backward one
    on each sequence reversed within its length; a unidirectional one needs no change, as
    the forward pass never sees the padding before a real step.

    ``private=True`` builds Opacus' DPRNN/DPLSTM/DPGRU instead of PyTorch's layer: the same
    weights under the same state_dict keys and the same outputs, with the per-sample
    gradients that differentially private training needs (engine.train.privacy).
    """

    def __init__(self, kind, input_size, hidden_size, num_layers=1, bidirectional=False,
                 dropout=0.0, output="sequence", nonlinearity="tanh", masked=False,
                 private=False):
        super().__init__()
        if kind not in ("RNN", "LSTM", "GRU"):
            raise ValueError(f"kind must be RNN, LSTM or GRU, not {kind!r}")
        if output not in ("sequence", "last"):
            raise ValueError(f"output must be 'sequence' or 'last', not {output!r}")
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.output = output
        self.masked = masked
        options = {"nonlinearity": nonlinearity} if kind == "RNN" else {}
        layer = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[kind]
        if private:  # Opacus' layers: the same weights and outputs, per-sample gradients (DP-SGD)
            from opacus.layers import DPGRU, DPLSTM, DPRNN

            layer = {"RNN": DPRNN, "LSTM": DPLSTM, "GRU": DPGRU}[kind]
        self.kind = kind
        self.nonlinearity = nonlinearity
        if masked and bidirectional:
            self.input_size = input_size
            self.num_layers = num_layers
            self.dropout = dropout
            sizes = [input_size] + [2 * hidden_size] * (num_layers - 1)
            self.forward_layers = nn.ModuleList(
                layer(n, hidden_size, batch_first=True, **options) for n in sizes)
            self.backward_layers = nn.ModuleList(
                layer(n, hidden_size, batch_first=True, **options) for n in sizes)
        else:
            # PyTorch applies dropout between stacked layers only; with one layer it would warn.
            self.rnn = layer(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                             bidirectional=bidirectional,
                             dropout=dropout if num_layers > 1 else 0.0, **options)
        if private:
            # Opacus' layers hold each weight under two names (theirs and PyTorch's) and their
            # own hook drops theirs only at the top level: inside a model both would be saved.
            # Save and load PyTorch's names only.
            for m in self.modules():
                if hasattr(m, "old_to_new"):
                    m._state_dict_hooks.clear()
                    m._register_state_dict_hook(Recurrent._drop_aliases)
                    m._register_load_state_dict_pre_hook(Recurrent._add_aliases,
                                                         with_module=True)

    @staticmethod
    def _drop_aliases(module, state_dict, prefix, local_metadata):
        for old in module.old_to_new:
            state_dict.pop(prefix + old, None)

    @staticmethod
    def _add_aliases(module, state_dict, prefix, *args):
        for old, new in module.old_to_new.items():
            if prefix + new in state_dict:
                state_dict[prefix + old] = state_dict[prefix + new]

    def forward(self, x: torch.Tensor, ids=None) -> torch.Tensor:
        if not self.masked:
            y, _ = self.rnn(x)
            if self.output == "sequence":
                return y
            if not self.bidirectional:
                return y[:, -1]
            h = self.hidden_size
            return torch.cat([y[:, -1, :h], y[:, 0, h:]], dim=-1)
        steps = torch.arange(x.shape[1], device=x.device)
        # each sequence's length: one past its last real step (0 when all padding)
        length = ((ids != 0).long() * (steps + 1)).amax(dim=1, keepdim=True)
        if self.bidirectional:
            # reverses each sequence within its length and leaves its padding in place
            flip = torch.where(steps < length, length - 1 - steps, steps).unsqueeze(-1)
            y = x
            for i, (ahead, back) in enumerate(
                    zip(self.forward_layers, self.backward_layers, strict=True)):
                if i:
                    y = nn.functional.dropout(y, self.dropout, self.training)
                forward_out, _ = ahead(y)
                backward_out, _ = back(y.gather(1, flip.expand(-1, -1, y.shape[-1])))
                backward_out = backward_out.gather(1, flip.expand(-1, -1, self.hidden_size))
                y = torch.cat([forward_out, backward_out], dim=-1)
        else:
            y, _ = self.rnn(x)
        if self.output == "sequence":
            return y * (steps < length).unsqueeze(-1).to(y.dtype)
        last = (length - 1).clamp(min=0).unsqueeze(-1).expand(-1, -1, y.shape[-1])
        y_last = y.gather(1, last).squeeze(1)
        if not self.bidirectional:
            return y_last
        h = self.hidden_size
        return torch.cat([y_last[:, :h], y[:, 0, h:]], dim=-1)


class SelfAttention(nn.Module):
    """Multi-head self-attention on [N, T, D] (query = key = value = x), returning [N, T, D].

    With ``causal=True`` each position attends only to itself and earlier positions, as a
    language model needs. With ``masked=True``, ``forward(x, ids)`` also takes the token ids
    [N, T]: no position attends to padding (id 0), and the padded positions' outputs are
    zero (a sequence of padding only attends to all of it rather than to nothing, which
    would give NaN).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, causal=False, masked=False):
        super().__init__()
        self.causal = causal
        self.masked = masked
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout,
                                          batch_first=True)

    def forward(self, x: torch.Tensor, ids=None) -> torch.Tensor:
        mask = None
        if self.causal:
            t = x.shape[1]
            # True marks a position that may not be attended to: everything after the query.
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        if not self.masked:
            y, _ = self.attn(x, x, x, attn_mask=mask, need_weights=False, is_causal=self.causal)
            return y
        pad = ids == 0
        keys = pad & ~pad.all(dim=1, keepdim=True)
        y, _ = self.attn(x, x, x, attn_mask=mask, key_padding_mask=keys, need_weights=False,
                         is_causal=self.causal)
        return y.masked_fill(pad.unsqueeze(-1), 0.0)


class PositionalEncoding(nn.Module):
    """Adds a position signal to [N, T, D] so that attention can tell the order of steps.

    Sinusoidal encodings (fixed, not trained) are kept in a non-persistent buffer, so they
    are not saved as weights; learned encodings are a trained [max_len, D] parameter.
    Sequences may be at most ``max_len`` steps long.
    """

    def __init__(self, d_model, max_len=512, learned=False, dropout=0.0):
        super().__init__()
        self.max_len = max_len
        self.dropout = nn.Dropout(dropout)
        if learned:
            self.pe = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        else:
            position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
            rate = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                             * (-math.log(10000.0) / d_model))
            table = torch.zeros(max_len, d_model)
            table[:, 0::2] = torch.sin(position * rate)
            # An odd D has one sine column more than cosine columns.
            table[:, 1::2] = torch.cos(position * rate[: d_model // 2])
            self.register_buffer("pe", table, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        if t > self.max_len:
            raise ValueError(f"sequence of {t} steps is longer than max_len {self.max_len} "
                             "of the positional encoding")
        return self.dropout(x + self.pe[:t])


class CausalEncoderLayer(nn.TransformerEncoderLayer):
    """nn.TransformerEncoderLayer in which each position attends only to itself and earlier
    positions (a decoder-only, GPT-style block). Construct it with ``batch_first=True``.
    """

    def forward(self, src: torch.Tensor, src_mask=None, src_key_padding_mask=None,
                is_causal=False) -> torch.Tensor:
        # The signature matches the parent so nn.TransformerEncoder can stack this layer;
        # the causal mask replaces any src_mask given.
        t = src.shape[1] if self.self_attn.batch_first else src.shape[0]
        mask = torch.ones(t, t, dtype=torch.bool, device=src.device).triu(1)
        return super().forward(src, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                               is_causal=True)


class MaskedEncoderLayer(nn.TransformerEncoderLayer):
    """nn.TransformerEncoderLayer whose ``forward(src, ids)`` also takes the token ids [N, T]
    of the sequence: no position attends to padding (id 0) and the padded positions'
    outputs are zero. ``causal=True`` adds the look-back-only mask of CausalEncoderLayer.
    Construct it with ``batch_first=True``.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=True, norm_first=False, causal=False):
        super().__init__(d_model, nhead, dim_feedforward=dim_feedforward, dropout=dropout,
                         activation=activation, layer_norm_eps=layer_norm_eps,
                         batch_first=batch_first, norm_first=norm_first)
        self.causal = causal

    def forward(self, src: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        mask = None
        if self.causal:
            t = src.shape[1] if self.self_attn.batch_first else src.shape[0]
            mask = torch.ones(t, t, dtype=torch.bool, device=src.device).triu(1)
        pad = ids == 0
        # a sequence of padding only attends to all of it rather than to nothing (NaN)
        keys = pad & ~pad.all(dim=1, keepdim=True)
        y = super().forward(src, src_mask=mask, src_key_padding_mask=keys,
                            is_causal=self.causal)
        return y.masked_fill(pad.unsqueeze(-1), 0.0)


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of [N, C, ...] at each position (channels first), as in
    ConvNeXt's stem and downsampling layers. The weight and bias hold one value per channel.
    """

    def __init__(self, num_channels, eps=1e-5, elementwise_affine=True):
        super().__init__(num_channels, eps=eps, elementwise_affine=elementwise_affine)
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Move the channels last, normalise them, and move them back.
        x = x.movedim(1, -1)
        return super().forward(x).movedim(-1, 1)


class LayerScale(nn.Module):
    """Multiplies each channel by a learned factor ``gamma``, started at ``init``.

    ``axis="last"`` scales the last dimension ([N, H, W, C] or a sequence [N, T, D]);
    ``axis="first"`` scales dimension 1 of [N, C, ...].
    """

    def __init__(self, num_channels, init=1e-6, axis="last"):
        super().__init__()
        if axis not in ("last", "first"):
            raise ValueError(f"axis must be 'last' or 'first', not {axis!r}")
        self.num_channels = num_channels
        self.init = init
        self.axis = axis
        self.gamma = nn.Parameter(torch.full((num_channels,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.axis == "last":
            return x * self.gamma
        return x * self.gamma.reshape((-1,) + (1,) * (x.dim() - 2))


class StochasticDepth(nn.Module):
    """Drop path: while training, replaces the whole tensor of a random sample with zeros
    (probability ``p``) and scales the kept samples by 1 / (1 - p). Put it on a residual
    branch, before the Add, so a dropped sample skips the branch. Identity at evaluation.
    """

    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        mask = torch.floor(torch.rand(shape, dtype=x.dtype, device=x.device) + keep)
        return x / keep * mask


class ClassToken(nn.Module):
    """Puts one learned vector (the class token) in front of a sequence:
    [N, T, D] -> [N, T + 1, D]. A vision transformer reads its result at position 0.
    """

    def __init__(self, embed_dim):
        super().__init__()
        self.embed_dim = embed_dim
        self.token = nn.Parameter(torch.randn(1, 1, embed_dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)


class SegmentationHead(nn.Conv2d):
    """A 1x1 convolution from features [N, C, H, W] to class scores [N, classes, H, W]; its
    own class so that exported code reads as a segmentation head and imports back as one."""

    def __init__(self, in_channels, classes):
        super().__init__(in_channels, classes, 1)
        self.in_channels = in_channels
        self.classes = classes


class DetectionHead(nn.Module):
    """CenterNet-style detection head on features [N, C, H, W], giving [N, classes + 4, H, W]:
    per output cell the centre heatmap logits (``classes`` channels), the box size (w, h in
    feature cells) and the centre's offset within its cell (x, y).

    Each of the three parts is its own branch, a 3x3 convolution to ``width`` channels, ReLU,
    and a 1x1 convolution. The heatmap's last bias starts at -2.19 (sigmoid 0.1, CenterNet's
    prior) so the focal loss does not start by pushing every cell hard towards "no object".
    """

    def __init__(self, in_channels, classes, width=64):
        super().__init__()
        self.in_channels = in_channels
        self.classes = classes
        self.width = width

        def branch(out):
            return nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(width, out, 1))

        self.heatmap = branch(classes)
        self.size = branch(2)
        self.offset = branch(2)
        with torch.no_grad():
            self.heatmap[2].bias.fill_(-2.19)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.heatmap(x), self.size(x), self.offset(x)], dim=1)
