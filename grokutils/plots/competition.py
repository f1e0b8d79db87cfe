"""Figures of the circuit-competition chapter: memorisation capacity, the (width, size) map of zones, ungrokking and
the multi-task runs."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

ZONE_MARKS = {"progression": "P", "grokking": "G", "semi-grokking": "S", "memorisation": "M", "underfitting": "U"}
"""The letter each zone gets in a cell of the map."""


def plot_capacity(widths: list[int], counts: list[float], n_train: int) -> plt.Figure:
    """Examples memorised (random labels) against the width, with the training set's size as a dashed line."""
    fig, ax = plt.subplots(figsize=(4.8, 3.2), layout="constrained")
    ax.plot(widths, counts, "o-", color="C3")
    ax.axhline(n_train, color="#888888", ls="--", lw=0.8, label=f"all {n_train:,} training pairs")
    ax.set(xscale="log", xlabel="width (d_model)", ylabel="examples memorised", ylim=(0, n_train * 1.08),
           title="memorisation capacity (random labels)")
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.minorticks_off()
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_zone_map(widths: list[int], sizes: list[int], final: list[list[float]], zones: list[list[str]],
                  delays: list[list[int | None]], d_crit: dict[int, int | None]) -> plt.Figure:
    """Final test accuracy per (width, size) cell as colour, each cell's zone letter (``ZONE_MARKS``) and grokking
    delay in steps (where ``delays`` has one: a cell with a zone of G or P can have none), and each width's critical
    size as an outlined cell."""
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.75 * len(widths)), layout="constrained")
    image = ax.imshow(np.array(final), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.grid(False)
    for i, w in enumerate(widths):
        for j, n in enumerate(sizes):
            text = ZONE_MARKS[zones[i][j]] + ("" if delays[i][j] is None else f"\n+{delays[i][j]:,}")
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if final[i][j] < 0.6 else "black")
            if d_crit.get(w) == n:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
    ax.set_xticks(range(len(sizes)), [f"{n:,}" for n in sizes])
    ax.set_yticks(range(len(widths)), [str(w) for w in widths])
    ax.set(xlabel="training-set size", ylabel="width", title="zones: " + ", ".join(f"{m} {z}" for z, m in ZONE_MARKS.items()))
    ax.title.set_fontsize(8)
    fig.colorbar(image, ax=ax, label="final test accuracy")
    return fig


def plot_ungrokking(accs: dict[int, float], level: float, low: float, parent_size: int,
                    d_crit: int | None, early: dict[int, float] | None = None, early_label: str = "",
                    label: str = "continued run") -> plt.Figure:
    """Final test accuracy of the continued runs against their subset's size (log axis), the level (``level``,
    dashed) and the ungrokked mark (``low``, dash-dotted) named in the legend, the parent's size and the critical size
    of its width marked; ``early``: the same runs read at a shorter budget (``early_label``), drawn paler, beside the
    full budget's (``label``); the legend sits to the right of the axes."""
    fig, ax = plt.subplots(figsize=(7.2, 3.2), layout="constrained")
    if early is not None:
        ax.plot(list(early), list(early.values()), "s--", color="C0", alpha=0.45, label=early_label)
    ax.plot(list(accs), list(accs.values()), "o-", color="C0", label=label)
    for y, ls, name in ((level, "--", f"generalised ({level:.0%})"), (low, "-.", f"ungrokked below ({low:.0%})")):
        ax.axhline(y, color="#888888", ls=ls, lw=0.9, label=name)
    ax.axvline(parent_size, color="C2", lw=1, label=f"parent's training set ({parent_size:,})")
    if d_crit is not None:
        ax.axvline(d_crit, color="C3", ls=":", lw=1.2, label=f"D_crit from scratch ({d_crit:,})")
    ax.set(xscale="log", xlabel="subset size", ylabel="test accuracy", ylim=(-0.02, 1.02),
           title="ungrokking: a grokked network trained on less data")
    ax.set_xticks(list(accs), [f"{n:,}" for n in accs])
    ax.minorticks_off()
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return fig


def plot_multitask(curves: dict[float, list[tuple[int, float]]], mirror: float | None = None) -> plt.Figure:
    """Best addition test accuracy against the width, one line per ratio of random-label to addition examples;
    ``mirror``: the share of held-out pairs whose mirror was trained (what commutativity alone answers), dotted."""
    fig, ax = plt.subplots(figsize=(4.8, 3.2), layout="constrained")
    if mirror is not None:
        ax.axhline(mirror, color="#888888", ls=":", lw=1.2, label=f"mirror trained ({mirror:.0%})")
    for i, (ratio, points) in enumerate(curves.items()):
        ax.plot(*zip(*points), "o-" if ratio == 0 else "s--", color=f"C{i}",
                label="addition alone" if ratio == 0 else f"+ random labels {ratio:g}:1")
    widths = [w for w, _ in next(iter(curves.values()))]
    ax.set(xscale="log", xlabel="width (d_model)", ylabel="best addition test accuracy", ylim=(-0.02, 1.02),
           title="addition beside memorisation")
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.minorticks_off()
    ax.legend(fontsize=8, loc="lower right")
    return fig
