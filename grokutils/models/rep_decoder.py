"""Liu et al.'s toy model (2022): a learned representation of each symbol, and a decoder of the sum of two of them.

Each of ``p`` symbols has a learned vector of ``d_rep`` numbers (``embed.W_E``; their ``reprs``, one number each by
default). The model reads a pair ``(a, b)`` as ``E_a + E_b`` (their hard-coded addition) and decodes it with an MLP
``d_rep -> 200 -> 200 -> d_out`` with tanh, whose output is fitted by squared error to a random Gaussian template of the
pair's sum (``2p - 1`` templates of ``d_out`` numbers, fixed). The logits (``final_logits``) are minus the squared
distance to each template, averaged over the output's dimensions, so the loss ``"template_mse"`` is their MSE and the
top logit is the nearest template (their accuracy).

Initialisation follows their ``toy/train_add.py`` draw for draw: with the torch seed ``seed``, the representation
``U(-0.5, 0.5)`` first, then the three layers at PyTorch's default initialisation (times ``init_scale``, their
``init_scale_nn``); the templates ``N(0, 1)`` come from NumPy's legacy generator at ``template_seed``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformer_lens.hook_points import HookPoint

from grokutils.config import check_float, check_int
from grokutils.models.hooked import HookedModel, embed, linear


@dataclass(frozen=True)
class RepDecoderConfig:
    """Liu et al.'s toy model.

    Attributes:
        p: number of symbols (the representation's rows; sums take ``2p - 1`` values, one template each).
        d_rep: the representation's width (their ``reprs_dim``: 1).
        d_hidden: the decoder's hidden widths (two of their ``width``, 200).
        d_out: the decoder's output width, the templates' (their ``output_dim``: 30).
        init_scale: factor on the decoder's initial parameters (their ``init_scale_nn``; the representation keeps
            ``U(-0.5, 0.5)``).
        seed: torch seed of the representation and the decoder (their ``seed``).
        template_seed: NumPy seed of the templates (their ``seed`` too; a field apart because runs that share
            templates can be batched, and the templates are a buffer, shared by a batch).
    """

    p: int = 10
    d_rep: int = 1
    d_hidden: tuple[int, ...] = (200, 200)
    d_out: int = 30
    init_scale: float = 1.0
    seed: int = 0
    template_seed: int = 0

    def __post_init__(self):
        for name in ("p", "d_rep", "d_out"):
            check_int(name, getattr(self, name), 1)
        if not isinstance(self.d_hidden, tuple) or any(isinstance(w, bool) or not isinstance(w, int) or w < 1
                                                      for w in self.d_hidden):
            raise ValueError(f"d_hidden={self.d_hidden!r} must be a tuple of positive integers (one per hidden layer)")
        check_float("init_scale", self.init_scale, 0, open_low=True)
        check_int("seed", self.seed)
        check_int("template_seed", self.template_seed, 0, 2**32 - 1)

    @property
    def n_classes(self) -> int:
        """Number of templates: the possible sums, ``2p - 1``."""
        return 2 * self.p - 1

    def templates(self) -> torch.Tensor:
        """The templates ``[2p - 1, d_out]``, ``N(0, 1)`` in float32, drawn as their code draws them."""
        draws = np.random.RandomState(self.template_seed).normal(0, 1, size=(self.n_classes, self.d_out))
        return torch.tensor(draws, dtype=torch.float32)

    def build(self) -> "RepDecoder":
        """A freshly initialised model."""
        return RepDecoder(self)


class RepDecoder(HookedModel):
    """The representation ``embed.W_E [p, d_rep]`` and the decoder ``layers``; hook points ``hook_embed`` (``[batch,
    2, d_rep]``), ``hook_sum`` (``E_a + E_b``) and ``layers.{i}.hook_pre`` / ``hook_post`` on the hidden layers."""

    def __init__(self, cfg: RepDecoderConfig):
        super().__init__()
        self.cfg = cfg
        widths = (cfg.d_rep, *cfg.d_hidden, cfg.d_out)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.embed = nn.Module()
            self.embed.W_E = nn.Parameter(torch.rand(cfg.p, cfg.d_rep) - 0.5)
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        with torch.no_grad():
            for p in self.layers.parameters():
                p.mul_(cfg.init_scale)
        for layer in self.layers[:-1]:
            layer.hook_pre, layer.hook_post = HookPoint(), HookPoint()
        self.hook_embed, self.hook_sum = HookPoint(), HookPoint()
        self.register_buffer("templates", cfg.templates())
        self.setup()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """The decoder's outputs ``[batch, d_out]`` for pairs ``[batch, 2]``; stacked by ``models.stack``, ``[K, batch,
        d_out]`` for pairs ``[K, batch, 2]`` or one ``[batch, 2]`` shared by every run."""
        x = self.hook_sum(self.hook_embed(embed(tokens[..., :2], self.embed.W_E)).sum(-2))
        for layer in self.layers[:-1]:
            x = layer.hook_post(torch.tanh(layer.hook_pre(linear(x, layer.weight, layer.bias))))
        return linear(x, self.layers[-1].weight, self.layers[-1].bias)

    def final_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Minus the squared distance of the output to each template, averaged over its ``d_out`` dimensions,
        ``[..., batch, 2p - 1]``: the loss ``"template_mse"`` reads the label's, accuracy the nearest."""
        out = self(tokens)
        return -(out[..., None, :] - self.templates).pow(2).mean(-1)
