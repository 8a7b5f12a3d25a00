"""Small stand-ins for the seq2seq tests: a reverse-the-sequence data set and a tiny
hand-written transformer encoder/decoder pair with the decoder Inputs the task feeds
(``tokens``, ``memory``, ``source``)."""

from __future__ import annotations

import torch
from torch import nn

from engine.data import DataBundle
from engine.data.core import Split
from engine.project import TaskSpec
from engine.tasks import Seq2SeqTask

SPECIAL = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
LETTERS = list("abcdefgh")
VOCAB = SPECIAL + LETTERS


def reverse_pairs(n: int, seq_len: int = 8, target_len: int = 10, seed: int = 0
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Source: 2..6 random letters (ids 4..), padded with 0; target: BOS, the letters
    reversed, EOS, padding."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, seq_len, dtype=torch.long)
    y = torch.zeros(n, target_len, dtype=torch.long)
    for i in range(n):
        k = int(torch.randint(2, 7, (1,), generator=g))
        ids = torch.randint(4, len(VOCAB), (k,), generator=g)
        x[i, :k] = ids
        y[i, 0], y[i, 1:k + 1], y[i, k + 1] = 2, ids.flip(0), 3
    return x, y


def reverse_bundle(n_train: int = 2000, n_val: int = 200) -> DataBundle:
    xt, yt = reverse_pairs(n_train, seed=1)
    xv, yv = reverse_pairs(n_val, seed=2)
    return DataBundle(train=Split(xt, yt), val=Split(xv, yv), test=None, kind="tokens",
                      input_shape=(xt.shape[1],), input_dtype="long", target="sequence",
                      vocab=list(VOCAB), target_vocab=list(VOCAB),
                      target_shape=(yt.shape[1],), source="toy:reverse")


class Encoder(nn.Module):
    def __init__(self, vocab: int, d: int = 32, length: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(length, d) * 0.1)
        self.layer = nn.TransformerEncoderLayer(d, 4, 64, 0.0, batch_first=True)

    def forward(self, source: torch.Tensor) -> torch.Tensor:
        h = self.embed(source) + self.pos[: source.shape[1]]
        return self.layer(h, src_key_padding_mask=source == 0)


class Decoder(nn.Module):
    def __init__(self, vocab: int, d: int = 32, length: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(length, d) * 0.1)
        self.layer = nn.TransformerDecoderLayer(d, 4, 64, 0.0, batch_first=True)
        self.out = nn.Linear(d, vocab)

    def forward(self, tokens: torch.Tensor, memory: torch.Tensor,
                source: torch.Tensor) -> torch.Tensor:
        t = tokens.shape[1]
        h = self.embed(tokens) + self.pos[:t]
        causal = nn.Transformer.generate_square_subsequent_mask(t)
        h = self.layer(h, memory, tgt_mask=causal, tgt_is_causal=True,
                       memory_key_padding_mask=source == 0)
        return self.out(h)


def toy_task(bundle: DataBundle | None = None, seed: int = 0, **spec) -> Seq2SeqTask:
    bundle = bundle or reverse_bundle()
    torch.manual_seed(seed)
    models = {"encoder": Encoder(len(VOCAB)), "decoder": Decoder(len(VOCAB))}
    return Seq2SeqTask(TaskSpec(kind="seq2seq", **spec), bundle, models, seed=seed)


def train(task: Seq2SeqTask, steps: int, lr: float = 3e-3, batch: int = 64) -> None:
    params = [p for m in task.models.values() for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=lr)

    def step(_name: str, loss: torch.Tensor) -> None:
        opt.zero_grad()
        loss.backward()
        opt.step()

    g = torch.Generator().manual_seed(0)
    split = task.bundle.train
    for m in task.models.values():
        m.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: a second thread only adds contention
    try:
        for _ in range(steps):
            idx = torch.randint(0, len(split), (batch,), generator=g)
            task.train_step(split.x[idx], split.y[idx], step)
    finally:
        torch.set_num_threads(threads)
