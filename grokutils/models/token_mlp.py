"""A fully connected network on tokens: each input token's learned embedding, concatenated, then ReLU layers.

The MLP that Hu, Zhou and Yu train on a + b mod p beside the transformer: it reads ``a`` and ``b`` (the first
``n_inputs`` tokens of ``[a, b, =]``; the constant ``=`` carries nothing), looks each up in one embedding table, as
the transformer's ``W_E`` does, concatenates the two vectors and passes them through hidden ReLU layers to ``p``
logits. Parameters start as PyTorch's defaults start them (embeddings N(0, 1); linear maps and biases uniform in
±1/sqrt(fan_in)), times ``init_scale``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformer_lens.hook_points import HookPoint

from grokutils.config import check_float, check_int
from grokutils.models.hooked import HookedModel, embed, linear


@dataclass(frozen=True)
class TokenMLPConfig:
    """A token-embedding MLP.

    Attributes:
        d_vocab: number of input tokens.
        d_vocab_out: number of output classes.
        n_inputs: how many leading tokens of each sequence the network reads (2: ``a`` and ``b``).
        d_embed: width of each token's embedding (128, the transformer's ``d_model``).
        d_hidden: widths of the hidden ReLU layers (two of 512, the transformer's ``d_mlp``).
        init_scale: factor on every initial parameter (Omnigrok's α).
        seed: seed of the initialisation.
    """

    d_vocab: int
    d_vocab_out: int
    n_inputs: int = 2
    d_embed: int = 128
    d_hidden: tuple[int, ...] = (512, 512)
    init_scale: float = 1.0
    seed: int = 0

    def __post_init__(self):
        for name in ("d_vocab", "d_vocab_out", "n_inputs", "d_embed"):
            check_int(name, getattr(self, name), 1)
        if not isinstance(self.d_hidden, tuple) or any(isinstance(w, bool) or not isinstance(w, int) or w < 1
                                                      for w in self.d_hidden):
            raise ValueError(f"d_hidden={self.d_hidden!r} must be a tuple of positive integers (one per hidden layer)")
        check_float("init_scale", self.init_scale, 0, open_low=True)
        check_int("seed", self.seed)

    def build(self) -> "TokenMLP":
        """A freshly initialised model."""
        return TokenMLP(self)


def uniform_linear(fan_in: int, fan_out: int, gen: torch.Generator, scale: float) -> nn.Linear:
    """An ``nn.Linear`` with weight and bias uniform in ±scale/sqrt(fan_in) (PyTorch's default bound), from ``gen``."""
    layer = nn.Linear(fan_in, fan_out)
    bound = scale / math.sqrt(fan_in)
    with torch.no_grad():
        layer.weight.copy_((torch.rand(fan_out, fan_in, generator=gen) * 2 - 1) * bound)
        layer.bias.copy_((torch.rand(fan_out, generator=gen) * 2 - 1) * bound)
    return layer


class TokenMLP(HookedModel):
    """Embeddings of the first ``n_inputs`` tokens, concatenated, then ReLU layers; hook points ``hook_embed``
    (``[batch, n_inputs, d_embed]``) and ``layers.{i}.hook_pre`` / ``hook_post`` on every hidden layer."""

    def __init__(self, cfg: TokenMLPConfig):
        super().__init__()
        self.cfg = cfg
        gen = torch.Generator().manual_seed(cfg.seed)
        self.embed = nn.Module()
        self.embed.W_E = nn.Parameter(torch.randn(cfg.d_vocab, cfg.d_embed, generator=gen) * cfg.init_scale)
        widths = (cfg.n_inputs * cfg.d_embed, *cfg.d_hidden, cfg.d_vocab_out)
        self.layers = nn.ModuleList(uniform_linear(a, b, gen, cfg.init_scale) for a, b in zip(widths[:-1], widths[1:]))
        for layer in self.layers[:-1]:
            layer.hook_pre, layer.hook_post = HookPoint(), HookPoint()
        self.hook_embed = HookPoint()
        self.setup()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``[batch, d_vocab_out]`` for tokens ``[batch, pos]``; stacked by ``models.stack``, ``[K, batch,
        d_vocab_out]`` for tokens ``[K, batch, pos]`` or one ``[batch, pos]`` shared by every run."""
        x = self.hook_embed(embed(tokens[..., : self.cfg.n_inputs], self.embed.W_E)).flatten(-2)
        for layer in self.layers[:-1]:
            x = layer.hook_post(F.relu(layer.hook_pre(linear(x, layer.weight, layer.bias))))
        return linear(x, self.layers[-1].weight, self.layers[-1].bias)

    def final_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """What the loss reads: the logits."""
        return self(tokens)
