"""The book's figures, in one house style. Each helper takes tensors or a History, returns a Figure.

Analysis (``grokutils.analysis``) computes the numbers; these functions only draw them.
"""
from __future__ import annotations

import math

import matplotlib as mpl
import matplotlib.pyplot as plt
import torch

from grokutils.analysis.fourier import fourier_basis
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


def _steps_axis(ax, steps: torch.Tensor, xscale: str) -> None:
    ax.set_xscale(xscale)
    ax.set_xlabel("optimisation step")
    if xscale == "log":
        ax.set_xlim(left=max(1, int(steps[steps > 0].min())))


def plot_curves(history: History, xscale: str = "log", title: str | None = None) -> plt.Figure:
    """Accuracy (left) and loss (right) on the training and validation sets against steps."""
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, layout="constrained")
    s = history.steps
    for ax, metric, ylabel in ((acc_ax, "acc", "accuracy"), (loss_ax, "loss", "loss")):
        ax.plot(s, getattr(history, f"train_{metric}"), color=TRAIN_COLOR, label="train")
        ax.plot(s, getattr(history, f"val_{metric}"), color=VAL_COLOR, label="validation")
        _steps_axis(ax, s, xscale)
        ax.set_ylabel(ylabel)
    loss_ax.set_yscale("log")
    acc_ax.set_ylim(-0.02, 1.02)
    acc_ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def _draw_marks(ax, marks: dict[str, int | None], labelled: bool) -> None:
    for i, (label, step) in enumerate(marks.items()):
        if step is not None:
            ax.axvline(max(step, 1), color="k", ls=":" if i else "--", lw=1, label=label if labelled else None)


def mark_steps(fig: plt.Figure, marks: dict[str, int | None], legend: bool = True) -> plt.Figure:
    """Draw a labelled vertical line at each named step on every axis of ``fig`` (None: skipped).

    With ``legend`` the first axis's legend is redrawn to include them.
    """
    for ax in fig.axes:
        _draw_marks(ax, marks, ax is fig.axes[0])
    if legend:
        fig.axes[0].legend()
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


def plot_accuracy_comparison(histories: dict[str, History]) -> plt.Figure:
    """Test accuracy (solid) and training accuracy (dotted) of several runs against steps (log)."""
    fig, ax = plt.subplots(layout="constrained")
    for color, (label, history) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], histories.items()):
        steps = history.steps.clamp(min=1)
        ax.plot(steps, history.val_acc, color=color, label=f"{label}: test")
        ax.plot(steps, history.train_acc, color=color, ls=":", label=f"{label}: train")
    ax.set(xscale="log", xlabel="optimisation step", ylabel="accuracy", ylim=(-0.02, 1.02))
    ax.legend(loc="upper left")
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


def plot_landscape(alphas, train_loss, test_loss, alpha_c: float, trajectory: History | None = None,
                   w0: float | None = None) -> plt.Figure:
    """Final train and test loss against α (log-log), α_c marked; optionally a run's path on the same axes.

    ``trajectory`` is drawn as its logged (weight norm / ``w0``, loss) points, thin, from start (○)
    to end (■).
    """
    fig, ax = plt.subplots(figsize=(6.0, 3.8), layout="constrained")
    ax.plot(alphas, train_loss, "o-", color=TRAIN_COLOR, label="train loss (norm fixed)")
    ax.plot(alphas, test_loss, "o-", color=VAL_COLOR, label="test loss (norm fixed)")
    ax.axvline(alpha_c, color="k", ls="--", lw=1, label=f"α_c = {alpha_c:.2f}")
    if trajectory is not None:
        a = (trajectory.weight_norm / w0).tolist()
        for metric, color in (("train_loss", TRAIN_COLOR), ("val_loss", VAL_COLOR)):
            values = getattr(trajectory, metric).tolist()
            ax.plot(a, values, color=color, lw=0.9, alpha=0.6, ls=":")
            ax.plot(a[0], values[0], "o", mfc="none", color=color)
            ax.plot(a[-1], values[-1], "s", color=color)
        ax.plot([], [], "k:", lw=0.9, label="unconstrained α = 8 run (○ start, ■ end)")
    ax.set(xscale="log", yscale="log", xlabel="α = weight norm / w₀", ylabel="loss (MSE)")
    ax.legend(loc="best")
    return fig


def plot_power_law(x, y, slope: float, intercept: float, xlabel: str, ylabel: str) -> plt.Figure:
    """Points ``(x, y)`` on log-log axes with the fitted line y = e^intercept · x^slope."""
    fig, ax = plt.subplots(figsize=(4.5, 3.4), layout="constrained")
    ax.plot(x, y, "o", color=VAL_COLOR, label="runs")
    xs = torch.logspace(math.log10(min(x)), math.log10(max(x)), 50)
    ax.plot(xs, math.exp(intercept) * xs**slope, "k--", lw=1, label=f"fit: slope {slope:.2f}")
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return fig


# Nanda et al.'s Fourier circuits (book/fourier_circuits.ipynb): spectra, neurons, logits, progress measures.

RESTRICTED_COLOR, EXCLUDED_COLOR, OTHER_FREQ_COLOR = "#2ca02c", "#9467bd", "#bbbbbb"


def plot_loss_and_norm(steps, train_loss, test_loss, weight_norm) -> plt.Figure:
    """Training and test loss (log axis, left) and the sum of squared weights (right) against epochs."""
    fig, (loss_ax, norm_ax) = plt.subplots(1, 2, figsize=(8.5, 3.2), layout="constrained")
    loss_ax.plot(steps, train_loss, color=TRAIN_COLOR, label="train")
    loss_ax.plot(steps, test_loss, color=VAL_COLOR, label="test")
    loss_ax.set(yscale="log", xlabel="epoch", ylabel="cross-entropy loss")
    loss_ax.legend()
    norm_ax.plot(steps, weight_norm**2, color=NORM_COLOR)
    norm_ax.set(xlabel="epoch", ylabel="sum of squared weights")
    return fig


def spectrum_bars(ax, power: torch.Tensor, key_freqs, color: str = VAL_COLOR):
    """Bars on ``ax`` of the power at each non-constant frequency (``power[k]``, k >= 1), the key ones coloured."""
    freqs = torch.arange(1, len(power))
    ax.bar(freqs, power[1:], color=[color if int(k) in key_freqs else OTHER_FREQ_COLOR for k in freqs], width=0.9)
    ax.set(xlabel="frequency k", ylabel="power")
    return ax


def plot_spectrum(power: torch.Tensor, key_freqs) -> plt.Figure:
    """The power spectrum of an embedding (``fourier.freq_power``), the key frequencies coloured and labelled."""
    fig, ax = plt.subplots(figsize=(7.0, 2.8), layout="constrained")
    spectrum_bars(ax, power, key_freqs)
    for k in key_freqs:
        ax.annotate(str(k), (k, float(power[k])), ha="center", va="bottom", fontsize=8)
    return fig


def plot_neuron_clusters(acts: torch.Tensor, neuron_freq: torch.Tensor, neuron_frac: torch.Tensor,
                         sizes: dict[int, int], n_maps: int = 3) -> plt.Figure:
    """For the ``n_maps`` largest clusters, the activation over (a, b) of the neuron its frequency explains
    best (``acts [p, p, d_mlp]``); on the right, the cluster sizes (``fourier.cluster_neurons``)."""
    fig, axes = plt.subplots(1, n_maps + 1, figsize=(10, 2.8), layout="constrained")
    biggest = sorted(sizes, key=sizes.get, reverse=True)[:n_maps]
    for ax, k in zip(axes, biggest):
        members = (neuron_freq == k).nonzero().flatten()
        neuron = int(members[neuron_frac[members].argmax()]) if len(members) else 0
        ax.imshow(acts[:, :, neuron].T, origin="lower", cmap="viridis")
        ax.set(xlabel="a", ylabel="b", title=f"neuron {neuron} (k = {k})")
        ax.grid(False)
    for ax in axes[len(biggest):-1]:  # fewer key frequencies than maps
        ax.set_visible(False)
    axes[-1].bar([str(k) for k in sizes], list(sizes.values()), color=VAL_COLOR)
    axes[-1].set(xlabel="key frequency", ylabel="neurons", title="cluster sizes")
    return fig


def plot_logit_components(norms: torch.Tensor, key_freqs) -> plt.Figure:
    """Heat map of the logits' 2D Fourier components (``fourier.logit_fourier_norms``), the key ones ticked."""
    _, names = fourier_basis(norms.shape[0])
    fig, ax = plt.subplots(figsize=(5.2, 4.4), layout="constrained")
    image = ax.imshow(norms, cmap="Greys", origin="lower")
    ticks = [i for i, name in enumerate(names) if name.split()[-1] in {str(k) for k in key_freqs}]
    ax.set_xticks(ticks, [names[i] for i in ticks], rotation=90, fontsize=7)
    ax.set_yticks(ticks, [names[i] for i in ticks], fontsize=7)
    ax.set(xlabel="Fourier component in b", ylabel="Fourier component in a")
    ax.grid(False)
    fig.colorbar(image, ax=ax, label="norm over answers c")
    return fig


def plot_progress_measures(measures: dict[str, torch.Tensor], steps, weight_norm,
                           phases: dict[str, int | None]) -> plt.Figure:
    """Train, test, restricted and excluded loss at the checkpoints (``fourier.progress_measures``, top) and
    the sum of squared weights (bottom, logged ``steps``), with a dotted line at each phase boundary."""
    fig, (loss_ax, norm_ax) = plt.subplots(2, 1, figsize=(7.5, 5.0), sharex=True, layout="constrained")
    curves = {"train": ("train_loss", TRAIN_COLOR), "test": ("test_loss", VAL_COLOR),
              "restricted": ("restricted_loss", RESTRICTED_COLOR), "excluded": ("excluded_loss", EXCLUDED_COLOR)}
    for label, (key, color) in curves.items():
        loss_ax.plot(measures["steps"], measures[key], color=color, label=label)
    loss_ax.set(yscale="log", ylabel="loss")
    loss_ax.legend(ncol=4, loc="lower left")
    norm_ax.plot(steps, weight_norm**2, color=NORM_COLOR)
    norm_ax.set(xlabel="epoch", ylabel="sum of squared weights")
    for ax in (loss_ax, norm_ax):
        for boundary in phases.values():
            if boundary is not None:
                ax.axvline(boundary, color="k", ls=":", lw=1)
    return fig


def plot_checkpoint_spectrum(checkpoint_steps: list[int], spectra: torch.Tensor, key_freqs,
                             measures: dict[str, torch.Tensor], epoch: int) -> plt.Figure:
    """The embedding's spectrum at the checkpoint ``epoch`` (``spectra[i]`` at ``checkpoint_steps[i]``), beside
    the train and test loss with ``epoch`` marked."""
    fig, (spec_ax, loss_ax) = plt.subplots(1, 2, figsize=(9, 3), layout="constrained")
    spectrum_bars(spec_ax, spectra[checkpoint_steps.index(epoch)], key_freqs)
    spec_ax.set_title(f"embedding spectrum, epoch {epoch:,}")
    loss_ax.plot(measures["steps"], measures["train_loss"], color=TRAIN_COLOR, label="train")
    loss_ax.plot(measures["steps"], measures["test_loss"], color=VAL_COLOR, label="test")
    loss_ax.axvline(epoch, color="k", lw=1)
    loss_ax.set(yscale="log", xlabel="epoch", ylabel="loss")
    loss_ax.legend()
    return fig


def show_checkpoint_spectrum(checkpoint_steps: list[int], spectra: torch.Tensor, key_freqs,
                             measures: dict[str, torch.Tensor], epoch: int) -> None:
    """Draw and show ``plot_checkpoint_spectrum``: for ``ipywidgets.interact``, which calls it with each
    value of an ``epoch`` slider (pass the other arguments as ``ipywidgets.fixed`` values)."""
    plot_checkpoint_spectrum(checkpoint_steps, spectra, key_freqs, measures, epoch)
    plt.show()


def plot_spectrum_snapshots(checkpoint_steps: list[int], spectra: torch.Tensor, key_freqs, n_snapshots: int,
                            cols: int = 4) -> plt.Figure:
    """Small multiples: the embedding's spectrum at ``n_snapshots`` evenly spaced checkpoints."""
    shown = torch.linspace(0, len(checkpoint_steps) - 1, n_snapshots).round().long().tolist()
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.2 * rows), sharey=True, layout="constrained", squeeze=False)
    for ax, i in zip(axes.flat, shown):
        spectrum_bars(ax, spectra[i], key_freqs)
        ax.set_title(f"epoch {checkpoint_steps[i]:,}", fontsize=9)
        ax.set(xlabel="", ylabel="")
    for ax in axes.flat[len(shown):]:
        ax.set_visible(False)
    fig.supxlabel("frequency k")
    fig.supylabel("power")
    return fig


def plot_spectra_side_by_side(spectra: dict[str, tuple[torch.Tensor, list[int]]]) -> plt.Figure:
    """Spectra side by side, ``{title: (power, key_freqs)}``, the key frequencies of each in its own colour."""
    fig, axes = plt.subplots(1, len(spectra), figsize=(5 * len(spectra), 2.8), layout="constrained", squeeze=False)
    colors = (VAL_COLOR, TRAIN_COLOR, NORM_COLOR)
    for i, (ax, (title, (power, key_freqs))) in enumerate(zip(axes.flat, spectra.items())):
        spectrum_bars(ax, power, key_freqs, color=colors[i % len(colors)])
        ax.set_title(title)
    return fig
