"""A fully connected network with hook points: Omnigrok's MNIST model (ReLU, linear output), the variants
Nie, Hung and Cheng train (sigmoid hidden layers; a sigmoid or softmax output), and Prieto et al.'s MLP on a ∘ b mod p
(the two operands one-hot, side by side; no biases)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformer_lens.hook_points import HookPoint

from grokutils.config import check_choice, check_float, check_int
from grokutils.models.hooked import HookedModel, embed, linear


INPUTS = ("values", "two_hot")
"""How the network reads its input: ``"values"`` (the input as numbers, flattened) or ``"two_hot"`` (the first two
tokens ``a, b`` of ``[a, b, =]`` as one-hot vectors of length ``widths[0] / 2``, side by side)."""
ACTIVATIONS = {"relu": F.relu, "sigmoid": torch.sigmoid}
"""Hidden-layer activation name -> function."""
OUTPUTS = {"linear": lambda x: x, "sigmoid": torch.sigmoid, "softmax": lambda x: torch.softmax(x, -1)}
"""Output activation name -> function of the last layer's pre-activations (what the loss then reads)."""


@dataclass(frozen=True)
class MLPConfig:
    """A fully connected network, as in Omnigrok's MNIST experiments.

    Attributes:
        widths: layer widths from input to output, e.g. ``(784, 200, 200, 10)``.
        init_scale: α; every initial parameter (PyTorch's default init) is multiplied by it.
        seed: seed of the initialisation.
        act_fn: the hidden layers' activation, ``"relu"`` (Omnigrok) or ``"sigmoid"``.
        output: what the last layer's outputs pass through before the loss: ``"linear"`` (nothing: Omnigrok),
            ``"sigmoid"`` (each output in (0, 1)) or ``"softmax"`` (the outputs sum to 1). Neither changes which
            output is largest, so accuracy reads the same.
        bias: whether the layers have biases (Prieto et al.'s MLP has none).
        inputs: ``"values"`` (the input as numbers: pixels, or token ids read as numbers) or ``"two_hot"`` (tokens
            ``[a, b, ...]`` of a modular task as ``one_hot(a) ++ one_hot(b)``, ``widths[0] = 2p``: Prieto et al.'s
            input). The first layer then reads two of its columns, which is the same sum as its product with the
            two-hot vector, without the product.
    """

    widths: tuple[int, ...] = (784, 200, 200, 10)
    init_scale: float = 1.0
    seed: int = 0
    act_fn: str = "relu"
    output: str = "linear"
    bias: bool = True
    inputs: str = "values"

    def __post_init__(self):
        if len(self.widths) < 2 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in self.widths):
            raise ValueError(f"widths={self.widths!r} must list at least two positive integers")
        check_float("init_scale", self.init_scale, 0, open_low=True)
        check_int("seed", self.seed)
        check_choice("act_fn", self.act_fn, tuple(ACTIVATIONS))
        check_choice("output", self.output, tuple(OUTPUTS))
        check_choice("inputs", self.inputs, INPUTS)
        if not isinstance(self.bias, bool):
            raise ValueError(f"bias={self.bias!r} must be True or False")
        if self.inputs == "two_hot" and self.widths[0] % 2:
            raise ValueError(f"widths[0]={self.widths[0]} must be even with inputs='two_hot' (two one-hot vectors of p)")

    def build(self) -> "MLP":
        """A freshly initialised model."""
        return MLP(self)


class MLP(HookedModel):
    """MLP with hook points ``layers.{i}.hook_pre`` / ``hook_post`` on every hidden layer."""

    def __init__(self, cfg: MLPConfig):
        super().__init__()
        self.cfg = cfg
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.layers = nn.ModuleList(nn.Linear(a, b, bias=cfg.bias) for a, b in zip(cfg.widths[:-1], cfg.widths[1:]))
        with torch.no_grad():
            for p in self.parameters():
                p.mul_(cfg.init_scale)
        for layer in self.layers[:-1]:
            layer.hook_pre, layer.hook_post = HookPoint(), HookPoint()
        self.setup()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``[batch, widths[-1]]`` for inputs ``[batch, widths[0]]`` (flattened if needed); integer inputs
        (token ids, e.g. ``[a, b, =]`` of a modular task, ``=`` being ``p``) are read as numbers, or with
        ``inputs="two_hot"`` as the one-hot vectors of ``a`` and ``b``.

        Stacked by ``models.stack`` (weights ``[K, out, in]``): inputs ``[K, batch, widths[0]]`` per run, or
        any single batch shared by every run; outputs ``[K, batch, widths[-1]]``.
        """
        act = ACTIVATIONS[self.cfg.act_fn]
        x = self._first_layer_two_hot(x) if self.cfg.inputs == "two_hot" else self._first_layer(x)
        for i, layer in enumerate(self.layers):
            x = linear(x, layer.weight, layer.bias) if i else x
            if i < len(self.layers) - 1:
                x = layer.hook_post(act(layer.hook_pre(x)))
        return OUTPUTS[self.cfg.output](x)

    def _first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """The first layer's pre-activations on the input read as numbers, ``[batch, widths[0]]`` (stacked: per run
        ``[K, batch, widths[0]]``, or one batch shared by every run)."""
        weight = self.layers[0].weight
        if not x.is_floating_point():
            x = x.to(weight.dtype)
        if weight.dim() == 2:
            x = x.flatten(1)
        elif not (x.dim() == 3 and x.shape[0] == weight.shape[0] and x.shape[-1] == weight.shape[-1]):
            x = x.flatten(1).expand(weight.shape[0], -1, -1)
        return linear(x, weight, self.layers[0].bias)

    def _first_layer_two_hot(self, tokens: torch.Tensor) -> torch.Tensor:
        """The first layer's pre-activations on ``one_hot(a) ++ one_hot(b)``: the weight's columns ``a`` and ``p + b``, added (the
        bias too, where there is one)."""
        layer, p = self.layers[0], self.cfg.widths[0] // 2
        ids = tokens[..., :2] + torch.tensor([0, p], device=tokens.device)
        out = embed(ids, layer.weight.transpose(-1, -2)).sum(-2)
        if layer.bias is None:
            return out
        return out + (layer.bias if layer.bias.dim() == 1 else layer.bias[:, None, :])

    def final_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The outputs: what the loss reads."""
        return self(x)
