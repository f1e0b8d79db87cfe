"""How fast runs grok, compared fairly: steps to a level with unreached runs counted at the budget, the best setting of a
tuning grid by its median over seeds, and the speed-up of one method over another with a bootstrap interval.

A run that never reached the level within its budget took *more* than the budget; counting it at the budget makes every
median and ratio here a bound on the conservative side: a speed-up over a baseline that never reached is at least the
one computed, and a speed-up of a method that never reached is at most it.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import torch

from grokutils.history import History


def steps_or_budget(steps: list[int | None], budget: int) -> list[float]:
    """Each run's steps to the level, an unreached run (None) counted at ``budget``."""
    return [float(budget if s is None else s) for s in steps]


def median_steps(steps: list[int | None]) -> float:
    """The median of the runs' steps to the level, an unreached run (None) counted as infinitely many: a setting's
    score in a tuning grid, where a seed that never reached makes the setting worse than any that always did."""
    return statistics.median([math.inf if s is None else float(s) for s in steps])


def best_setting(scores: dict) -> object:
    """The key of ``scores`` (setting -> score, e.g. median steps, or a tuple compared in order) with the lowest score;
    ties go to the first in order."""
    return min(scores, key=lambda key: (scores[key], list(scores).index(key)))


@dataclass(frozen=True)
class SpeedUp:
    """How many times fewer steps (or seconds) one side needed than the other, with an interval.

    Attributes:
        ratio: the baseline's median over the method's median (above 1: the method is faster).
        low: the interval's lower end.
        high: the interval's upper end.
        at_least: the baseline's median is the budget (its median run never reached): the ratio is a lower bound.
        at_most: the method's median is the budget: the ratio is an upper bound.
    """

    ratio: float
    low: float
    high: float
    at_least: bool = False
    at_most: bool = False

    def scaled(self, factor: float, low: float, high: float) -> "SpeedUp":
        """The speed-up times a cost ratio (``factor``, with its range ``low`` to ``high``): steps into seconds."""
        return SpeedUp(self.ratio * factor, self.low * low, self.high * high, self.at_least, self.at_most)


def speed_up(baseline: list[float], method: list[float], budget: float, level: float = 0.9, resamples: int = 2000,
             seed: int = 0) -> SpeedUp:
    """The baseline's median steps over the method's, and a ``level`` bootstrap interval of that ratio: each side's
    runs resampled with replacement, ``resamples`` times, from a generator seeded with ``seed`` (the same data give the
    same interval everywhere). ``budget`` marks runs counted at the budget (``steps_or_budget``)."""
    if not baseline or not method:
        raise ValueError("speed_up needs at least one run on each side")
    b, m = torch.tensor(baseline, dtype=torch.float64), torch.tensor(method, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    rb = b[torch.randint(len(b), (resamples, len(b)), generator=gen)].quantile(0.5, dim=1)
    rm = m[torch.randint(len(m), (resamples, len(m)), generator=gen)].quantile(0.5, dim=1)
    ratios = (rb / rm).sort().values
    tail = (1 - level) / 2
    low, high = ratios[int(tail * (resamples - 1))].item(), ratios[math.ceil((1 - tail) * (resamples - 1))].item()
    mb, mm = statistics.median(baseline), statistics.median(method)
    return SpeedUp(mb / mm, low, high, at_least=mb >= budget, at_most=mm >= budget)


def clears(s: SpeedUp, threshold: float) -> float:
    """How far the interval of ``s`` lies past ``threshold``, as a log ratio: positive where its lower end is above
    the threshold, negative where its upper end is below, 0 where the interval contains it."""
    if s.low > threshold:
        return math.log(s.low / threshold)
    return math.log(s.high / threshold) if s.high < threshold else 0.0


def median_delay_ratio(histories: list[History], level: float) -> float | None:
    """The median over runs of (steps to ``level`` validation accuracy) / (steps to ``level`` training accuracy): how
    many times later than they fit their training set the runs generalise (runs that did either never left out;
    None: no run did both)."""
    ratios = []
    for h in histories:
        fit, general = h.steps_to("train_acc", level), h.steps_to("val_acc", level)
        if fit is not None and general is not None:
            ratios.append(general / max(fit, 1))
    return statistics.median(ratios) if ratios else None


def cost_ratios(rounds: list[dict[str, float]], baseline: str) -> dict[str, tuple[float, float, float]]:
    """From interleaved timing rounds (name -> seconds per step, one dict a round), each name's cost relative to
    ``baseline``'s in the same round: (median, lowest, highest) of baseline / name (above 1: cheaper than it)."""
    out = {}
    for name in rounds[0]:
        ratios = sorted(r[baseline] / r[name] for r in rounds)
        out[name] = (statistics.median(ratios), ratios[0], ratios[-1])
    return out
