"""Figures of the comprehension-band chapter: delay heat maps over (log2 B, N), the two steps per cell."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm

from grokutils.analysis.band import Cell
from grokutils.plots.base import TRAIN_COLOR, VAL_COLOR

BLANK_COLOR = "#eeeeee"


def plot_delay_maps(cells: list[Cell], band: tuple[float, float]) -> plt.Figure:
    """Two heat maps of the delay, in steps and in epochs, over log2 B (x) and N (y); cells that never reached
    the threshold on both accuracies are grey and crossed, and the lines N/B = ``band`` are drawn."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for ax, unit in zip(axes, ("steps", "epochs")):
        _heat_map(fig, ax, cells, unit, band)
    return fig


def _heat_map(fig, ax, cells: list[Cell], unit: str, band: tuple[float, float]) -> None:
    ns = sorted({c.n_train for c in cells})
    values = [getattr(c, f"delay_{unit}") for c in cells]
    shown = [max(v, 1e-2) for v in values if v is not None]
    norm = LogNorm(min(shown), max(shown)) if len(shown) > 1 and min(shown) < max(shown) else None
    cmap = plt.get_cmap("magma")
    xs = sorted({math.log2(c.batch_size) for c in cells})
    width = min((b - a for a, b in zip(xs, xs[1:])), default=1.0)  # cells fill the gap between batch sizes
    for cell, value in zip(cells, values):
        x, y = math.log2(cell.batch_size), ns.index(cell.n_train)
        color = BLANK_COLOR if value is None else cmap(norm(max(value, 1e-2)) if norm else 0.5)
        ax.add_patch(plt.Rectangle((x - width / 2, y - 0.5), width, 1, color=color, lw=0))
        if value is None:
            ax.plot([x - 0.4 * width, x + 0.4 * width], [y - 0.4, y + 0.4], color="#999999", lw=0.8)
    for ratio, ls in zip(band, ("--", ":")):
        ax.plot([math.log2(n / ratio) for n in ns], range(len(ns)), color="#2ca02c", ls=ls, lw=1.5,
                label=f"N/B = {ratio:g}")
    ax.set(xlim=(xs[0] - width / 2, xs[-1] + width / 2), ylim=(-0.5, len(ns) - 0.5), xlabel="batch size B (log2 axis)",
           ylabel="training-set size N", title=f"grokking delay ({unit})")
    ax.set_yticks(range(len(ns)), [f"{n:,}" for n in ns])
    ax.set_xticks(xs, [f"{2 ** x:,.0f}" for x in xs])
    ax.grid(False)
    if norm is not None:
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=f"delay ({unit}, log scale)")
    ax.legend(loc="upper left", fontsize=8)


def plot_steps_per_cell(cells: list[Cell], band: tuple[float, float]) -> plt.Figure:
    """Per cell that reached both thresholds: the (mean) step of training and of validation accuracy at the
    threshold against N/B, on log axes, with the band shaded."""
    reached = [c for c in cells if c.delay_steps is not None]
    fig, ax = plt.subplots(layout="constrained")
    ax.axvspan(*band, color="#2ca02c", alpha=0.12, lw=0, label=f"{band[0]:g} <= N/B <= {band[1]:g}")
    ax.scatter([c.ratio for c in reached], [max(c.train_step, 1) for c in reached], color=TRAIN_COLOR, s=18,
               label="training accuracy reaches it")
    ax.scatter([c.ratio for c in reached], [max(c.val_step, 1) for c in reached], color=VAL_COLOR, s=18, marker="s",
               label="validation accuracy reaches it")
    ax.set(xscale="log", xlabel="N/B (batches per epoch)", ylabel="step (mean over the cell's runs)")
    if reached:
        ax.set_yscale("log")
    else:
        ax.set_title("no cell reached the threshold on both accuracies")
    ax.legend(loc="best", fontsize=8)
    return fig
