"""A one-layer LSTM that reads the token sequence and classifies from its last hidden state.

Hu, Zhou and Yu's recurrent model for a + b mod p: it reads ``[a, b, =]`` token by token (each token's learned
embedding, or, as the report's notebook feeds x, y and p, each token's id as one number), and a linear map of the
hidden state after ``=`` gives the ``p`` logits. The cell is PyTorch's
``nn.LSTM`` written out (gates in its order: input, forget, cell, output; two biases; every weight and bias uniform
in ±1/sqrt(d_hidden), the embedding N(0, 1), all times ``init_scale``), so that the model also runs as a stack of K
models (``models.stack``) with batched matrix products, and so that a hook point sits at every step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformer_lens.hook_points import HookPoint

from grokutils.config import check_choice, check_float, check_int
from grokutils.models.hooked import HookedModel, embed, linear


INPUTS = ("embedding", "numbers")
"""What the LSTM reads at each step: the token's learned embedding, or the token's id as a number."""


@dataclass(frozen=True)
class LSTMConfig:
    """A one-layer LSTM classifier.

    Attributes:
        d_vocab: number of input tokens.
        d_vocab_out: number of output classes.
        n_ctx: length of the token sequences it reads.
        d_embed: width of each token's embedding (1 where ``inputs`` is ``"numbers"``).
        d_hidden: width of the hidden and cell states (20 in the source).
        init_scale: factor on every initial parameter (Omnigrok's α).
        seed: seed of the initialisation.
        inputs: ``"embedding"`` (each token's learned embedding) or ``"numbers"`` (each token's id, a float: no
            embedding table).
    """

    d_vocab: int
    d_vocab_out: int
    n_ctx: int = 3
    d_embed: int = 20
    d_hidden: int = 20
    init_scale: float = 1.0
    seed: int = 0
    inputs: str = "embedding"

    def __post_init__(self):
        for name in ("d_vocab", "d_vocab_out", "n_ctx", "d_embed", "d_hidden"):
            check_int(name, getattr(self, name), 1)
        check_float("init_scale", self.init_scale, 0, open_low=True)
        check_int("seed", self.seed)
        check_choice("inputs", self.inputs, INPUTS)
        if self.inputs == "numbers" and self.d_embed != 1:
            raise ValueError(f"d_embed={self.d_embed!r} must be 1 where inputs='numbers' (each step reads one number)")

    def build(self) -> "LSTM":
        """A freshly initialised model."""
        return LSTM(self)


def _uniform(gen: torch.Generator, bound: float, *shape: int) -> nn.Parameter:
    return nn.Parameter((torch.rand(*shape, generator=gen) * 2 - 1) * bound)


class LSTM(HookedModel):
    """Embedding, one LSTM layer, a linear read-out of the last hidden state.

    Parameters: ``embed.W_E [d_vocab, d_embed]`` (none where the inputs are numbers), ``lstm.W_ih [4 d_hidden, d_embed]``, ``lstm.W_hh [4 d_hidden,
    d_hidden]``, ``lstm.b_ih``, ``lstm.b_hh`` (as ``nn.LSTM``'s ``weight_ih_l0`` … in the same layout) and
    ``unembed.W_U [d_vocab_out, d_hidden]``, ``unembed.b_U``. Hook points: ``hook_embed`` and, at each position
    ``t``, ``steps.{t}.hook_h`` and ``steps.{t}.hook_c`` (hidden and cell state after reading token ``t``; an edit
    there reaches the later steps).
    """

    def __init__(self, cfg: LSTMConfig):
        super().__init__()
        self.cfg = cfg
        gen, h, bound = torch.Generator().manual_seed(cfg.seed), cfg.d_hidden, cfg.init_scale / math.sqrt(cfg.d_hidden)
        if cfg.inputs == "embedding":
            self.embed = nn.Module()
            self.embed.W_E = nn.Parameter(torch.randn(cfg.d_vocab, cfg.d_embed, generator=gen) * cfg.init_scale)
        self.lstm = nn.Module()
        self.lstm.W_ih, self.lstm.W_hh = _uniform(gen, bound, 4 * h, cfg.d_embed), _uniform(gen, bound, 4 * h, h)
        self.lstm.b_ih, self.lstm.b_hh = _uniform(gen, bound, 4 * h), _uniform(gen, bound, 4 * h)
        self.unembed = nn.Module()
        self.unembed.W_U, self.unembed.b_U = (_uniform(gen, bound, cfg.d_vocab_out, h),
                                              _uniform(gen, bound, cfg.d_vocab_out))
        self.hook_embed = HookPoint()
        self.steps = nn.ModuleList(nn.Module() for _ in range(cfg.n_ctx))
        for step in self.steps:
            step.hook_h, step.hook_c = HookPoint(), HookPoint()
        self.setup()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``[batch, d_vocab_out]`` for tokens ``[batch, n_ctx]``; stacked by ``models.stack``, ``[K, batch,
        d_vocab_out]`` for tokens ``[K, batch, n_ctx]`` or one ``[batch, n_ctx]`` shared by every run."""
        x = self.hook_embed(self._inputs(tokens))
        h = c = x.new_zeros(*x.shape[:-2], self.cfg.d_hidden)
        for t, step in enumerate(self.steps[: tokens.shape[-1]]):
            gates = linear(x[..., t, :], self.lstm.W_ih, self.lstm.b_ih) + linear(h, self.lstm.W_hh, self.lstm.b_hh)
            i, f, g, o = gates.chunk(4, -1)
            c = step.hook_c(torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g))
            h = step.hook_h(torch.sigmoid(o) * torch.tanh(c))
        return linear(h, self.unembed.W_U, self.unembed.b_U)

    def _inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[..., n_ctx, d_embed]``: each token's embedding, or its id as a number; stacked, one copy per run."""
        if self.cfg.inputs == "embedding":
            return embed(tokens, self.embed.W_E)
        x = tokens.unsqueeze(-1).to(self.lstm.W_ih.dtype)
        stacked = self.lstm.W_ih.dim() == 3
        return x.expand(self.lstm.W_ih.shape[0], *x.shape) if stacked and tokens.dim() == 2 else x

    def final_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """What the loss reads: the logits after the last token."""
        return self(tokens)
