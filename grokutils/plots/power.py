"""Figures of the Power et al. chapter: optimiser comparison, spike controls, data efficiency per operation."""
from __future__ import annotations

import matplotlib.pyplot as plt

from grokutils.history import History
from grokutils.plots.base import TRAIN_COLOR, VAL_COLOR, figure_legend, plot_accuracy_comparison, step_ticks


def plot_optimizers(histories: dict[str, History]) -> plt.Figure:
    """Training (dotted) and validation (solid) accuracy of each run against steps (log axis), one colour a run."""
    return plot_accuracy_comparison(histories, val_label="validation", legend_loc="center left")


def plot_spike_controls(histories: dict[str, History], level: float | None = None) -> plt.Figure:
    """One panel per control: training and validation accuracy against steps (linear axis), shared axes;
    ``level`` draws the spike threshold."""
    n = len(histories)
    fig, _ = plt.subplots(n, 1, figsize=(7.0, 1.6 * n + 0.6), sharex=True, sharey=True, layout="constrained")
    for ax, (label, h) in zip(fig.axes, histories.items()):
        ax.plot(h.steps, h.train_acc, color=TRAIN_COLOR, label="train")
        ax.plot(h.steps, h.val_acc, color=VAL_COLOR, label="validation")
        if level is not None:
            ax.axhline(level, color="k", ls=":", lw=1, label=f"spike level {level:.0%}")
        ax.set(ylabel="accuracy", ylim=(-0.02, 1.02), title=label)
    figure_legend(fig, fig.axes[0], loc="outside upper center")
    fig.axes[-1].set_xlabel("optimisation step")
    for ax in fig.axes:
        step_ticks(ax)
    return fig


def plot_data_efficiency(steps_by_op: dict[str, tuple[list[float], list[int | None]]],
                         dodge: float = 0.012) -> plt.Figure:
    """Steps to 99% validation accuracy (log axis) against the training fraction, one line per operation;
    runs that never got there are drawn as crosses at the top of the axis. Each operation's points are shifted
    sideways by ``dodge`` (in training fraction) from the next one's, so that operations at the same fraction and
    the same step stay visible side by side; the axis ticks stay at the true fractions."""
    fig, ax = plt.subplots(figsize=(5.0, 3.4), layout="constrained")
    reached_all = [s for _, ss in steps_by_op.values() for s in ss if s is not None]
    top = max(reached_all or [1]) * 1.5
    markers = "osD^v<>"
    centre = (len(steps_by_op) - 1) / 2
    for i, ((op, (fracs, steps)), marker) in enumerate(zip(steps_by_op.items(), markers)):
        shift = (i - centre) * dodge
        done = [(f + shift, s) for f, s in zip(fracs, steps) if s is not None]
        line, = ax.plot([f for f, _ in done], [s for _, s in done], marker=marker, ls="-", label=op)
        missed = [f + shift for f, s in zip(fracs, steps) if s is None]
        if missed:
            ax.plot(missed, [top] * len(missed), "x", color=line.get_color())
    ax.set(yscale="log", xlabel="training fraction", ylabel="steps to 99% validation accuracy")
    ax.legend(title="operation (x: not reached)" if any(None in s for _, s in steps_by_op.values()) else "operation")
    return fig
