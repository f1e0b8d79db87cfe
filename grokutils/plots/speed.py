"""Figures of the chapter ``what_speeds_up_grokking``: the tuning grids, the comparison over seeds, example curves."""
from __future__ import annotations

import math
import statistics

import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from grokutils.history import History
from grokutils.plots.base import _short_number, step_ticks

METHOD_COLORS = {"AdamW": "#1f77b4", "Grokfast": "#2ca02c", "Muon": "#9467bd", "Adam, no decay": "#7f7f7f"}


def plot_tuning(grids: dict[str, dict[tuple, float]], best: dict[str, tuple], budget: int) -> plt.Figure:
    """One panel per method (and Grokfast filter setting): its median steps to the level over the tuning seeds, on a
    grid of learning rate (columns) by weight decay (rows), on one log colour scale up to the tuning ``budget``; a
    cell where some seed did not reach within the budget is hatched and marked "> budget"; each method's best setting
    is framed."""
    panels = [(method, f) for method, grid in grids.items() for f in dict.fromkeys(c[2:] for c in grid)]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels) + 0.8, 2.9), layout="constrained",
                             squeeze=False)
    finite = [v for grid in grids.values() for v in grid.values() if math.isfinite(v)]
    norm = LogNorm(vmin=min(min(finite, default=budget), budget) / 2, vmax=budget)
    image = None
    for ax, (method, filt) in zip(axes[0], panels):
        cells = {c: v for c, v in grids[method].items() if c[2:] == filt}
        image = _grid_panel(ax, cells, best[method], norm, budget)
        title = method + (f"\nalpha {filt[0]:g}, lamb {filt[1]:g}" if filt[0] is not None else "")
        ax.set_title(title)
    bar = fig.colorbar(image, ax=axes[0].tolist(), label="median steps to 95% validation")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(_short_number))
    bar.ax.yaxis.set_minor_formatter(NullFormatter())
    return fig


def _grid_panel(ax, cells: dict[tuple, float], best: tuple, norm, budget: int) -> object:
    lrs = sorted({c[0] for c in cells})
    wds = sorted({c[1] for c in cells})
    by_point = {(c[0], c[1]): v for c, v in cells.items()}
    values = [[by_point.get((lr, wd), math.nan) for lr in lrs] for wd in wds]
    shown = [[v if math.isfinite(v) else math.nan for v in row] for row in values]
    image = ax.imshow(shown, norm=norm, cmap="viridis_r", origin="lower", aspect="auto")
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if not math.isfinite(v):
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", color="0.6", lw=0))
            ax.text(j, i, f"> {budget:,}" if not math.isfinite(v) else f"{v:,.0f}", ha="center", va="center", fontsize=8,
                    color="black" if not math.isfinite(v) or norm(v) < 0.5 else "white")
    j, i = lrs.index(best[0]), wds.index(best[1])
    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="#d62728", lw=2.5))
    ax.set_xticks(range(len(lrs)), [f"{x:g}" for x in lrs])
    ax.set_yticks(range(len(wds)), [f"{x:g}" for x in wds])
    ax.set(xlabel="learning rate", ylabel="weight decay")
    ax.grid(False)
    return image


def plot_comparison(steps: dict[str, list[int | None]], seconds: dict[str, list[float]], budget: int) -> plt.Figure:
    """Steps (left) and seconds (right) to the level, one point per seed and a bar at the median, per method; a run
    that did not reach within the budget is an open triangle at the budget (its true value lies above)."""
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.2), layout="constrained")
    names = list(steps)
    for ax, unit in zip(axes, ("steps", "seconds")):
        for x, name in enumerate(names):
            color = METHOD_COLORS.get(name, "black")
            values = [budget if s is None else s for s in steps[name]] if unit == "steps" else seconds[name]
            reached = [s is not None for s in steps[name]]
            offsets = [x + 0.06 * (k - (len(values) - 1) / 2) for k in range(len(values))]
            for off, v, hit in zip(offsets, values, reached):
                ax.plot(off, v, "o" if hit else "^", color=color, mfc=color if hit else "none", ms=6)
            ax.hlines(statistics.median(values), x - 0.25, x + 0.25, color=color, lw=2)
        if unit == "steps":
            ax.axhline(budget, color="0.5", ls=":", lw=1, label="budget")
            ax.legend(loc="lower right")
        ax.set_xticks(range(len(names)), names, rotation=15)
        ax.set(yscale="log", ylabel=f"{unit} to 95% validation")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(_short_number))
        ax.yaxis.set_minor_formatter(NullFormatter())
    return fig


def plot_examples(histories: dict[str, History]) -> plt.Figure:
    """Validation (solid) and training (dotted) accuracy of one run per method, against steps (linear axis: the runs
    log their metrics at evenly spaced steps)."""
    fig, ax = plt.subplots(layout="constrained")
    for name, h in histories.items():
        color = METHOD_COLORS.get(name, "black")
        ax.plot(h.steps, h.val_acc, color=color, label=f"{name}: validation")
        ax.plot(h.steps, h.train_acc, color=color, ls=":", label=f"{name}: train")
    ax.set(xlabel="optimisation step", ylabel="accuracy", ylim=(-0.02, 1.02))
    step_ticks(ax)
    ax.legend(loc="lower right", ncols=2, fontsize=8)
    return fig
