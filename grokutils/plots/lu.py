"""Figures of the LU-mechanism chapter (Omnigrok's landscapes)."""
from __future__ import annotations

import matplotlib.pyplot as plt

from grokutils.history import History
from grokutils.plots.base import TRAIN_COLOR, VAL_COLOR


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
