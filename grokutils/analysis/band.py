"""The comprehension band: the grokking delay over a grid of training-set size N and batch size B.

A cell of the grid holds the runs at one (N, B) that differ in other settings. Each run reaches the threshold (95%)
on training and on validation accuracy at some logged step, or never. A run's delay is the steps between the two; a
run that fitted its training set but whose validation accuracy had not reached the threshold when it ended counts
as "more than the budget" (``math.inf``), not as missing, and a run that never fitted has no delay. A cell's delay is
the median over its runs that fitted, so a cell whose runs mostly never reached shows as such instead of as the short
delay of its one survivor. ``best_batches`` finds, for each N, the batch size B* with the shortest delay, and
``band_slope`` fits log B* against log N: slope 1 is a band along N/B = const, slope 0 a band that ignores N.
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
        last_steps: each run's last logged step (its budget, or where it stopped); empty where unknown.
    """

    p: int
    n_train: int
    batch_size: int
    train_steps: tuple[int | None, ...]
    val_steps: tuple[int | None, ...]
    last_steps: tuple[int, ...] = ()

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
    def fitted_share(self) -> float:
        """The share of the runs whose training accuracy reached the threshold."""
        return sum(t is not None for t in self.train_steps) / len(self.train_steps)

    @property
    def reached_share(self) -> float:
        """The share of the runs that reached the threshold on both accuracies."""
        return len(self.reached) / len(self.train_steps)

    @property
    def run_delays(self) -> tuple[float | None, ...]:
        """Each run's delay in steps: validation's step minus training's; ``math.inf`` where training reached the
        threshold and validation did not before the run ended; None where training never did."""
        return tuple(None if t is None else math.inf if v is None else v - t
                     for t, v in zip(self.train_steps, self.val_steps))

    @property
    def waits(self) -> tuple[int | None, ...]:
        """For each run that fitted and never reached validation's threshold, the steps it waited after fitting before
        it ended (its delay is more than this); None for the other runs, and for every run where the runs' last steps
        are unknown."""
        lasts = self.last_steps or (None,) * len(self.train_steps)
        return tuple(None if t is None or v is not None or last is None else last - t
                     for t, v, last in zip(self.train_steps, self.val_steps, lasts))

    @property
    def delay_steps(self) -> float | None:
        """The median delay in steps over the runs that fitted (``run_delays``; ``math.inf`` where the median run had
        not generalised when it ended; None: no run fitted)."""
        return median([d for d in self.run_delays if d is not None])

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

    @property
    def carries_best(self) -> bool:
        """Whether the cell may be its N's B*: its delay is finite, and does not rest on one run that crossed both
        thresholds at the same logged step (a delay of 0 from a single run says nothing about a band)."""
        delays = [self.run_delays[i] for i in self.reached]
        return self.delay_steps is not None and math.isfinite(self.delay_steps) and delays not in ([], [0])


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarise(p: int, n_train: int, batch_size: int, histories: list[History], threshold: float = 0.95) -> Cell:
    """The cell of ``histories`` (the runs at one N and B): when each reached ``threshold`` on each accuracy."""
    return Cell(p, n_train, batch_size, tuple(h.steps_to("train_acc", threshold) for h in histories),
                tuple(h.steps_to("val_acc", threshold) for h in histories), tuple(int(h.steps[-1]) for h in histories))


def best_batches(cells: list[Cell]) -> dict[int, Cell]:
    """For each N with a cell that ``carries_best``, its such cell with the shortest delay in steps."""
    best: dict[int, Cell] = {}
    for cell in cells:
        if cell.carries_best and (cell.n_train not in best or cell.delay_steps < best[cell.n_train].delay_steps):
            best[cell.n_train] = cell
    return dict(sorted(best.items()))


def band_slope(cells: list[Cell]) -> PowerLaw | None:
    """The fit of log B* against log N over ``best_batches(cells)`` (None with fewer than two values of N)."""
    best = best_batches(cells)
    if len(best) < 2:
        return None
    return fit_power_law(list(best), [c.batch_size for c in best.values()])


def median(values: list[float]) -> float | None:
    """The median (the mean of the middle two for an even count; ``math.inf`` counts as larger than any number), or
    None for no values."""
    if not values:
        return None
    ordered, mid = sorted(values), len(values) // 2
    return float(ordered[mid]) if len(values) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def log_spread(values: list[float]) -> float | None:
    """The interquartile range of log10 ``values`` (all positive), or None for fewer than two."""
    if len(values) < 2:
        return None
    logs = torch.tensor([math.log10(v) for v in values], dtype=torch.float64)
    return float(logs.quantile(0.75) - logs.quantile(0.25))


@dataclass(frozen=True)
class SameN:
    """At one N, the band's cells against the others: the shortest cell delay on each side (``Cell.delay_steps``).

    Attributes:
        n_train: the training-set size N.
        inside: the shortest delay among the cells with N/B in the band (None: none of their runs fitted).
        outside: the shortest delay among the other cells at this N (None: none of their runs fitted).
        inside_fitted: the share of the band's runs at this N that fitted their training set (None: no such cell).
        n_inside: the band's cells at this N.
        n_outside: the other cells at this N.
    """

    n_train: int
    inside: float | None
    outside: float | None
    inside_fitted: float | None
    n_inside: int
    n_outside: int


def compare_at_each_n(cells: list[Cell], low: float, high: float) -> list[SameN]:
    """For each N with cells on both sides of the band ``low <= N/B <= high``: the two sides' shortest delays."""
    out = []
    for n in sorted({c.n_train for c in cells}):
        inside = [c for c in cells if c.n_train == n and c.within(low, high)]
        outside = [c for c in cells if c.n_train == n and not c.within(low, high)]
        if inside and outside:
            runs = [t is not None for c in inside for t in c.train_steps]
            out.append(SameN(n, _shortest(inside), _shortest(outside), sum(runs) / len(runs), len(inside), len(outside)))
    return out


def _shortest(cells: list[Cell]) -> float | None:
    delays = [c.delay_steps for c in cells if c.delay_steps is not None]
    return min(delays, default=None)
