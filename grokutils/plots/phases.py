"""Figures of the chapter ``phase_diagrams``: the phase diagram of Liu et al.'s toy model, the representation quality
over training, the representation itself, and the effective theory's predicted accuracy against the measured."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch, Rectangle

from grokutils.analysis.phases import PHASES, SHORT
from grokutils.plots.base import TRAIN_COLOR, VAL_COLOR, figure_legend, step_ticks

PHASE_COLORS = {"comprehension": "#2ca02c", "grokking": "#1f77b4", "memorisation": "#ff7f0e", "confusion": "#d62728"}
RQI_COLOR = "#9467bd"


def plot_phase_map(lrs: list[float], weight_decays: list[float], labels: list[list[str]],
                   unclear: list[list[bool]] | None = None, title: str = "", xlabel: str = "decoder weight decay",
                   ylabel: str = "decoder learning rate") -> plt.Figure:
    """The phase of each cell (``labels[i][j]``: learning rate ``lrs[i]``, weight decay ``weight_decays[j]``) as a
    coloured map with the phase's short name in the cell, learning rate up the side (log-spaced values), weight decay
    along the bottom; cells marked in ``unclear`` hatched."""
    codes = torch.tensor([[PHASES.index(label) for label in row] for row in labels])
    height = 1.2 + 0.32 * len(lrs)
    fig, ax = plt.subplots(figsize=(7.0, height), layout="constrained")
    colours = ListedColormap([PHASE_COLORS[name] for name in PHASES])
    ax.imshow(codes.numpy(), cmap=colours, vmin=-0.5, vmax=len(PHASES) - 0.5, origin="lower", aspect="auto")
    for i, row in enumerate(labels):
        for j, label in enumerate(row):
            ax.text(j, i, SHORT[label], ha="center", va="center", color="white", fontsize=7)
            if unclear is not None and unclear[i][j]:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="white", lw=0))
    ax.set_xticks(range(len(weight_decays)), [f"{wd:g}" for wd in weight_decays])
    ax.set_yticks(range(len(lrs)), [f"{lr:.1e}" for lr in lrs])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    present = [name for name in PHASES if any(name in row for row in labels)]
    handles = [Patch(color=PHASE_COLORS[name], label=name) for name in present]
    if unclear is not None and any(any(row) for row in unclear):
        handles.append(Patch(facecolor="0.6", hatch="///", edgecolor="white", label="not clear"))
    fig.legend(handles=handles, loc="outside right upper")
    return fig


def plot_rqi_runs(runs: dict[str, dict]) -> plt.Figure:
    """One panel per run (``runs``: title -> ``{"steps", "train_acc", "val_acc", "rqi"}``): training and test accuracy
    and the representation quality index against steps."""
    fig, axes = plt.subplots(1, len(runs), figsize=(2.6 * len(runs) + 0.6, 3.0), layout="constrained", sharey=True,
                             squeeze=False)
    for ax, (title, run) in zip(axes[0], runs.items()):
        ax.plot(run["steps"], run["train_acc"], color=TRAIN_COLOR, label="train accuracy")
        ax.plot(run["steps"], run["val_acc"], color=VAL_COLOR, label="test accuracy")
        ax.plot(run["steps"], run["rqi"], color=RQI_COLOR, ls="--", label="RQI")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
        step_ticks(ax)
    axes[0][0].set_ylabel("accuracy, RQI")
    figure_legend(fig, axes[0][0])
    return fig


def plot_representation(steps: list[int], reps: torch.Tensor, title: str = "") -> plt.Figure:
    """A one-dimensional representation ``reps [len(steps), p]`` at a few steps: one row per step, each symbol at its
    value (normalised to zero mean and unit standard deviation), labelled with its number."""
    fig, ax = plt.subplots(figsize=(7.0, 0.6 + 0.45 * len(steps)), layout="constrained")
    for row, (step, rep) in enumerate(zip(steps, reps)):
        ax.axhline(row, color="0.85", lw=0.8, zorder=0)
        ax.scatter(rep, [row] * len(rep), c=range(len(rep)), cmap="viridis", s=30, zorder=2)
        for symbol, value in enumerate(rep.tolist()):
            ax.annotate(str(symbol), (value, row), xytext=(0, 5), textcoords="offset points", ha="center", fontsize=7)
    ax.set_yticks(range(len(steps)), [f"step {step:,}" for step in steps])
    ax.set_ylim(-0.6, len(steps) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel("representation (normalised)")
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_predicted_accuracy(sizes: list[int], ideal: list[list[float]], predicted: list[list[float]],
                            measured: list[list[float]]) -> plt.Figure:
    """Left: accuracy on the whole table against the training-set size, per seed (``ideal[i][k]``: size ``i``, seed
    ``k``): the ideal accuracy the training set allows, the accuracy predicted from the learned representation and the
    accuracy measured. Right: predicted against measured, one point per run, with the diagonal."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.4), layout="constrained")
    for k, (best, pred, meas) in enumerate(zip(zip(*ideal), zip(*predicted), zip(*measured))):
        first = k == 0
        left.plot(sizes, best, color="0.45", ls=":", marker="s", ms=3,
                  label="ideal (training set alone)" if first else None)
        left.plot(sizes, pred, color=RQI_COLOR, ls="--", marker="o", ms=3, alpha=0.8,
                  label="predicted from the representation" if first else None)
        left.plot(sizes, meas, color=VAL_COLOR, marker="x", ms=4, alpha=0.8, label="measured" if first else None)
    left.set_xlabel("training pairs")
    left.set_ylabel("accuracy on all pairs")
    left.legend(fontsize=8)
    flat_pred = [v for row in predicted for v in row]
    flat_meas = [v for row in measured for v in row]
    right.scatter(flat_pred, flat_meas, color=VAL_COLOR, s=14)
    right.plot([0, 1], [0, 1], color="0.5", lw=0.8, ls=":")
    right.set_xlabel("predicted accuracy")
    right.set_ylabel("measured accuracy")
    right.set_xlim(0, 1.02)
    right.set_ylim(0, 1.02)
    return fig
