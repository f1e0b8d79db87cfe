"""Figures of the models-and-encodings chapter: grids of small accuracy panels, and steps to a level against the
training fraction for several series."""
from __future__ import annotations

import matplotlib.pyplot as plt

from grokutils.history import History
from grokutils.plots.base import TRAIN_COLOR, VAL_COLOR


def plot_curve_grid(rows: dict[str, dict[str, History]], level: float | None = None, wrap: int = 2) -> plt.Figure:
    """One small panel per run, a row per ``rows`` key (its label on the left) and a column per run of that row (its
    key as the panel's title): training (blue) and validation (red) accuracy against the step (log axis), with
    ``level`` (if given) as a dashed line. Where every row holds a single run, the panels wrap into ``wrap`` columns
    instead (each titled with its row's label and its key), rather than stand in one narrow column."""
    n_cols = max(len(runs) for runs in rows.values())
    if n_cols == 1 and len(rows) > wrap:
        return _wrapped_grid(rows, level, wrap)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(2.3 * n_cols, 2.0 * len(rows)), sharey=True, squeeze=False,
                             layout="constrained")
    for r, (row_label, runs) in enumerate(rows.items()):
        for c, ax in enumerate(axes[r]):
            if c >= len(runs):
                ax.set_visible(False)
                continue
            title, h = list(runs.items())[c]
            _panel(ax, h, level, title)
        axes[r][0].set_ylabel(f"{row_label}\naccuracy")
    for ax in axes[-1]:
        ax.set_xlabel("step")
    axes[0][0].legend(loc="center left", fontsize=7)
    return fig


def _panel(ax, h: History, level: float | None, title: str) -> None:
    """One run's training (blue) and validation (red) accuracy against the step (log axis), ``level`` dashed."""
    steps = h.steps.clamp(min=1)
    ax.plot(steps, h.train_acc, color=TRAIN_COLOR, label="training")
    ax.plot(steps, h.val_acc, color=VAL_COLOR, label="validation")
    if level is not None:
        ax.axhline(level, color="#888888", ls="--", lw=0.8)
    ax.set(xscale="log", ylim=(-0.02, 1.02), title=title)
    ax.title.set_fontsize(9)


def _wrapped_grid(rows: dict[str, dict[str, History]], level: float | None, n_cols: int) -> plt.Figure:
    """``plot_curve_grid`` of single-run rows: the panels in ``n_cols`` columns, each titled "row label, run key"."""
    n_rows = -(-len(rows) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.4 * n_cols, 2.3 * n_rows), sharex=True, sharey=True,
                             squeeze=False, layout="constrained")
    for ax, (row_label, runs) in zip(axes.flat, rows.items()):
        (title, h), = runs.items()
        _panel(ax, h, level, f"{row_label}, {title}")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    for c in range(n_cols):  # the lowest panel in use of each column carries the step axis
        column = [ax for r, ax in enumerate(axes[:, c]) if r * n_cols + c < len(rows)]
        column[-1].set_xlabel("step")
        column[-1].xaxis.set_tick_params(labelbottom=True)
    for ax in axes.flat[len(rows):]:
        ax.set_visible(False)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside upper center", ncol=2, fontsize=8)
    return fig


def plot_steps_to_level(series: dict[str, list[tuple[float, int | None, int]]],
                        ylabel: str = "steps to 99% validation accuracy") -> plt.Figure:
    """Per series, ``(fraction, steps or None, budget)`` points: steps against the training fraction (log axis),
    joined where reached; a fraction whose run did not reach the level within its budget is an open triangle (▲) at
    the budget, each series' triangles set a little apart sideways so that two at one fraction and budget both show."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    centre = (len(series) - 1) / 2
    for i, (color, (label, points)) in enumerate(zip(colors, series.items())):
        reached = [(f, s) for f, s, _ in points if s is not None]
        if reached:
            ax.plot(*zip(*reached), "o-", color=color, label=label)
        missed = [(f + (i - centre) * 0.01, budget) for f, s, budget in points if s is None]
        if missed:
            ax.plot(*zip(*missed), "^", mfc="none", color=color, ms=8,
                    label=f"{label}: not reached within the budget")
    ax.set(yscale="log", xlabel="training fraction", ylabel=ylabel)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.legend(fontsize=8)
    return fig
