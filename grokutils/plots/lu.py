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


def _label_alpha_c(ax, alpha_c: float) -> None:
    """Name the dashed α_c line beside its top end, inside the panel (a legend entry would sit across the line)."""
    ax.annotate(f"α_c = {alpha_c:.2f}", (alpha_c, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -2),
                textcoords="offset points", ha="left", va="top", fontsize="small")


def plot_landscapes(alphas, panels: dict[str, tuple], metric: str = "error",
                    alpha_c: dict[str, float] | None = None) -> plt.Figure:
    """One panel per training-set size: the best train and test ``metric`` of each norm-fixed run against α.

    ``panels`` maps a title to ``(train, test)`` values on the grid ``alphas``; ``metric`` is ``"error"``
    (1 - best accuracy, linear axis) or ``"loss"`` (lowest loss, log axis); ``alpha_c`` marks a
    dashed line per panel.
    """
    check_choice("metric", metric, METRICS)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.6), layout="constrained", sharey=True,
                             squeeze=False)
    for ax, (title, (train, test)) in zip(axes[0], panels.items()):
        marked = None if alpha_c is None else alpha_c.get(title)
        _draw(ax, alphas, train, test, marked, metric)
        if marked is not None:
            _label_alpha_c(ax, marked)
        ax.set_title(title)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    names = [("α_c (lowest test error)" if label.startswith("α_c") else label) for label in labels]
    fig.legend(handles, names, loc="outside upper center", ncol=len(names), fontsize="small")
    axes[0, 0].set_ylabel(LABELS[metric])
    return fig


def plot_landscape(alphas, train, test, alpha_c: float | None, trajectory: History | None = None,
                   w0: float | None = None, metric: str = "error", loss_scale: float = 1.0) -> plt.Figure:
    """The landscape of one training-set size; optionally an unconstrained run's path on the same axes.

    ``trajectory`` is drawn as its logged (weight norm / ``w0``, value) points joined by a line with arrows
    in the direction of training, from start (○, the test error's ring inside the training error's) to
    end (■): ``1 - accuracy`` for ``metric="error"``, the loss times ``loss_scale`` for ``"loss"``, so that
    both are in the landscape's units.
    """
    check_choice("metric", metric, METRICS)
    fig, ax = plt.subplots(figsize=(6.0, 3.8), layout="constrained")
    _draw(ax, alphas, train, test, alpha_c, metric)
    if trajectory is not None:
        if w0 is None:
            raise ValueError("w0 is None: drawing a trajectory needs the unit norm w0")
        a = (trajectory.weight_norm / w0).tolist()
        names = ("train_acc", "val_acc") if metric == "error" else ("train_loss", "val_loss")
        for name, color, ring in zip(names, (TRAIN_COLOR, VAL_COLOR), (11, 6)):
            col = trajectory.metrics[name]
            values = (1 - col if metric == "error" else loss_scale * col).tolist()
            ax.plot(a, values, color=color, lw=2.2, alpha=0.55, solid_capstyle="round")
            ax.plot(a[0], values[0], "o", mfc="none", mew=1.6, ms=ring, color=color)
            ax.plot(a[-1], values[-1], "s", ms=7, color=color)
            _arrows(ax, a, values, color)
        ax.plot([], [], "-", color="#555555", lw=2.2, alpha=0.55, label="unconstrained run (○ start, ■ end)")
    ax.set_ylabel(LABELS[metric] if trajectory is None else LABELS[metric].replace("best ", "").replace("lowest ", ""))
    ax.legend(loc="best", fontsize="small", frameon=True, framealpha=0.9, edgecolor="#cccccc")
    return fig


def _arrows(ax, xs: list[float], ys: list[float], color: str, n: int = 4) -> None:
    """Arrowheads along a logged path, in the direction of training, at ``n`` points spread evenly over its length
    on the axes (so that they fall where the path moves, not where the logged steps crowd)."""
    ax.autoscale_view()
    points = ax.transData.transform(list(zip(xs, ys)))
    seg = ((points[1:] - points[:-1]) ** 2).sum(-1) ** 0.5
    total = float(seg.sum())
    if len(xs) < 2 or total == 0:
        return
    run = seg.cumsum()
    for k in range(1, n + 1):
        i = int((run < total * k / (n + 1)).sum())
        j = min(i + 1, len(xs) - 1)
        if seg[i] > 0:
            ax.annotate("", (xs[j], ys[j]), (xs[i], ys[i]), arrowprops=dict(arrowstyle="-|>", color=color, lw=0,
                                                                            mutation_scale=14, shrinkA=0, shrinkB=0))
