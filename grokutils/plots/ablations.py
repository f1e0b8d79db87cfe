"""Figures of the MNIST-ablation chapter: several runs' held-out and training accuracy side by side."""
from __future__ import annotations

import matplotlib.pyplot as plt

from grokutils.history import History


def plot_test_and_train(histories: dict[str, History], level: float | None = None, held_out: str = "test") -> plt.Figure:
    """Two panels over optimisation steps (log axis): each run's held-out accuracy (left) and training accuracy
    (right), one colour a run; ``level`` (if given) drawn as a dashed line on the left."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True, layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, (label, h) in zip(colors, histories.items()):
        steps = h.steps.clamp(min=1)
        axes[0].plot(steps, h.val_acc, color=color, label=label)
        axes[1].plot(steps, h.train_acc, color=color, label=label)
    if level is not None:
        axes[0].axhline(level, color="#888888", ls="--", lw=1)
    for ax, what in zip(axes, (f"{held_out} accuracy", "training accuracy")):
        ax.set(xscale="log", xlabel="optimisation step", title=what, ylim=(-0.02, 1.02))
    axes[0].set_ylabel("accuracy")
    axes[1].legend(loc="lower right", fontsize=8)
    return fig
