"""Figures of the interventions-and-operations chapter: data-efficiency curves, the best validation accuracy within a
budget against the training fraction, one line per variant."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.colors import to_rgb

REFERENCE_COLOR = "#bbbbbb"


def plot_data_efficiency(curves: dict[str, list[tuple[float, float]]], level: float | None = None,
                         highlight: list[str] | None = None, title: str | None = None,
                         reference: tuple[str, list[tuple[float, float]]] | None = None) -> plt.Figure:
    """Per label, ``(fraction, best validation accuracy)`` points joined by a line; ``level`` (if given) as a dashed
    line, the lines of ``highlight`` drawn thicker with a star in the legend (the variants that need least data), a curve
    of one point as a large diamond above the lines (it would hide under them; each later one smaller and in front, so
    diamonds at the same point nest instead of hiding each other), and ``reference`` (a label and its
    points, if given) as a thick grey band behind the curves. No curve is grey, so none reads as the band: the
    colour cycle without its grey, and black, then the same colours dashed."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    styles = ["-", "--", "-.", ":"]
    colors = [c for c in plt.rcParams["axes.prop_cycle"].by_key()["color"] if not _is_grey(c)] + ["#000000"]
    if reference is not None:
        ax.plot(*zip(*reference[1]), color=REFERENCE_COLOR, lw=8, alpha=0.6, label=reference[0], zorder=0)
    singles = 0
    for i, (label, points) in enumerate(curves.items()):
        marked, single = label in (highlight or []), len(points) == 1  # a lone point is drawn large, on top
        # lone points that coincide nest: each later one smaller and in front, so none hides another
        size = max(4, 11 - 3 * singles) if single else 4
        singles += single
        ax.plot(*zip(*points), styles[(i // len(colors)) % len(styles)], marker="D" if single else "o",
                ms=size, zorder=3 + singles if single else 2, color=colors[i % len(colors)],
                lw=3 if marked else 1.4, label=f"★ {label}" if marked else label)
    if level is not None:
        ax.axhline(level, color="#888888", ls="--", lw=0.8)
    ax.set(xlabel="training fraction", ylabel="best validation accuracy", ylim=(-0.02, 1.02), title=title)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _is_grey(color: str) -> bool:
    """Whether ``color`` has equal red, green and blue (a grey, which the reference band owns)."""
    r, g, b = to_rgb(color)
    return max(r, g, b) - min(r, g, b) < 0.02
