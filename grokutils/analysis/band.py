"""The comprehension band: the grokking delay over a grid of training-set size N and batch size B.

A cell of the grid holds the runs at one (N, B) that differ in other settings. Each run reaches the
threshold (95%) on training and on validation accuracy at some logged step (or never); a cell's delay
is the mean, over its runs that reach both, of the steps between the two, and in epochs that times
B / N. ``best_batches`` finds, for each N, the batch size B* with the shortest delay, and ``band_slope``
fits log B* against log N: slope 1 is a band along N/B = const, slope 0 a band that ignores N.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from grokutils.analysis.lu import PowerLaw, fit_power_law
from grokutils.history import History


@dataclass(frozen=True)
class Cell:
    """One (N, B) cell of the grid.

    Attributes:
        p: the modulus that sets the training-set size.
        n_train: the training-set size N.
        batch_size: the batch size B.
        train_steps: each run's first logged step with training accuracy at the threshold (None: never).
        val_steps: each run's first logged step with validation accuracy at the threshold (None: never).
    """

    p: int
    n_train: int
    batch_size: int
    train_steps: tuple[int | None, ...]
    val_steps: tuple[int | None, ...]

    @property
    def ratio(self) -> float:
        """N / B: the number of batches per epoch."""
        return self.n_train / self.batch_size

    def within(self, low: float, high: float) -> bool:
        """Whether ``low <= N/B <= high``."""
        return low <= self.ratio <= high

    @property
    def reached(self) -> list[int]:
        """The runs that reached the threshold on both accuracies."""
        return [i for i, (t, v) in enumerate(zip(self.train_steps, self.val_steps)) if t is not None and v is not None]

    @property
    def delay_steps(self) -> float | None:
        """The mean delay in steps over the runs that reached both (None: none did)."""
        return _mean([self.val_steps[i] - self.train_steps[i] for i in self.reached])

    @property
    def delay_epochs(self) -> float | None:
        """``delay_steps`` in epochs (steps x B / N)."""
        steps = self.delay_steps
        return None if steps is None else steps * self.batch_size / self.n_train

    @property
    def train_step(self) -> float | None:
        """The mean step of training accuracy at the threshold, over the runs that reached both."""
        return _mean([self.train_steps[i] for i in self.reached])

    @property
    def val_step(self) -> float | None:
        """The mean step of validation accuracy at the threshold, over the runs that reached both."""
        return _mean([self.val_steps[i] for i in self.reached])


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarise(p: int, n_train: int, batch_size: int, histories: list[History], threshold: float = 0.95) -> Cell:
    """The cell of ``histories`` (the runs at one N and B): when each reached ``threshold`` on each accuracy."""
    return Cell(p, n_train, batch_size, tuple(h.steps_to("train_acc", threshold) for h in histories),
                tuple(h.steps_to("val_acc", threshold) for h in histories))


def best_batches(cells: list[Cell]) -> dict[int, Cell]:
    """For each N with at least one cell that reached both thresholds, its cell with the shortest delay in steps."""
    best: dict[int, Cell] = {}
    for cell in cells:
        if cell.delay_steps is not None and (cell.n_train not in best or cell.delay_steps < best[cell.n_train].delay_steps):
            best[cell.n_train] = cell
    return dict(sorted(best.items()))


def band_slope(cells: list[Cell]) -> PowerLaw | None:
    """The fit of log B* against log N over ``best_batches(cells)`` (None with fewer than two values of N)."""
    best = best_batches(cells)
    if len(best) < 2:
        return None
    return fit_power_law(list(best), [c.batch_size for c in best.values()])


def median(values: list[float]) -> float | None:
    """The median (the mean of the middle two for an even count), or None for no values."""
    if not values:
        return None
    return float(torch.tensor(values, dtype=torch.float64).quantile(0.5))


def log_spread(values: list[float]) -> float | None:
    """The interquartile range of log10 ``values`` (all positive), or None for fewer than two."""
    if len(values) < 2:
        return None
    logs = torch.tensor([math.log10(v) for v in values], dtype=torch.float64)
    return float(logs.quantile(0.75) - logs.quantile(0.25))


def delays_by_band(cells: list[Cell], low: float, high: float) -> tuple[list[float], list[float]]:
    """The delays (steps) of the cells that reached both thresholds: those with ``low <= N/B <= high``, and the others."""
    inside = [c.delay_steps for c in cells if c.delay_steps is not None and c.within(low, high)]
    outside = [c.delay_steps for c in cells if c.delay_steps is not None and not c.within(low, high)]
    return inside, outside
