"""Figures of the comprehension-band chapter: delay heat maps over (log2 B, N), the two steps per cell."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm

from grokutils.analysis.band import Cell
from grokutils.plots.base import TRAIN_COLOR, VAL_COLOR

BLANK_COLOR, ZERO_COLOR, CROSS_COLOR, LATE_COLOR = "#eeeeee", "#ffffff", "#999999", "#c7d7ea"


def plot_delay_maps(cells: list[Cell], band: tuple[float, float]) -> plt.Figure:
    """Two heat maps of the cells' delays (``Cell.delay_steps``: the median over the runs that fitted), in steps and in
    epochs, over log2 B (x) and N (y), with the lines N/B = ``band``. Three kinds of cell have no place on the log
    colour scale: one where no run fitted its training set is grey and crossed (×); one whose median run fitted but
    had not generalised when it ended is pale blue and labelled ">" (more than the budget); one with a delay of 0
    (both crossings within one logging interval) is white, outlined and labelled 0."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for ax, unit in zip(axes, ("steps", "epochs")):
        _heat_map(fig, ax, cells, unit, band)
    return fig


def _heat_map(fig, ax, cells: list[Cell], unit: str, band: tuple[float, float]) -> None:
    ns = sorted({c.n_train for c in cells})
    values = [getattr(c, f"delay_{unit}") for c in cells]
    positive = [v for v in values if v is not None and 0 < v < math.inf]
    norm = LogNorm(min(positive), max(positive)) if len(positive) > 1 and min(positive) < max(positive) else None
    cmap = plt.get_cmap("magma")
    xs = sorted({math.log2(c.batch_size) for c in cells})
    edges = _edges(xs)
    for cell, value in zip(cells, values):
        x, y = math.log2(cell.batch_size), ns.index(cell.n_train)
        left, right = edges[xs.index(x)], edges[xs.index(x) + 1]
        if value is None:
            ax.add_patch(plt.Rectangle((left, y - 0.5), right - left, 1, color=BLANK_COLOR, lw=0))
            _cross(ax, left, right, y)
        elif value == math.inf:  # fitted, not generalised within the budget: longer than any delay shown
            ax.add_patch(plt.Rectangle((left, y - 0.5), right - left, 1, color=LATE_COLOR, lw=0))
            ax.text((left + right) / 2, y, ">", ha="center", va="center", fontsize=10, fontweight="bold")
        elif value <= 0:  # both crossings within one logging interval: off the log scale
            inset = 0.04 * (right - left)
            ax.add_patch(plt.Rectangle((left + inset, y - 0.46), right - left - 2 * inset, 0.92, fc=ZERO_COLOR,
                                       ec="k", lw=0.8))
            ax.text((left + right) / 2, y, "0", ha="center", va="center", fontsize=9, fontweight="bold")
        else:
            color = cmap(norm(value) if norm else 0.5)
            ax.add_patch(plt.Rectangle((left, y - 0.5), right - left, 1, color=color, lw=0))
    for ratio, ls in zip(band, ("--", ":")):
        ax.plot([math.log2(n / ratio) for n in ns], range(len(ns)), color="#2ca02c", ls=ls, lw=1.5,
                label=f"N/B = {ratio:g}")
    ax.set(xlim=(edges[0], edges[-1]), ylim=(-0.5, len(ns) - 0.5), xlabel="batch size B (log2 axis)",
           ylabel="training-set size N", title=f"grokking delay ({unit})")
    ax.set_yticks(range(len(ns)), [f"{n:,}" for n in ns])
    ax.set_xticks(xs, [f"{2 ** x:,.0f}" for x in xs])
    ax.grid(False)
    if norm is not None:
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=f"delay ({unit}, log scale)")
    ax.legend(loc="upper left", fontsize=8)


def _cross(ax, left: float, right: float, y: float) -> None:
    """A grey × over the cell from ``left`` to ``right`` at row ``y``: two strokes, corner to corner."""
    inset = 0.15 * (right - left)
    for y0, y1 in ((y - 0.3, y + 0.3), (y + 0.3, y - 0.3)):
        ax.plot([left + inset, right - inset], [y0, y1], color=CROSS_COLOR, lw=0.8)


def _edges(xs: list[float]) -> list[float]:
    """Edges of the cells centred on ``xs`` (sorted): halfway between neighbours, and as far again at both ends, so
    the cells fill the axis without gaps however the batch sizes are spaced."""
    if len(xs) == 1:
        return [xs[0] - 0.5, xs[0] + 0.5]
    mids = [(a + b) / 2 for a, b in zip(xs, xs[1:])]
    return [xs[0] - (mids[0] - xs[0]), *mids, xs[-1] + (xs[-1] - mids[-1])]


def plot_steps_per_cell(cells: list[Cell], band: tuple[float, float]) -> plt.Figure:
    """Per cell that reached both thresholds: the (mean) step of training and of validation accuracy at the
    threshold against N/B, on log axes, with the band shaded. Validation's marks are large open squares and
    training's small filled circles drawn over them, so a cell whose two steps coincide shows both."""
    reached = [c for c in cells if c.reached]
    fig, ax = plt.subplots(layout="constrained")
    shade = ax.axvspan(*band, color="#2ca02c", alpha=0.12, lw=0, label=f"{band[0]:g} <= N/B <= {band[1]:g}")
    ratios = [c.ratio for c in reached]
    val = ax.scatter(ratios, [max(c.val_step, 1) for c in reached], s=60, marker="s", facecolors="none",
                     edgecolors=VAL_COLOR, linewidths=1.4, zorder=2, label="validation accuracy reaches it")
    train = ax.scatter(ratios, [max(c.train_step, 1) for c in reached], color=TRAIN_COLOR, s=16, zorder=3,
                       label="training accuracy reaches it")
    ax.set(xscale="log", xlabel="N/B (batches per epoch)", ylabel="step (mean over the cell's runs)")
    if reached:
        ax.set_yscale("log")
        ax.margins(y=0.12)  # the large squares at the top stay whole
    else:
        ax.set_title("no cell reached the threshold on both accuracies")
    ax.legend(handles=[shade, train, val], loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)
    return fig
