"""The house style and the figures every chapter draws: curves, step marks, steps against a setting, power laws.

Analysis (``grokutils.analysis``) computes the numbers; these functions only draw them.
"""
from __future__ import annotations

import math
import re

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, MaxNLocator
import torch

from grokutils.analysis import seeds
from grokutils.history import History

TRAIN_COLOR, VAL_COLOR, NORM_COLOR = "#1f77b4", "#d62728", "#7f7f7f"

HOUSE_STYLE = {
    "figure.dpi": 110,
    "figure.figsize": (7.0, 3.2),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "lines.linewidth": 1.6,
}


def style() -> None:
    """Apply the house style to matplotlib (an explicit call: importing grokutils changes nothing)."""
    mpl.rcParams.update(HOUSE_STYLE)


def _short_number(x: float, _pos=None) -> str:
    """A tick label: thousands as ``10k``, millions as ``1.5M`` (so long step counts do not collide)."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:g}{suffix}"
    return f"{x:g}"


def step_ticks(ax) -> None:
    """Give a linear step or epoch x axis a few ticks labelled ``10k``, ``20k`` … (log axes keep theirs)."""
    if ax.get_xscale() == "linear":
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_short_number))


def _steps_axis(ax, steps: torch.Tensor, xscale: str) -> None:
    ax.set_xscale(xscale)
    ax.set_xlabel("optimisation step")
    step_ticks(ax)
    if xscale == "log":
        ax.set_xlim(left=max(1, int(steps[steps > 0].min())))


def plot_curves(history: History | list[History], xscale: str = "log", title: str | None = None) -> plt.Figure:
    """Accuracy (left) and loss (right) on the training and validation sets against steps.

    Given several runs of one setting (seeds), each curve is their median with their range as a band.
    """
    runs = history if isinstance(history, list) else [history]
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, layout="constrained")
    for ax, metric, ylabel in ((acc_ax, "acc", "accuracy"), (loss_ax, "loss", "loss")):
        for split, color, label in (("train", TRAIN_COLOR, "train"), ("val", VAL_COLOR, "validation")):
            _band(ax, seeds.band(runs, f"{split}_{metric}"), color, label)
        _steps_axis(ax, runs[0].steps, xscale)
        ax.set_ylabel(ylabel)
    loss_ax.set_yscale("log")
    acc_ax.set_ylim(-0.02, 1.02)
    figure_legend(fig, acc_ax)
    if title:
        fig.suptitle(title)
    return fig


def figure_legend(fig: plt.Figure, ax, loc: str = "outside lower center") -> None:
    """``ax``'s legend entries as the figure's one legend outside the panels (below them by default, clear of a
    title), replacing any it had, so that it cannot hide a curve wherever the curves run."""
    for old in list(fig.legends):
        old.remove()
    handles, labels = ax.get_legend_handles_labels()
    per_row = 4 if all(len(label) <= 16 for label in labels) else 2
    fig.legend(handles, labels, loc=loc, ncol=max(1, min(per_row, len(labels))))


def _band(ax, band: seeds.Band, color: str, label: str) -> None:
    """A median line, and for several seeds their range as a shaded band (the label says how many)."""
    if band.n_seeds > 1:
        ax.fill_between(band.steps, band.low, band.high, color=color, alpha=0.2, lw=0)
        label = f"{label} (median, range of {band.n_seeds} seeds)"
    ax.plot(band.steps, band.median, color=color, label=label)


def scrubber(fig: plt.Figure, update, n_frames: int, fps: int = 4):
    """An HTML slider over ``n_frames`` pre-rendered frames of ``fig`` (``update(i)`` draws frame i).

    The frames are PNGs embedded in the page with matplotlib's JavaScript player (``to_jshtml``), so the
    slider works in the static book as well as in Jupyter and Colab. Closes ``fig``.
    """
    from IPython.display import HTML
    from matplotlib.animation import FuncAnimation

    fig.canvas.draw()
    fig.set_layout_engine("none")  # lay out once: every frame keeps the first frame's layout (and is 2x faster)
    html = FuncAnimation(fig, update, frames=n_frames).to_jshtml(fps=fps, default_mode="once")
    plt.close(fig)
    # matplotlib links Font Awesome 4 from a CDN for the player's button icons; the book's theme has its own
    # icons, and a page of this book loads nothing from the network.
    return HTML(re.sub(r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">', "", html))


def _draw_marks(ax, marks: dict[str, int | None], labelled: bool) -> None:
    for i, (label, step) in enumerate(marks.items()):
        if step is not None:
            ax.axvline(max(step, 1), color="k", ls=":" if i else "--", lw=1, label=label if labelled else None)


def mark_steps(fig: plt.Figure, marks: dict[str, int | None], legend: bool = True) -> plt.Figure:
    """Draw a labelled vertical line at each named step on every axis of ``fig`` (None: skipped).

    With ``legend`` the figure's legend is redrawn from the first axis's entries, outside the panels
    (``figure_legend``).
    """
    for ax in fig.axes:
        _draw_marks(ax, marks, ax is fig.axes[0])
    if legend:
        figure_legend(fig, fig.axes[0])
    return fig


def plot_accuracy_and_norm(history: History, marks: dict[str, int | None] | None = None,
                           title: str | None = None) -> plt.Figure:
    """Training and test accuracy (left axis) and the total weight norm (right axis) against steps (log).

    ``marks`` names steps to draw as vertical lines (None values are skipped), as in ``mark_steps``.
    """
    fig, ax = plt.subplots(layout="constrained")
    steps = history.steps.clamp(min=1)  # step 0 sits at 1 on the log axis
    ax.plot(steps, history.train_acc, color=TRAIN_COLOR, label="train accuracy")
    ax.plot(steps, history.val_acc, color=VAL_COLOR, label="test accuracy")
    _draw_marks(ax, marks or {}, labelled=True)
    ax.set(xscale="log", xlabel="optimisation step", ylabel="accuracy", ylim=(-0.02, 1.02))
    norm_ax = ax.twinx()
    norm_ax.plot(steps, history.weight_norm, color=NORM_COLOR, ls="-.", label="weight norm (right)")
    norm_ax.set_ylabel("total weight norm")
    norm_ax.grid(False)
    norm_ax.spines["right"].set_visible(True)
    handles = ax.get_legend_handles_labels()[0] + norm_ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="center left")
    if title:
        ax.set_title(title)
    return fig


def plot_accuracy_comparison(histories: dict[str, History], val_label: str = "test",
                             legend_loc: str = "upper left") -> plt.Figure:
    """Held-out accuracy (solid; ``val_label`` names it) and training accuracy (dotted) of several runs against
    steps (log axis), one colour a run."""
    fig, ax = plt.subplots(layout="constrained")
    for color, (label, history) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], histories.items()):
        steps = history.steps.clamp(min=1)
        ax.plot(steps, history.val_acc, color=color, label=f"{label}: {val_label}")
        ax.plot(steps, history.train_acc, color=color, ls=":", label=f"{label}: train")
    ax.set(xscale="log", xlabel="optimisation step", ylabel="accuracy", ylim=(-0.02, 1.02))
    ax.legend(loc=legend_loc)
    return fig


def plot_steps_against(xs, steps, xlabel: str, ylabel: str = "steps to 99% validation accuracy",
                       unfinished=None) -> plt.Figure:
    """Steps (log axis) against a swept quantity; ``unfinished`` x values are marked at the top."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2), layout="constrained")
    ax.plot(xs, steps, "o-", color=VAL_COLOR)
    if unfinished:
        top = max([s for s in steps if s] or [1])
        ax.plot(unfinished, [top] * len(unfinished), "x", color="k", label="not reached in budget")
        ax.legend()
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def plot_power_law(x, y, fit, xlabel: str, ylabel: str, label: str = "runs", flagged: list[bool] | None = None,
                   flagged_label: str = "flagged") -> plt.Figure:
    """Points ``(x, y)`` on log-log axes with the fitted line y = e^intercept · x^slope of ``fit`` (anything with
    ``slope`` and ``intercept``); ``label`` names the points in the legend, and the points where ``flagged`` is true
    are drawn open and named ``flagged_label`` instead. Without a fit (None: too few points at this profile) the
    points alone, and the axes say so."""
    fig, ax = plt.subplots(figsize=(4.5, 3.4), layout="constrained")
    x, y = list(x), list(y)
    flagged = list(flagged) if flagged is not None else [False] * len(x)
    for is_flagged, style, name in ((False, dict(color=VAL_COLOR), label),
                                    (True, dict(color=VAL_COLOR, mfc="none", ms=8, mew=1.5), flagged_label)):
        points = [(a, b) for a, b, f in zip(x, y, flagged) if f == is_flagged]
        if points:
            ax.plot(*zip(*points), "o", label=name, **style)
    if fit is not None and x:
        xs = torch.logspace(math.log10(min(x)), math.log10(max(x)), 50)
        ax.plot(xs, math.exp(fit.intercept) * xs**fit.slope, "k--", lw=1, label=f"fit: slope {fit.slope:.2f}")
    else:
        ax.text(0.5, 0.5, f"no fit at this profile ({len(x)} point{'' if len(x) == 1 else 's'})",
                transform=ax.transAxes, ha="center", va="center", color="0.4")
    if x:
        ax.set(xscale="log", yscale="log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return fig


# Nanda et al.'s Fourier circuits (book/fourier_circuits.ipynb): spectra, neurons, logits, progress measures.



def plot_loss_and_norm(steps, train_loss, test_loss, weight_norm) -> plt.Figure:
    """Training and test loss (log axis, left) and the sum of squared weights (right) against epochs."""
    fig, (loss_ax, norm_ax) = plt.subplots(1, 2, figsize=(8.5, 3.2), layout="constrained")
    loss_ax.plot(steps, train_loss, color=TRAIN_COLOR, label="train")
    loss_ax.plot(steps, test_loss, color=VAL_COLOR, label="test")
    loss_ax.set(yscale="log", xlabel="epoch", ylabel="cross-entropy loss")
    step_ticks(loss_ax)
    loss_ax.legend()
    norm_ax.plot(steps, weight_norm**2, color=NORM_COLOR)
    norm_ax.set(xlabel="epoch", ylabel="sum of squared weights")
    step_ticks(norm_ax)
    return fig
