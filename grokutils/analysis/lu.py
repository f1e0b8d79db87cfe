"""Omnigrok's LU mechanism (Liu, Michaud & Tegmark 2023): the loss landscape against the weight norm.

The numbers of ``book/lu_mechanism.ipynb``: weight norms in units of the standard initialisation's
(α); the best accuracy and loss each norm-constrained run reached over its training (what Omnigrok's
landscape code records); the "Goldilocks" α_c where the test error is lowest; where on the grid the
runs fit their training set (the floor of the L); and a power-law fit, with its confidence interval,
of time against weight decay. Its figures are in ``grokutils.plots.lu``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from grokutils.history import History
from grokutils.models import MLPConfig, TransformerConfig


def unit_norm(model_cfg: MLPConfig | TransformerConfig) -> float:
    """w₀: the total L2 norm of ``model_cfg``'s parameters at the standard initialisation (α = 1)."""
    params = dataclasses.replace(model_cfg, init_scale=1.0).build().parameters()
    return torch.linalg.vector_norm(torch.stack([p.detach().norm() for p in params])).item()


@dataclass(frozen=True)
class Landscape:
    """The best each run of a norm-constrained sweep reached over its logged steps, one value per α.

    Attributes:
        train_err, test_err: 1 - the best training / test accuracy, ``[K]`` each.
        train_loss, test_loss: the lowest training / test loss, ``[K]`` each, times ``loss_scale``.
    """

    train_err: torch.Tensor
    test_err: torch.Tensor
    train_loss: torch.Tensor
    test_loss: torch.Tensor


def best_over_training(histories: list[History], loss_scale: float = 1.0) -> Landscape:
    """Each run's best accuracy (as an error) and lowest loss over its logged steps, as Omnigrok records them.

    ``loss_scale`` converts the logged loss: 10 turns MSE averaged over MNIST's ten classes into the
    sum over them that Omnigrok's landscape code reports.
    """
    if not histories:
        raise ValueError("histories is empty: a landscape needs at least one run")

    def column(name: str, best) -> torch.Tensor:
        return torch.tensor([best(h.metrics[name]).item() for h in histories], dtype=torch.float64)

    return Landscape(1 - column("train_acc", torch.max), 1 - column("val_acc", torch.max),
                     loss_scale * column("train_loss", torch.min), loss_scale * column("val_loss", torch.min))


def critical_alpha(alphas, values) -> float:
    """α_c: the α of the grid where ``values`` (test error or loss) is lowest."""
    return float(alphas[int(torch.as_tensor(values).argmin())])


def fitting_band(alphas, train_err, tol: float = 0.0) -> tuple[float, float] | None:
    """(lowest, highest) α whose training error is at most ``tol`` (None: no run fit); see ``band_is_contiguous``."""
    hits = (torch.as_tensor(train_err) <= tol).nonzero().flatten().tolist()
    return (float(alphas[hits[0]]), float(alphas[hits[-1]])) if hits else None


def band_is_contiguous(alphas, train_err, tol: float = 0.0) -> bool:
    """True when every α between the fitting band's ends fit too (a floor without holes)."""
    fit = (torch.as_tensor(train_err) <= tol).tolist()
    hits = [i for i, f in enumerate(fit) if f]
    return bool(hits) and all(fit[hits[0]: hits[-1] + 1])


def mean_gap(alphas, train_err, test_err, above: float) -> float:
    """The mean of test minus training error over the α of the grid above ``above`` (the right arm)."""
    a = torch.as_tensor(alphas, dtype=torch.float64)
    keep = a > above
    if not bool(keep.any()):
        raise ValueError(f"above={above} leaves no α of the grid (largest {float(a.max()):g})")
    gap = torch.as_tensor(test_err, dtype=torch.float64) - torch.as_tensor(train_err, dtype=torch.float64)
    return gap[keep].mean().item()


def interpolate_log(alphas, values, alpha: float) -> float:
    """``values`` at ``alpha``, linear in log α between the grid's points (clamped at the ends)."""
    la = torch.log(torch.as_tensor(alphas, dtype=torch.float64))
    v = torch.as_tensor(values, dtype=torch.float64)
    x = math.log(alpha)
    if x <= la[0]:
        return v[0].item()
    if x >= la[-1]:
        return v[-1].item()
    i = int(torch.searchsorted(la, torch.tensor(x, dtype=torch.float64))) - 1
    w = (x - la[i].item()) / (la[i + 1] - la[i]).item()
    return ((1 - w) * v[i] + w * v[i + 1]).item()


def t_quantile(df: int, p: float = 0.975) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (numerically, for confidence intervals)."""
    if not isinstance(df, int) or df < 1:
        raise ValueError(f"df={df!r} must be a positive integer")
    if not 0.5 < p < 1:
        raise ValueError(f"p={p!r} must be in (0.5, 1)")
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def cdf(t: float) -> float:
        x = torch.linspace(0, t, 4001, dtype=torch.float64)
        pdf = torch.exp(log_c - (df + 1) / 2 * torch.log1p(x**2 / df))
        return 0.5 + torch.trapezoid(pdf, x).item()

    low, high = 0.0, 1.0
    while cdf(high) < p:
        low, high = high, 2 * high
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < p else (low, mid)
    return (low + high) / 2


@dataclass(frozen=True)
class PowerLaw:
    """A least-squares line through ``(log x, log y)``: y ≈ e^intercept · x^slope.

    Attributes:
        slope, intercept: the fit.
        slope_low, slope_high: the slope's confidence interval (NaN with only two points).
        level: that interval's confidence level.
    """

    slope: float
    intercept: float
    slope_low: float
    slope_high: float
    level: float

    def excludes(self, value: float) -> bool:
        """True when ``value`` lies outside the slope's confidence interval (False when there is none)."""
        return not math.isnan(self.slope_low) and not self.slope_low <= value <= self.slope_high


def fit_power_law(x, y, level: float = 0.95) -> PowerLaw:
    """The power law through ``(x, y)`` with a ``level`` confidence interval on its slope (Student's t)."""
    lx, ly = torch.log(torch.as_tensor(x, dtype=torch.float64)), torch.log(torch.as_tensor(y, dtype=torch.float64))
    if len(lx) < 2 or len(lx) != len(ly):
        raise ValueError(f"need at least two (x, y) pairs of equal length, got {len(lx)} and {len(ly)}")
    sxx = ((lx - lx.mean()) ** 2).sum()
    slope = ((lx - lx.mean()) * (ly - ly.mean())).sum() / sxx
    intercept = ly.mean() - slope * lx.mean()
    n = len(lx)
    if n == 2:
        return PowerLaw(slope.item(), intercept.item(), math.nan, math.nan, level)
    residual = ly - (intercept + slope * lx)
    se = torch.sqrt((residual**2).sum() / (n - 2) / sxx).item()
    half = t_quantile(n - 2, (1 + level) / 2) * se
    return PowerLaw(slope.item(), intercept.item(), slope.item() - half, slope.item() + half, level)
