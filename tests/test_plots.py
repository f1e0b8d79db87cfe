"""The house style and the shared figures: each returns a Figure and changes nothing at import."""
import importlib

import matplotlib
import matplotlib.pyplot as plt
import torch

from grokutils import plots


def test_style_is_explicit_and_plots_return_figures(make_history):
    before = matplotlib.rcParams["axes.spines.top"]
    importlib.reload(plots)
    assert matplotlib.rcParams["axes.spines.top"] == before  # importing changes nothing
    plots.style()
    assert matplotlib.rcParams["axes.spines.top"] is False
    h = make_history([0, 10, 100, 1000, 10000], train_acc=[0.0, 0.96, 1.0, 1.0, 1.0], val_acc=[0.0, 0.01, 0.02, 0.97, 1.0],
                     train_loss=[1, 0.5, 0.1, 0.1, 0.1], val_loss=[1, 2, 3, 0.5, 0.1], weight_norm=[5, 6, 6, 4, 3])
    figures = (plots.plot_curves(h), plots.plot_curves(h, xscale="linear", title="t"),
               plots.mark_steps(plots.plot_curves(h), {"a": 10, "b": None}),
               plots.plot_steps_against([0.3, 0.5], [4000, 2000], "training fraction", unfinished=[0.2]),
               plots.plot_accuracy_and_norm(h, {"fit": 100}, title="t"), plots.plot_accuracy_comparison({"a": h, "b": h}))
    for fig in figures:
        assert isinstance(fig, plt.Figure)
    fig = plots.plot_curves(h)
    assert fig.axes[0].get_xscale() == "log" and fig.axes[1].get_yscale() == "log"
    assert fig.axes[0].get_xlabel() == "optimisation step"
    plt.close("all")


def test_long_step_axes_label_thousands_briefly():
    from grokutils.plots.base import _short_number, step_ticks
    assert [_short_number(x) for x in (0, 500, 10_000, 12_500, 1_500_000)] == ["0", "500", "10k", "12.5k", "1.5M"]
    fig, ax = plt.subplots()
    ax.plot([0, 18_000], [0, 1])
    step_ticks(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(labels) <= 8 and all(len(label) <= 5 for label in labels)
    plt.close(fig)


def test_seed_bands_and_the_static_slider(make_history):
    plots.style()
    runs = [make_history([1, 10, 100], val_acc=[0.0, 0.1 * k, 1.0], train_loss=[1.0, 0.5, 0.1], val_loss=[1.0, 0.9, 0.2])
            for k in range(3)]
    fig = plots.plot_curves(runs)
    assert len(fig.axes[0].collections) == 2, "a shaded band per curve"
    assert "3 seeds" in fig.axes[0].get_legend().get_texts()[0].get_text()
    plt.close(fig)
    steps = [0, 100, 200, 300]
    html = plots.fourier.checkpoint_scrubber(steps, torch.rand(4, 12), [1, 3], {
        "steps": torch.arange(0, 301, 10), "train_loss": torch.rand(31) + 0.1, "test_loss": torch.rand(31) + 0.1}).data
    assert 'class="anim-slider"' in html and html.count("data:image/png;base64") == len(steps), "one frame per checkpoint"


def test_the_static_slider_loads_nothing_from_the_network():
    html = plots.base.scrubber(plt.figure(), lambda i: None, 2).data
    assert "https://" not in html


def test_band_figures_mark_blank_cells_and_survive_an_empty_grid():
    from grokutils.analysis.band import Cell
    cells = [Cell(0, n, b, (10,), (None if b == 64 else 10 + n // b,)) for n in (500, 2000) for b in (1, 8, 64)]
    fig = plots.band.plot_delay_maps(cells, (100, 800))
    assert len(fig.axes) == 4, "two maps, two colour bars"
    crossed = [line for line in fig.axes[0].lines if line.get_color() == "#999999"]
    assert len(crossed) == 2, "one cross per blank cell"
    plt.close(fig)
    empty = [Cell(0, 500, 8, (None,), (None,))]
    for fig in (plots.band.plot_delay_maps(empty, (100, 800)), plots.band.plot_steps_per_cell(empty, (100, 800))):
        plt.close(fig)


def test_curve_grid_hides_unused_panels_and_steps_mark_the_unreached(make_history):
    h = make_history([0, 10, 100, 1000], train_acc=[0.0, 1.0, 1.0, 1.0], val_acc=[0.0, 0.0, 0.5, 1.0])
    fig = plots.encodings.plot_curve_grid({"Power": {"30%": h, "45%": h, "60%": h}, "simple": {"30%": h}}, 0.99)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and len(visible) == 4 and visible[0].get_xscale() == "log"
    assert [ax.get_title() for ax in visible] == ["30%", "45%", "60%", "30%"]
    fig = plots.encodings.plot_steps_to_level({"a": [(0.3, None, 8000), (0.45, 6000, 8000), (0.6, 2000, 8000)]})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    assert list(ax.lines[1].get_ydata()) == [8000] and "not reached" in ax.get_legend().get_texts()[1].get_text()
    plt.close("all")


def test_data_efficiency_draws_one_line_per_variant_and_stars_the_highlighted():
    curves = {"Adam": [(0.6, 0.2), (0.9, 0.6)], "AdamW": [(0.6, 1.0), (0.9, 1.0)]}
    fig = plots.efficiency.plot_data_efficiency(curves, 0.99, ["AdamW"], "variants")
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and list(ax.lines[1].get_ydata()) == [1.0, 1.0]
    assert ax.lines[1].get_linewidth() > ax.lines[0].get_linewidth()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Adam", "★ AdamW"]
    plt.close("all")


def test_data_efficiency_draws_a_curve_of_one_point_as_a_large_marker_on_top():
    fig = plots.efficiency.plot_data_efficiency({"x+y": [(0.6, 1.0), (0.9, 1.0)], "S5": [(0.6, 1.0)]}, 0.99)
    lone, line = fig.axes[0].lines[1], fig.axes[0].lines[0]
    assert lone.get_marker() == "D" and lone.get_markersize() > line.get_markersize() and lone.get_zorder() > line.get_zorder()
    plt.close("all")


def test_zone_map_letters_each_cell_and_outlines_the_critical_sizes():
    fig = plots.competition.plot_zone_map([16, 32], [300, 600], [[0.02, 0.5], [0.1, 1.0]],
                                          [["memorisation", "semi-grokking"], ["memorisation", "grokking"]],
                                          [[None, None], [None, 1052]], {16: None, 32: 600})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["M", "S", "M", "G\n+1,052"]
    assert len(ax.patches) == 1 and ax.patches[0].get_xy() == (0.5, 0.5)  # width 32's D_crit, 600
    plt.close("all")


def test_competition_figures_draw_their_points():
    cap = plots.competition.plot_capacity([4, 8], [100, 300], 400)
    assert list(cap.axes[0].lines[0].get_ydata()) == [100, 300]
    ungrok = plots.competition.plot_ungrokking({100: 0.3, 300: 1.0}, 0.9, 0.5, 800, None)
    assert list(ungrok.axes[0].lines[0].get_ydata()) == [0.3, 1.0] and len(ungrok.axes[0].lines) == 4  # no D_crit line
    mt = plots.competition.plot_multitask({0.0: [(16, 1.0), (32, 1.0)], 1.0: [(16, 0.3), (32, 0.5)]})
    assert [t.get_text() for t in mt.axes[0].get_legend().get_texts()] == ["addition alone", "+ random labels 1:1"]
    plt.close("all")
