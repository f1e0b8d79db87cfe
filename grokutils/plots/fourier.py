"""Figures of the Fourier-circuits chapter (Nanda et al.'s progress measures and spectra)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import PowerNorm

from grokutils.analysis.fourier import fourier_basis
from grokutils.plots.base import NORM_COLOR, TRAIN_COLOR, VAL_COLOR, scrubber, step_ticks

RESTRICTED_COLOR, EXCLUDED_COLOR, OTHER_FREQ_COLOR = "#2ca02c", "#9467bd", "#bbbbbb"
W_E_COLOR, W_L_COLOR = TRAIN_COLOR, VAL_COLOR
"""The embedding's colour and the neuron-logit map's, the same in every figure of the chapter."""


def _legend_right(ax, **kwargs) -> None:
    """``ax``'s legend to the right of it, outside the curves."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def spectrum_bars(ax, power: torch.Tensor, key_freqs, color: str = W_E_COLOR):
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
    """Heat maps of the norms of the logits' 2D Fourier components (``fourier.logit_fourier_norms``), on one
    square-root colour scale: all components (left, each key frequency ticked once between its cos and sin rows),
    and only the constant and the key frequencies' components, each labelled (right)."""
    _, names = fourier_basis(norms.shape[0])
    norms = torch.as_tensor(norms).detach().cpu().numpy()
    keys = {str(k) for k in key_freqs}
    kept = [0] + [i for i, name in enumerate(names) if name.split()[-1] in keys]
    fig, (full_ax, key_ax) = plt.subplots(1, 2, figsize=(9.6, 4.6), layout="constrained")
    scale = PowerNorm(0.5, vmin=0, vmax=max(float(norms.max()), 1e-12))
    image = full_ax.imshow(norms, cmap="Greys", origin="lower", norm=scale, interpolation="nearest")
    ticks = {}  # one tick per key frequency, between its cos and sin rows
    for i, name in enumerate(names):
        if name.split()[-1] in keys:
            ticks.setdefault(f"k = {name.split()[-1]}", []).append(i)
    positions = [sum(rows) / len(rows) for rows in ticks.values()]
    full_ax.set_xticks(positions, list(ticks), rotation=90, fontsize=7)
    full_ax.set_yticks(positions, list(ticks), fontsize=7)
    full_ax.set(xlabel="Fourier component in b", ylabel="Fourier component in a", title="all components")
    key_ax.imshow(norms[kept][:, kept], cmap="Greys", origin="lower", norm=scale, interpolation="nearest")
    labels = [names[i] for i in kept]
    key_ax.set_xticks(range(len(kept)), labels, rotation=90, fontsize=7)
    key_ax.set_yticks(range(len(kept)), labels, fontsize=7)
    key_ax.set(xlabel="component in b", ylabel="component in a", title="the key frequencies' components")
    for ax in (full_ax, key_ax):
        ax.grid(False)
        ax.title.set_fontsize(9)
    fig.colorbar(image, ax=[full_ax, key_ax], label="norm over answers c (square-root scale)", shrink=0.8)
    return fig


def _phase_lines(ax, phases: dict[str, int | None]) -> None:
    for boundary in phases.values():
        if boundary is not None:
            ax.axvline(boundary, color="k", ls=":", lw=1)


def plot_progress_measures(measures: dict[str, torch.Tensor], steps, weight_norm,
                           phases: dict[str, int | None]) -> plt.Figure:
    """Train, test, restricted and excluded loss at the checkpoints (``fourier.progress_measures``, top; the
    TransformerLens demo's restricted loss dashed), the restricted and excluded accuracy (middle), and the
    sum of squared weights (bottom, logged ``steps``), with a dotted line at each phase boundary."""
    fig, (loss_ax, acc_ax, norm_ax) = plt.subplots(3, 1, figsize=(9.0, 6.6), sharex=True, layout="constrained",
                                                   height_ratios=(2, 1, 1))
    curves = {"train": ("train_loss", TRAIN_COLOR, "-"), "test": ("test_loss", VAL_COLOR, "-"),
              "restricted": ("restricted_loss", RESTRICTED_COLOR, "-"),
              "excluded": ("excluded_loss", EXCLUDED_COLOR, "-"),
              "restricted (MLP, demo)": ("mlp_restricted_loss", RESTRICTED_COLOR, "--")}
    for label, (key, color, ls) in curves.items():
        loss_ax.plot(measures["steps"], measures[key], color=color, ls=ls, label=label)
    loss_ax.set(yscale="log", ylabel="loss")
    _legend_right(loss_ax)
    for label, key, color in (("restricted (all pairs)", "restricted_acc", RESTRICTED_COLOR),
                              ("excluded (training pairs)", "excluded_acc", EXCLUDED_COLOR),
                              ("test", "test_acc", VAL_COLOR)):
        acc_ax.plot(measures["steps"], measures[key], color=color, label=label)
    acc_ax.set(ylabel="accuracy", ylim=(-0.02, 1.02))
    _legend_right(acc_ax)
    norm_ax.plot(steps, weight_norm**2, color=NORM_COLOR)
    norm_ax.set(xlabel="epoch", ylabel="sum of squared weights")
    step_ticks(norm_ax)
    for ax in (loss_ax, acc_ax, norm_ax):
        _phase_lines(ax, phases)
    return fig


def plot_excluded_per_freq(measures: dict[str, torch.Tensor], key_freqs, phases: dict[str, int | None]) -> plt.Figure:
    """The excluded loss with one key frequency removed at a time (``excluded_loss_per_freq``), beside the
    train loss and the excluded loss with all of them removed."""
    fig, ax = plt.subplots(figsize=(9.0, 3.2), layout="constrained")
    steps = measures["steps"]
    ax.plot(steps, measures["train_loss"], color=TRAIN_COLOR, label="train")
    ax.plot(steps, measures["excluded_loss"], color=EXCLUDED_COLOR, lw=2.4, label="all key frequencies removed")
    others = [c for c in plt.rcParams["axes.prop_cycle"].by_key()["color"] if c not in (TRAIN_COLOR, EXCLUDED_COLOR)]
    for i, k in enumerate(key_freqs):
        ax.plot(steps, measures["excluded_loss_per_freq"][:, i], lw=1, color=others[i % len(others)],
                label=f"k = {k} removed")
    ax.set(yscale="log", xlabel="epoch", ylabel="loss on the training pairs")
    step_ticks(ax)
    _legend_right(ax, fontsize=8)
    _phase_lines(ax, phases)
    return fig


def plot_gini(gini: dict[str, torch.Tensor], phases: dict[str, int | None]) -> plt.Figure:
    """Gini coefficients of the Fourier component norms of ``W_E`` and ``W_L`` at each checkpoint
    (``fourier.gini_over_checkpoints``), with the phase boundaries dotted."""
    fig, ax = plt.subplots(figsize=(7.5, 2.8), layout="constrained")
    ax.plot(gini["steps"], gini["W_E"], color=W_E_COLOR, label="embedding $W_E$")
    ax.plot(gini["steps"], gini["W_L"], color=W_L_COLOR, label="neuron-logit map $W_L$")
    ax.set(xlabel="epoch", ylabel="Gini coefficient", ylim=(0, 1))
    step_ticks(ax)
    ax.legend(loc="upper left")
    _phase_lines(ax, phases)
    return fig


def plot_spike_controls(histories: dict, window: int) -> plt.Figure:
    """Training loss (top) and sum of squared weights (bottom) over the first ``window`` epochs of each run
    ``{name: History}`` (the run and its spike controls)."""
    fig, (loss_ax, norm_ax) = plt.subplots(2, 1, figsize=(7.5, 4.6), sharex=True, layout="constrained")
    colors = (TRAIN_COLOR, VAL_COLOR, RESTRICTED_COLOR, EXCLUDED_COLOR)
    for color, (name, history) in zip(colors, histories.items()):
        shown = history.steps <= window
        loss_ax.plot(history.steps[shown], history.train_loss[shown], color=color, lw=1, label=name)
        norm_ax.plot(history.steps[shown], history.weight_norm[shown] ** 2, color=color, lw=1)
    loss_ax.set(yscale="log", ylabel="training loss")
    loss_ax.legend(loc="upper right")
    norm_ax.set(xlabel="epoch", ylabel="sum of squared weights")
    step_ticks(norm_ax)
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
    step_ticks(loss_ax)
    loss_ax.legend()
    return fig


def checkpoint_scrubber(checkpoint_steps: list[int], spectra: torch.Tensor, key_freqs,
                        measures: dict[str, torch.Tensor], max_frames: int = 30, dpi: int = 72):
    """``plot_checkpoint_spectrum`` at up to ``max_frames`` evenly spaced checkpoints behind a JavaScript
    slider (``base.scrubber``): the static page's version of the ipywidgets slider."""
    shown = torch.linspace(0, len(checkpoint_steps) - 1, min(max_frames, len(checkpoint_steps))).round().long()
    shown = shown.unique().tolist()
    fig = plot_checkpoint_spectrum(checkpoint_steps, spectra, key_freqs, measures, checkpoint_steps[shown[0]])
    fig.set_dpi(dpi)
    spec_ax, loss_ax = fig.axes
    top = float(spectra[shown][:, 1:].max()) * 1.05
    marker = loss_ax.lines[-1]

    def draw(frame: int) -> None:
        i = shown[frame]
        spec_ax.cla()
        spectrum_bars(spec_ax, spectra[i], key_freqs)
        spec_ax.set(ylim=(0, top), title=f"embedding spectrum, epoch {checkpoint_steps[i]:,}")
        marker.set_xdata([checkpoint_steps[i]] * 2)

    return scrubber(fig, draw, len(shown))


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


def plot_spectra_side_by_side(spectra: dict[str, tuple[torch.Tensor, list[int]]],
                              colors: list[str] | None = None) -> plt.Figure:
    """Spectra side by side, ``{title: (power, key_freqs)}``, the key frequencies of panel i in ``colors[i]``
    (None: all in ``W_L_COLOR``; pass ``W_E_COLOR`` for an embedding's, so each matrix keeps its colour)."""
    fig, axes = plt.subplots(1, len(spectra), figsize=(5 * len(spectra), 2.8), layout="constrained", squeeze=False)
    colors = colors or [W_L_COLOR] * len(spectra)
    for ax, color, (title, (power, key_freqs)) in zip(axes.flat, colors, spectra.items()):
        spectrum_bars(ax, power, key_freqs, color=color)
        ax.set_title(title)
    return fig
