"""Figures of the LU-mechanism chapter (Omnigrok's landscapes, the α = 8 run across them)."""
from __future__ import annotations

import matplotlib.pyplot as plt

from grokutils.config import check_choice
from grokutils.history import History
from grokutils.plots.base import TRAIN_COLOR, VAL_COLOR

METRICS = ("error", "loss")
LABELS = {"error": "error (1 - best accuracy)", "loss": "lowest loss (MSE summed over classes)"}


def _draw(ax, alphas, train, test, alpha_c: float | None, metric: str) -> None:
    ax.plot(alphas, train, "o-", ms=3.5, color=TRAIN_COLOR, label="train (norm fixed)")
    ax.plot(alphas, test, "o-", ms=3.5, color=VAL_COLOR, label="test (norm fixed)")
    if alpha_c is not None:
        ax.axvline(alpha_c, color="k", ls="--", lw=1, label=f"α_c = {alpha_c:.2f}")
    ax.set(xscale="log", yscale="log" if metric == "loss" else "linear", xlabel="α = weight norm / w₀")


def plot_landscapes(alphas, panels: dict[str, tuple], metric: str = "error",
                    alpha_c: dict[str, float] | None = None) -> plt.Figure:
    """One panel per training-set size: the best train and test ``metric`` of each norm-fixed run against α.

    ``panels`` maps a title to ``(train, test)`` values on the grid ``alphas``; ``metric`` is ``"error"``
    (1 - best accuracy, linear axis) or ``"loss"`` (lowest loss, log axis); ``alpha_c`` marks a
    dashed line per panel.
    """
    check_choice("metric", metric, METRICS)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.4), layout="constrained", sharey=True,
                             squeeze=False)
    for ax, (title, (train, test)) in zip(axes[0], panels.items()):
        _draw(ax, alphas, train, test, None if alpha_c is None else alpha_c.get(title), metric)
        ax.set_title(title)
        ax.legend(loc="best", fontsize="small")
    axes[0, 0].set_ylabel(LABELS[metric])
    return fig


def plot_landscape(alphas, train, test, alpha_c: float | None, trajectory: History | None = None,
                   w0: float | None = None, metric: str = "error", loss_scale: float = 1.0) -> plt.Figure:
    """The landscape of one training-set size; optionally an unconstrained run's path on the same axes.

    ``trajectory`` is drawn as its logged (weight norm / ``w0``, value) points, thin and dotted, from
    start (○) to end (■): ``1 - accuracy`` for ``metric="error"``, the loss times ``loss_scale`` for
    ``"loss"``, so that both are in the landscape's units.
    """
    check_choice("metric", metric, METRICS)
    fig, ax = plt.subplots(figsize=(6.0, 3.8), layout="constrained")
    _draw(ax, alphas, train, test, alpha_c, metric)
    if trajectory is not None:
        if w0 is None:
            raise ValueError("w0 is None: drawing a trajectory needs the unit norm w0")
        a = (trajectory.weight_norm / w0).tolist()
        names = ("train_acc", "val_acc") if metric == "error" else ("train_loss", "val_loss")
        for name, color in zip(names, (TRAIN_COLOR, VAL_COLOR)):
            col = trajectory.metrics[name]
            values = (1 - col if metric == "error" else loss_scale * col).tolist()
            ax.plot(a, values, color=color, lw=0.9, alpha=0.7, ls=":")
            ax.plot(a[0], values[0], "o", mfc="none", color=color)
            ax.plot(a[-1], values[-1], "s", color=color)
        ax.plot([], [], "k:", lw=0.9, label="unconstrained run (○ start, ■ end)")
    ax.set_ylabel(LABELS[metric] if trajectory is None else LABELS[metric].replace("best ", "").replace("lowest ", ""))
    ax.legend(loc="best", fontsize="small")
    return fig
