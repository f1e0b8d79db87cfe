"""The loss landscape around trained weights (Li et al. 2018): filter-normalised random directions, the loss
on a 2-D grid and along a line, and the numbers read off it (range, sharpness).

A *direction* is a random tensor per parameter, drawn Gaussian and rescaled filter by filter so that each
filter of the direction has the norm of the same filter of the weights; tensors with one axis, and biases,
are zeroed, as Li et al. do. A filter is one slice of a weight along its ``filter_axis``: for our
transformer (TransformerLens names) one token's row of ``W_E``, one position's row of ``W_pos``, one head
of ``W_Q``/``W_K``/``W_V``/``W_O``, one neuron of the MLP (a column of ``W_in``, a row of ``W_out``) and
one output class of ``W_U`` (a column); any other matrix, a row (a ``nn.Linear`` output neuron).

The grid is evaluated by a ``loss_fn`` that takes the weights of many grid points at once, stacked
``{name: [G, ...]}``, and returns ``{name: [G]}`` (say, training and validation loss): ``stacked_losses``
builds one for a model config and a data split, running the points as one batched model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch.func import functional_call

from grokutils.models import stack
from grokutils.train import evaluate_logits

FILTER_AXES = {"W_E": 0, "W_pos": 0, "W_Q": 0, "W_K": 0, "W_V": 0, "W_O": 0, "W_in": 1, "W_out": 0, "W_U": 1}
"""The axis indexing one filter of each transformer weight, by the last part of its name (see the module doc)."""

EXAMPLES_PER_FORWARD = 32768
"""Grid points times examples in one forward pass of ``stacked_losses`` (bounds its memory)."""
Weights = dict[str, torch.Tensor]
LossFn = Callable[[Weights], dict[str, torch.Tensor]]


def filter_axis(name: str, weight: torch.Tensor) -> int | None:
    """The axis of ``weight`` whose slices are its filters, or None where Li et al. zero the direction
    (tensors with one axis, such as LayerNorm gains, and biases, whose names start with ``b``)."""
    last = name.rsplit(".", 1)[-1]
    if weight.dim() < 2 or last.startswith("b"):
        return None
    return FILTER_AXES.get(last, 0)


def filter_norms(weight: torch.Tensor, axis: int) -> torch.Tensor:
    """The L2 norm of each filter of ``weight`` (its slices along ``axis``)."""
    return weight.movedim(axis, 0).flatten(1).norm(dim=1)


def random_direction(weights: Weights, generator: torch.Generator) -> Weights:
    """A Gaussian direction rescaled filter by filter to the norms of ``weights``' filters (zero where
    ``filter_axis`` is None). Weights are float tensors; buffers should not be passed."""
    out = {}
    for name, w in weights.items():
        axis = filter_axis(name, w)
        if axis is None:
            out[name] = torch.zeros_like(w)
            continue
        d = torch.randn(w.shape, generator=generator, dtype=w.dtype).to(w.device)
        scale = filter_norms(w, axis) / filter_norms(d, axis).clamp_min(1e-12)
        shape = [1] * w.dim()
        shape[axis] = -1
        out[name] = d * scale.view(shape)
    return out


def grid_coords(n: int, radius: float = 1.0) -> torch.Tensor:
    """``n`` evenly spaced coordinates over [-radius, radius], ``n`` odd so that 0 (the trained weights) is one."""
    if n < 3 or n % 2 == 0:
        raise ValueError(f"n must be an odd integer >= 3 (the grid includes 0), got {n!r}")
    return (torch.arange(n, dtype=torch.float64) - n // 2) * (radius / (n // 2))


def _points(weights: Weights, directions: list[Weights], offsets: torch.Tensor) -> Weights:
    """The weights at ``offsets [G, len(directions)]``, stacked ``{name: [G, ...]}``."""
    out = {}
    for name, w in weights.items():
        moved = w.unsqueeze(0).expand(len(offsets), *w.shape).clone()
        for i, d in enumerate(directions):
            moved += offsets[:, i].to(w.dtype).view(-1, *[1] * w.dim()) * d[name]
        out[name] = moved
    return out


def evaluate_points(loss_fn: LossFn, weights: Weights, directions: list[Weights], offsets: torch.Tensor,
                    chunk: int = 64) -> dict[str, torch.Tensor]:
    """``loss_fn`` at ``weights + sum_i offsets[:, i] * directions[i]`` for each row of ``offsets``, in chunks."""
    parts: dict[str, list[torch.Tensor]] = {}
    for rows in offsets.split(chunk):
        for name, values in loss_fn(_points(weights, directions, rows)).items():
            parts.setdefault(name, []).append(values.double().cpu())
    return {name: torch.cat(values) for name, values in parts.items()}


def surface(loss_fn: LossFn, weights: Weights, d1: Weights, d2: Weights, coords: torch.Tensor,
            chunk: int = 64) -> dict[str, torch.Tensor]:
    """Each quantity of ``loss_fn`` on the grid: ``[i, j]`` at ``weights + coords[i] d1 + coords[j] d2``."""
    a, b = torch.meshgrid(coords, coords, indexing="ij")
    flat = evaluate_points(loss_fn, weights, [d1, d2], torch.stack([a.flatten(), b.flatten()], 1), chunk)
    return {name: values.view(len(coords), len(coords)) for name, values in flat.items()}


def line(loss_fn: LossFn, weights: Weights, direction: Weights, coords: torch.Tensor,
         chunk: int = 64) -> dict[str, torch.Tensor]:
    """Each quantity of ``loss_fn`` along ``weights + coords[i] direction``."""
    return evaluate_points(loss_fn, weights, [direction], coords[:, None], chunk)


def loss_range(values: torch.Tensor) -> float:
    """Max minus min of a surface or line."""
    return float(values.max() - values.min())


def sharpness(values: torch.Tensor, coords: torch.Tensor, radius: float = 0.5) -> float:
    """The mean increase of a surface ``values [n, n]`` over its centre, at the grid points whose distance from
    the centre is within half a grid step of ``radius``."""
    centre = len(coords) // 2
    if coords[centre] != 0:
        raise ValueError("coords must be symmetric with 0 in the middle (grid_coords)")
    a, b = torch.meshgrid(coords, coords, indexing="ij")
    step = float(coords[1] - coords[0])
    ring = ((a**2 + b**2).sqrt() - radius).abs() <= step / 2
    if not ring.any():
        raise ValueError(f"radius must lie within the grid ({float(coords[-1]):g}), got {radius!r}")
    return float(values[ring].mean() - values[centre, centre])


def stacked_losses(model_cfg, data, loss: str = "cross_entropy", max_examples: int | None = None) -> LossFn:
    """A ``loss_fn`` for ``surface``: the mean training and validation loss (``"train"``, ``"val"``) of the
    model ``model_cfg`` builds at each stacked point, on the first ``max_examples`` of each set of ``data``
    (a ``tasks.split.Split``; None: all)."""
    sets = {"train": (data.x_train, data.y_train), "val": (data.x_val, data.y_val)}
    sets = {name: (x[:max_examples], y[:max_examples]) for name, (x, y) in sets.items()}
    models: dict[int, _FinalLogits] = {}

    def loss_fn(points: Weights) -> dict[str, torch.Tensor]:
        k = len(next(iter(points.values())))
        if k not in models:
            models[k] = _FinalLogits(stack([model_cfg.build()] * k).eval())
        params = {f"model.{name}": t for name, t in points.items()}
        logits = lambda xs: functional_call(models[k], params, (xs,))
        per_forward = max(1, EXAMPLES_PER_FORWARD // k)
        return {name: evaluate_logits(logits, x, y, loss, k, chunk=per_forward)[0] for name, (x, y) in sets.items()}

    return loss_fn


class _FinalLogits(torch.nn.Module):
    """A stacked model whose forward is its ``final_logits`` (what the loss reads), for ``functional_call``."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.final_logits(tokens)


def direction_norm_ratio(direction: Weights, weights: Weights) -> float:
    """The direction's total norm over that of the weights it may move (1 when every weight is filtered)."""
    moved = [n for n, w in weights.items() if filter_axis(n, w) is not None]
    num = math.sqrt(sum(float(direction[n].pow(2).sum()) for n in moved))
    den = math.sqrt(sum(float(weights[n].pow(2).sum()) for n in moved))
    return num / den
