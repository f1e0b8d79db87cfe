"""Figures of the chapter ``softmax_collapse``: where each precision rounds the loss to zero, runs at each precision
and with StableMax, ⊥AdamW against AdamW, and the collapse meter on another chapter's stored run."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from grokutils.history import History
from grokutils.plots.base import TRAIN_COLOR, VAL_COLOR, figure_legend, step_ticks

PRECISION_COLORS = {"f16": "#d62728", "f32": "#ff7f0e", "f64": "#1f77b4"}
RUN_COLORS = {"float16": "#d62728", "float32": "#ff7f0e", "float64": "#1f77b4", "StableMax": "#2ca02c"}
METHOD_COLORS = ["#2ca02c", "#7f7f7f", "#1f77b4"]
ZERO_FLOOR = 1e-20
"""Where a loss of exactly 0 is drawn on a log axis (marked as such)."""


def plot_margin_losses(margins: torch.Tensor, losses: dict[str, torch.Tensor], collapse_at: dict[str, float],
                       n_classes: int) -> plt.Figure:
    """The cross-entropy of an example whose correct logit leads the ``n_classes - 1`` others by a margin, computed
    with the softmax in each precision (log scale; an exact 0 is drawn on the floor at ``ZERO_FLOOR``), and a dashed
    line at each precision's collapse margin."""
    fig, ax = plt.subplots(layout="constrained", figsize=(7.0, 3.4))
    for name, loss in losses.items():
        shown = torch.where(loss > 0, loss, torch.full_like(loss, ZERO_FLOOR))
        ax.plot(margins, shown, color=PRECISION_COLORS[name], label=f"softmax in {_words(name)}")
        ax.axvline(collapse_at[name], color=PRECISION_COLORS[name], ls="--", lw=1)
        ax.annotate(f"{collapse_at[name]:.1f}", (collapse_at[name], ZERO_FLOOR * 10), color=PRECISION_COLORS[name],
                    fontsize=8, xytext=(3, 0), textcoords="offset points")
    ax.set_yscale("log")
    ax.set_ylim(ZERO_FLOOR / 3, 10)
    ax.axhline(ZERO_FLOOR, color="0.5", lw=0.8)
    ax.text(margins[0], ZERO_FLOOR * 1.5, "exactly 0", color="0.4", fontsize=8)
    ax.set_xlabel(f"margin: correct logit minus each of the other {n_classes - 1}")
    ax.set_ylabel("cross-entropy")
    ax.legend(loc="upper right")
    return fig


def _words(name: str) -> str:
    return {"f16": "float16", "f32": "float32", "f64": "float64"}[name]


def message_figure(text: str) -> plt.Figure:
    """A slim figure that only says ``text`` (where a figure's runs were not made at this profile)."""
    fig, ax = plt.subplots(figsize=(7.0, 1.4), layout="constrained")
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def plot_precision_runs(histories: dict[str, History], collapse_columns: dict[str, str]) -> plt.Figure:
    """One column of panels per quantity, one line per run: the training loss (log scale, exact zeros on the floor),
    the share of training examples whose softmax has collapsed in the run's own precision (``collapse_columns``: run
    -> column), and the validation accuracy, against steps; without runs, a figure that says so."""
    if not histories:
        return message_figure("no runs at this profile (profile \"paper\" trains them)")
    fig, axes = plt.subplots(1, 3, figsize=(10.0, 3.2), layout="constrained")
    for label, h in histories.items():
        color = RUN_COLORS.get(label, "0.3")
        loss = h.train_loss
        axes[0].plot(h.steps, torch.where(loss > 0, loss, torch.full_like(loss, ZERO_FLOOR)), color=color, label=label)
        column = collapse_columns.get(label)
        if column is not None:
            axes[1].plot(h.steps, h.metrics[column], color=color, label=label)
        axes[2].plot(h.steps, h.val_acc, color=color, label=label)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("training loss")
    axes[1].set_ylabel("collapsed share of training set")
    axes[2].set_ylabel("validation accuracy")
    for ax in axes[1:]:
        ax.set_ylim(-0.02, 1.02)
    for ax in axes:
        ax.set_xlabel("optimisation step")
        step_ticks(ax)
    figure_legend(fig, axes[0])
    return fig


def plot_methods(groups: dict[str, list[History]]) -> plt.Figure:
    """Validation (solid) and training (dotted) accuracy of each method's runs, one line per seed, one panel per
    method, against steps."""
    fig, axes = plt.subplots(1, len(groups), figsize=(3.3 * len(groups), 3.0), layout="constrained", sharey=True,
                             squeeze=False)
    for ax, (method, runs) in zip(axes[0], groups.items()):
        for h in runs:
            ax.plot(h.steps, h.train_acc, color=TRAIN_COLOR, ls=":", lw=1.2)
            ax.plot(h.steps, h.val_acc, color=VAL_COLOR, lw=1.2)
        ax.set_title(method)
        ax.set_xlabel("optimisation step")
        step_ticks(ax)
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].set_ylim(-0.02, 1.02)
    axes[0][0].plot([], [], color=TRAIN_COLOR, ls=":", label="train")
    axes[0][0].plot([], [], color=VAL_COLOR, label="validation")
    figure_legend(fig, axes[0][0])
    return fig


def plot_stored_collapse(meters: dict[str, dict[str, torch.Tensor]] | None) -> plt.Figure:
    """The collapse meter on stored weights (``meters``: run -> ``analysis.collapse.stored_collapse`` output): the share
    of each run's training set whose softmax has collapsed in each precision (colour), against steps; the first run as
    lines over its checkpoints, each other run as its own marker. With ``meters`` None (the runs are not stored here),
    a figure that says so."""
    if meters is None:
        return message_figure("not measured: the Fourier chapter's runs are not in this run cache")
    fig, ax = plt.subplots(figsize=(7.0, 3.2), layout="constrained")
    markers = iter("oxs^vD")
    for i, (label, meter) in enumerate(meters.items()):
        marker = None if i == 0 else next(markers)
        for name, color in PRECISION_COLORS.items():
            ax.plot(meter["steps"], meter[f"collapse/{name}"], color=color, marker=marker, ls="-" if i == 0 else "none")
        ax.plot([], [], color="0.3", marker=marker, ls="-" if i == 0 else "none", label=label)
    for name, color in PRECISION_COLORS.items():
        ax.plot([], [], color=color, lw=6, label=f"softmax in {_words(name)}")
    ax.set_xlabel("optimisation step")
    ax.set_ylabel("collapsed share of training set")
    ax.set_ylim(-0.02, 1.02)
    step_ticks(ax)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig
