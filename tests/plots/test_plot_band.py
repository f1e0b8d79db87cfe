"""grokutils.plots.band: the comprehension band's delay maps and steps per cell."""
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pytest
import torch

from grokutils import plots


def test_seed_bands_and_the_static_slider(make_history):
    plots.style()
    runs = [make_history([1, 10, 100], val_acc=[0.0, 0.1 * k, 1.0], train_loss=[1.0, 0.5, 0.1], val_loss=[1.0, 0.9, 0.2])
            for k in range(3)]
    fig = plots.plot_curves(runs)
    assert len(fig.axes[0].collections) == 2, "a shaded band per curve"
    assert "3 seeds" in fig.legends[0].get_texts()[0].get_text(), "one legend, above the panels"
    plt.close(fig)


def test_power_law_without_a_fit_draws_the_points_and_says_so():
    fig = plots.plot_power_law([100], [8], None, "N", "B*")
    ax = fig.axes[0]
    assert len(ax.lines) == 1 and [t.get_text() for t in ax.texts] == ["no fit at this profile (1 point)"]
    empty = plots.plot_power_law([], [], None, "N", "B*").axes[0]
    assert not empty.lines and empty.texts[0].get_text() == "no fit at this profile (0 points)"
    plt.close("all")
    steps = [0, 100, 200, 300]
    html = plots.fourier.checkpoint_scrubber(steps, torch.rand(4, 12), [1, 3], {
        "steps": torch.arange(0, 301, 10), "train_loss": torch.rand(31) + 0.1, "test_loss": torch.rand(31) + 0.1}).data
    assert 'class="anim-slider"' in html and html.count("data:image/png;base64") == len(steps), "one frame per checkpoint"


def test_band_figures_mark_blank_cells_and_survive_an_empty_grid():
    from grokutils.analysis.band import Cell
    cells = [Cell(0, n, b, (None if b == 64 else 10,), (None if b > 1 else 10 + n * n // 500,)) for n in (500, 2000)
             for b in (1, 8, 64)]
    fig = plots.band.plot_delay_maps(cells, (100, 800))
    assert len(fig.axes) == 4, "two maps, two colour bars"
    crossed = [line for line in fig.axes[0].lines if line.get_color() == "#999999"]
    assert len(crossed) == 4, "one cross (two strokes) per cell where no run fitted"
    assert [t.get_text() for t in fig.axes[0].texts] == [">", ">"], "fitted, never generalised: more than the budget"
    plt.close(fig)
    empty = [Cell(0, 500, 8, (None,), (None,))]
    for fig in (plots.band.plot_delay_maps(empty, (100, 800)), plots.band.plot_steps_per_cell(empty, (100, 800))):
        plt.close(fig)


def test_a_zero_delay_is_labelled_not_coloured_as_the_shortest_and_coincident_steps_stay_visible():
    from grokutils.analysis.band import Cell
    cells = [Cell(0, 800, 8, (100,), (100,)), Cell(0, 800, 1, (50,), (1050,)), Cell(0, 2000, 8, (40,), (2040,))]
    fig = plots.band.plot_delay_maps(cells, (100, 800))
    assert [t.get_text() for t in fig.axes[0].texts] == ["0"], "the zero-delay cell is labelled 0"
    low, high = fig.axes[2].get_ylim()  # the steps map's colour bar spans the positive delays only
    assert (low, high) == pytest.approx((1000, 2000))
    plt.close(fig)
    fig = plots.band.plot_steps_per_cell(cells, (100, 800))
    val, train = fig.axes[0].collections[-2:]
    assert train.get_zorder() > val.get_zorder() and max(val.get_sizes()) > max(train.get_sizes())
    assert len(val.get_facecolor()) == 0 or val.get_facecolor()[0][3] == 0, "validation's squares are open"
    plt.close(fig)


def test_power_law_flags_points_and_names_them():
    fig = plots.plot_power_law([100, 200, 400], [8, 8, 2], SimpleNamespace(slope=-1.0, intercept=5.0), "N", "B*",
                               label="best cell of each N",
                               flagged=[False, False, True], flagged_label="delay 0")
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[:2] == ["best cell of each N", "delay 0"]
    assert list(fig.axes[0].lines[1].get_xdata()) == [400] and fig.axes[0].lines[1].get_markerfacecolor() == "none"
    plt.close(fig)
