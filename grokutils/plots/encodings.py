"""Figures of the models-and-encodings chapter: grids of small accuracy panels, and steps to a level against the
training fraction for several series."""
from __future__ import annotations

import matplotlib.pyplot as plt

from grokutils.history import History
from grokutils.plots.base import TRAIN_COLOR, VAL_COLOR


def plot_curve_grid(rows: dict[str, dict[str, History]], level: float | None = None) -> plt.Figure:
    """One small panel per run, a row per ``rows`` key (its label on the left) and a column per run of that row (its
    key as the panel's title): training (blue) and validation (red) accuracy against the step (log axis), with
    ``level`` (if given) as a dashed line."""
    n_cols = max(len(runs) for runs in rows.values())
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(2.3 * n_cols, 2.0 * len(rows)), sharey=True, squeeze=False,
                             layout="constrained")
    for r, (row_label, runs) in enumerate(rows.items()):
        for c, ax in enumerate(axes[r]):
            if c >= len(runs):
                ax.set_visible(False)
                continue
            title, h = list(runs.items())[c]
            steps = h.steps.clamp(min=1)
            ax.plot(steps, h.train_acc, color=TRAIN_COLOR, label="training")
            ax.plot(steps, h.val_acc, color=VAL_COLOR, label="validation")
            if level is not None:
                ax.axhline(level, color="#888888", ls="--", lw=0.8)
            ax.set(xscale="log", ylim=(-0.02, 1.02), title=title)
            ax.title.set_fontsize(9)
        axes[r][0].set_ylabel(f"{row_label}\naccuracy")
    for ax in axes[-1]:
        ax.set_xlabel("step")
    axes[0][0].legend(loc="center left", fontsize=7)
    return fig


def plot_steps_to_level(series: dict[str, list[tuple[float, int | None, int]]],
                        ylabel: str = "steps to 99% validation accuracy") -> plt.Figure:
    """Per series, ``(fraction, steps or None, budget)`` points: steps against the training fraction (log axis),
    joined where reached; a fraction whose run did not reach the level within its budget is an open marker at the
    budget with an upward arrow."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, (label, points) in zip(colors, series.items()):
        reached = [(f, s) for f, s, _ in points if s is not None]
        if reached:
            ax.plot(*zip(*reached), "o-", color=color, label=label)
        missed = [(f, budget) for f, s, budget in points if s is None]
        if missed:
            ax.plot(*zip(*missed), "^", mfc="none", color=color, ms=8,
                    label=f"{label}: not reached within the budget")
    ax.set(yscale="log", xlabel="training fraction", ylabel=ylabel)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.legend(fontsize=8)
    return fig
