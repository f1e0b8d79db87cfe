"""The randomness of the interventions, drawn per run from each run's own generator.

Update noise, weight noise (``step``) and dropout masks (``models.transformer``) come from one ``torch.Generator``
per run, seeded from its ``train.seed`` (``generators``). Noise for runs stacked ``[K, ...]`` is drawn run by run, so
a run draws the same numbers whether it trains alone or in a batch, and a run without noise draws none.
"""
from __future__ import annotations

import torch

SEED_OFFSET = 104_729
"""Added to a run's ``train.seed`` for its noise generator, so its noise is not its batch order's stream."""


def generators(seeds: list[int], device: torch.device | str) -> list[torch.Generator]:
    """One generator per run on ``device``, seeded with ``seed + SEED_OFFSET``."""
    return [torch.Generator(device=device).manual_seed(seed + SEED_OFFSET) for seed in seeds]


def gaussian(stacked: torch.Tensor, stds: list[float], gens: list[torch.Generator]) -> torch.Tensor:
    """``[K, ...]`` like ``stacked``: run k's slice is N(0, ``stds[k]``²) from ``gens[k]`` (zeros where the std is 0)."""
    out = torch.zeros_like(stacked)
    for k, (std, gen) in enumerate(zip(stds, gens)):
        if std:
            out[k] = torch.randn(stacked.shape[1:], generator=gen, device=stacked.device, dtype=stacked.dtype) * std
    return out


def dropout(x: torch.Tensor, rate: float, gens: list[torch.Generator] | None, stacked: bool) -> torch.Tensor:
    """Inverted dropout of ``x`` at ``rate``: each element zeroed with probability ``rate``, the rest scaled by
    ``1 / (1 - rate)``. Runs stacked along the first axis (``stacked``) get masks from their own generators; with
    ``gens`` None, torch's global generator draws them (a model used outside the training loop)."""
    if not rate:
        return x
    if gens is None:
        return torch.nn.functional.dropout(x, rate, training=True)
    shape = x.shape[1:] if stacked else x.shape
    keep = [torch.rand(shape, generator=g, device=x.device) >= rate for g in gens]
    mask = torch.stack(keep) if stacked else keep[0]
    return x * mask / (1 - rate)
