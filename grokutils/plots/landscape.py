"""Figures of the landscape chapter: loss contours around two optima, 1-D slices, weight-matrix norms over training."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import LogNorm
from matplotlib.ticker import MaxNLocator

from grokutils.history import History
from grokutils.plots.base import TRAIN_COLOR, VAL_COLOR, _draw_marks, _steps_axis

SETS = {"train": "training loss", "val": "validation loss"}


def plot_loss_surfaces(surfaces: dict[str, dict[str, torch.Tensor]], coords: torch.Tensor) -> plt.Figure:
    """Filled contours of the training and validation loss (columns) around each optimum (rows), on one log colour
    scale for all panels; the trained weights are the cross at (0, 0)."""
    values = torch.cat([s[name].flatten() for s in surfaces.values() for name in SETS])
    norm = LogNorm(max(float(values.min()), 1e-12), max(float(values.max()), 1e-11))
    levels = torch.logspace(math.log10(norm.vmin), math.log10(norm.vmax), 16).tolist()
    fig, axes = plt.subplots(len(surfaces), len(SETS), figsize=(8.5, 3.6 * len(surfaces)), layout="constrained",
                             squeeze=False)
    for row, (optimum, surface) in zip(axes, surfaces.items()):
        for ax, (name, label) in zip(row, SETS.items()):
            ax.contourf(coords, coords, surface[name].clamp_min(norm.vmin).T, levels=levels, norm=norm, cmap="viridis")
            ax.contour(coords, coords, surface[name].clamp_min(norm.vmin).T, levels=levels, norm=norm, colors="white",
                       linewidths=0.3)
            ax.plot(0, 0, "x", color="red")
            ax.set(title=f"{optimum}: {label}", xlabel="direction 1", ylabel="direction 2", aspect="equal")
            ax.grid(False)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=axes, label="loss (log scale, same for all)")
    return fig


def plot_loss_slices(lines: dict[str, dict[str, torch.Tensor]], coords: torch.Tensor) -> plt.Figure:
    """The training and validation loss along direction 1 through each optimum, one panel per optimum, same axes."""
    fig, axes = plt.subplots(1, len(lines), figsize=(4.2 * len(lines), 3.2), layout="constrained", sharey=True,
                             squeeze=False)
    for ax, (optimum, line) in zip(axes[0], lines.items()):
        ax.plot(coords, line["train"].clamp_min(1e-12), color=TRAIN_COLOR, label=SETS["train"])
        ax.plot(coords, line["val"].clamp_min(1e-12), color=VAL_COLOR, label=SETS["val"])
        ax.set(yscale="log", xlabel="distance along direction 1", title=optimum)
        ax.xaxis.set_major_locator(MaxNLocator(5))  # a handful of ticks: the panels are narrow
    axes[0, 0].set_ylabel("loss")
    axes[0, 0].legend(fontsize=8)
    return fig


def plot_matrix_norms(history: History, groups: dict[str, list[str]], marks: dict[str, int | None],
                      total: torch.Tensor) -> plt.Figure:
    """Training and validation accuracy (top), the norm of all attention matrices together (``total``), and the
    logged norm of each weight matrix (one panel per group of ``groups``: panel title -> matrix names) over
    training, with ``marks`` drawn as vertical lines. Every curve has a dot at each logged step (between them the
    line is straight: a peak is only as sharp as the logging), and in a group a matrix keeps one colour in every
    layer, layer 0 solid and later layers dashed, the group's first matrices drawn widest, so that matrices whose
    norms coincide stay apart."""
    fig, axes = plt.subplots(2 + len(groups), 1, figsize=(9.0, 2.1 * (2 + len(groups))), layout="constrained",
                             sharex=True)
    steps = history.steps.clamp_min(1)
    dots = dict(marker="o", ms=2.5)
    axes[0].plot(steps, history.train_acc, color=TRAIN_COLOR, label="training", **dots)
    axes[0].plot(steps, history.val_acc, color=VAL_COLOR, label="validation", **dots)
    axes[0].set(ylabel="accuracy", ylim=(-0.02, 1.02))
    axes[1].plot(steps, total, color="k", lw=1.5, **dots)
    axes[1].set(ylabel="Frobenius norm", title="all attention matrices together")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (title, names) in zip(axes[2:], groups.items()):
        kinds = list(dict.fromkeys(_kind(name) for name in names))
        for name in names:
            k = kinds.index(_kind(name))  # earlier matrices drawn wider, so one that a later one covers edges it
            ax.plot(steps, history.metrics[f"matrix_norm/{name}"], label=name, lw=1.2 + 0.6 * (len(kinds) - 1 - k),
                    color=colors[k % len(colors)], ls="-" if _layer(name) < 1 else "--", **dots)
        ax.set(ylabel="Frobenius norm", title=title)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    for i, ax in enumerate(axes):
        _steps_axis(ax, steps, "linear")
        _draw_marks(ax, marks, labelled=i == 0)
        ax.set_xlabel("optimisation step" if i == len(axes) - 1 else "")
    axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return fig


def plot_attention_pair(histories: dict[str, History], norms: dict[str, torch.Tensor],
                        marks: dict[str, dict[str, int | None]]) -> plt.Figure:
    """One column per run (``histories``: name -> History): its training and validation accuracy (top) and the norm of
    all its attention matrices together (``norms``: name -> one value per logged step; bottom, one y-axis for both
    runs), with each run's own ``marks`` (name -> label -> step) as vertical lines; a dot at each logged step."""
    fig, axes = plt.subplots(2, len(histories), figsize=(4.6 * len(histories), 4.8), layout="constrained",
                             sharex="col", sharey="row", squeeze=False)
    dots = dict(marker="o", ms=2.0)
    for col, (name, h) in enumerate(histories.items()):
        top, bottom = axes[0, col], axes[1, col]
        top.plot(h.steps, h.train_acc, color=TRAIN_COLOR, label="training", **dots)
        top.plot(h.steps, h.val_acc, color=VAL_COLOR, label="validation", **dots)
        top.set(title=f"{name} run", ylim=(-0.02, 1.02), ylabel="accuracy" if col == 0 else "")
        bottom.plot(h.steps, norms[name], color="k", **dots)
        bottom.set(xlabel="optimisation step", ylabel="attention norm (Frobenius)" if col == 0 else "")
        for ax in (top, bottom):
            _draw_marks(ax, marks[name], labelled=ax is top)
        top.legend(fontsize=7, loc="center right")
    return fig


def _layer(name: str) -> int:
    """The layer of a matrix named ``blocks.<layer>.…`` (0 for the embeddings and the unembedding)."""
    parts = name.split(".")
    return int(parts[1]) if parts[0] == "blocks" and len(parts) > 1 and parts[1].isdigit() else 0


def _kind(name: str) -> str:
    """A matrix's name without its layer (``blocks.1.attn.W_Q`` -> ``attn.W_Q``): its colour in the figure."""
    parts = name.split(".")
    return ".".join(parts[2:]) if parts[0] == "blocks" and len(parts) > 2 else name
