"""Omnigrok's LU mechanism (Liu, Michaud & Tegmark 2023): the loss landscape against the weight norm.

The numbers of ``book/lu_mechanism.ipynb``: weight norms in units of the standard initialisation's
(α), the final losses of a norm-constrained sweep, the "Goldilocks" α_c where the test loss is
lowest, and a power-law fit of time against weight decay. Its figures are in ``grokutils.plots``.
"""
from __future__ import annotations

import dataclasses

import torch

from grokutils.history import History
from grokutils.models import MLPConfig, TransformerConfig


def unit_norm(model_cfg: MLPConfig | TransformerConfig) -> float:
    """w₀: the total L2 norm of ``model_cfg``'s parameters at the standard initialisation (α = 1)."""
    params = dataclasses.replace(model_cfg, init_scale=1.0).build().parameters()
    return torch.linalg.vector_norm(torch.stack([p.detach().norm() for p in params])).item()


def final_losses(histories: list[History]) -> tuple[torch.Tensor, torch.Tensor]:
    """(train loss, test loss) of each run at its last logged step, as two ``[K]`` tensors."""
    return (torch.tensor([h.train_loss[-1].item() for h in histories]),
            torch.tensor([h.val_loss[-1].item() for h in histories]))


def critical_alpha(alphas, test_loss: torch.Tensor) -> float:
    """α_c: the α of the grid with the lowest test loss."""
    return float(alphas[int(torch.as_tensor(test_loss).argmin())])


def fit_power_law(x, y) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line through ``(log x, log y)``: y ≈ e^intercept · x^slope."""
    lx, ly = torch.log(torch.as_tensor(x, dtype=torch.float64)), torch.log(torch.as_tensor(y, dtype=torch.float64))
    if len(lx) < 2 or len(lx) != len(ly):
        raise ValueError(f"need at least two (x, y) pairs of equal length, got {len(lx)} and {len(ly)}")
    slope = ((lx - lx.mean()) * (ly - ly.mean())).sum() / ((lx - lx.mean()) ** 2).sum()
    return slope.item(), (ly.mean() - slope * lx.mean()).item()
