"""Memorisation against generalisation (Varma et al. 2023; Huang et al. 2024), as numbers read off runs.

- ``memorised``: how many training examples a run fits at its end (its memorisation capacity on random labels).
- ``classify``: a run's zone from its accuracy curves, by the thresholds of ``Zones``.
- ``accuracy_near``: a run's accuracy at a shorter budget (the logged step nearest to it).
- ``critical_size``: the smallest training-set size of a grid from which every larger one reaches a level: D_crit within
  the budget for runs from scratch, the ungrokking threshold for runs continued on subsets of a grokked network's data.
"""
from __future__ import annotations

from dataclasses import dataclass

from grokutils.history import History

ZONES = ("progression", "grokking", "semi-grokking", "memorisation", "underfitting")
"""The zones ``classify`` names, from the most data-efficient to the least."""


@dataclass(frozen=True)
class Zones:
    """The thresholds that name a run's zone.

    Attributes:
        fit_acc: a run *fits* when its training accuracy reaches this (99%).
        general_acc: a run *generalises* when its validation accuracy reaches this (90%) ...
        floor_acc: ... and *memorises* when its final validation accuracy stays below this (20%); between the two at
            its end it *semi-groks*.
        delay_factor: a run that generalises at most this many times later than it fits is *progression* (both rise
            together, Huang et al.), later than that *grokking* (2).
    """

    fit_acc: float = 0.99
    general_acc: float = 0.9
    floor_acc: float = 0.2
    delay_factor: float = 2.0

    def __post_init__(self):
        if not 0 < self.floor_acc < self.general_acc <= 1 or not 0 < self.fit_acc <= 1 or self.delay_factor < 1:
            raise ValueError(f"Zones({self}) needs 0 < floor_acc < general_acc <= 1, 0 < fit_acc <= 1 and "
                             "delay_factor >= 1")


def memorised(history: History) -> int:
    """The number of training examples a run classifies correctly at its last logged step."""
    return round(history.train_acc[-1].item() * history.config.task.n_train)


def fit_step(history: History, zones: Zones = Zones()) -> int | None:
    """The first logged step with training accuracy at ``zones.fit_acc`` (None: never)."""
    return history.steps_to("train_acc", zones.fit_acc)


def general_step(history: History, zones: Zones = Zones()) -> int | None:
    """The first logged step with validation accuracy at ``zones.general_acc`` (None: never)."""
    return history.steps_to("val_acc", zones.general_acc)


def delay(history: History, zones: Zones = Zones()) -> int | None:
    """Steps from fitting to generalising (None unless both happen)."""
    fit, general = fit_step(history, zones), general_step(history, zones)
    return None if fit is None or general is None else general - fit


def classify(history: History, zones: Zones = Zones()) -> str:
    """The run's zone (``ZONES``) by its final validation accuracy. A run that ends generalised is *progression* when it
    generalises at most ``delay_factor`` times later than it fits, or without ever fitting (generalisation at moderate
    training accuracy, Huang et al.'s mark of progression), else *grokking*; a run that ends below ``general_acc`` is
    *underfitting* if it never fitted, else *semi-grokking* or *memorisation*."""
    fit, general, final = fit_step(history, zones), general_step(history, zones), history.val_acc[-1].item()
    if final >= zones.general_acc:
        if fit is None or general <= zones.delay_factor * max(fit, 1):
            return "progression"
        return "grokking"
    if fit is None:
        return "underfitting"
    return "semi-grokking" if final >= zones.floor_acc else "memorisation"


def accuracy_near(history: History, step: int, metric: str = "val_acc") -> float:
    """``metric`` at the logged step nearest to ``step`` (a shorter budget's reading of a run); a run that stopped
    before ``step`` gives its last value."""
    i = (history.steps - step).abs().argmin()
    return history.metrics[metric][i].item()


def critical_size(final_acc: dict[int, float], level: float) -> int | None:
    """The smallest size of the grid whose final accuracy, and that of every larger size, is at least ``level``
    (None: the largest size stays below it)."""
    out = None
    for size in sorted(final_acc, reverse=True):
        if final_acc[size] < level:
            break
        out = size
    return out

