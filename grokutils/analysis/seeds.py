"""Runs that differ only in their seed, summarised step by step: the median and the range."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from grokutils.history import History


@dataclass(frozen=True)
class Band:
    """One metric over seeds at each logged step.

    Attributes:
        steps: the logged steps every run reached (the shortest run's, when some stopped early).
        median: the median over seeds at each step.
        low: the smallest value over seeds at each step.
        high: the largest value over seeds at each step.
        n_seeds: how many runs went into it.
    """

    steps: torch.Tensor
    median: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor
    n_seeds: int


def band(histories: list[History], metric: str) -> Band:
    """The median and range of ``metric`` over ``histories`` (runs of one setting at several seeds).

    Raises ValueError when the runs logged at different steps (they are not one setting's seeds).
    """
    if not histories:
        raise ValueError("histories is empty: give at least one run")
    n = min(len(h.steps) for h in histories)
    steps = histories[0].steps[:n]
    if any(not torch.equal(h.steps[:n], steps) for h in histories):
        raise ValueError("the runs logged at different steps: a band needs runs of one setting that differ in seed")
    values = torch.stack([h.metrics[metric][:n].float() for h in histories])
    return Band(steps, values.median(0).values, values.min(0).values, values.max(0).values, len(histories))
