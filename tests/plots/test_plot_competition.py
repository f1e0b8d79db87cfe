"""grokutils.plots.competition: the zone map, capacity, ungrokking and multi-task figures."""
import matplotlib.pyplot as plt

from grokutils import plots


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


def test_ungrokking_names_both_levels_in_a_legend_beside_the_axes():
    fig = plots.competition.plot_ungrokking({100: 0.3, 300: 1.0}, 0.9, 0.5, 800, 600)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "generalised (90%)" in texts and "ungrokked below (50%)" in texts
    fig.canvas.draw()
    legend, axes = fig.axes[0].get_legend().get_window_extent(), fig.axes[0].get_window_extent()
    assert legend.x0 >= axes.x1, "the legend sits outside the axes"
    plt.close("all")


def test_ungrokking_draws_the_shorter_budget_paler_beside_the_full_one():
    fig = plots.competition.plot_ungrokking({100: 0.3, 300: 1.0}, 0.9, 0.5, 800, 600, {100: 0.5, 300: 1.0},
                                            "after 3,000 updates", "after 6,000 updates")
    early, full = fig.axes[0].lines[:2]
    assert list(early.get_ydata()) == [0.5, 1.0] and list(full.get_ydata()) == [0.3, 1.0]
    assert early.get_alpha() < 1 and full.get_alpha() in (None, 1)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[:2] == ["after 3,000 updates", "after 6,000 updates"]
    plt.close("all")


def test_the_multitask_figure_marks_what_commutativity_alone_answers():
    fig = plots.competition.plot_multitask({0.0: [(16, 1.0), (32, 1.0)], 1.0: [(16, 0.3), (32, 0.5)]}, 0.501)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[0] == "mirror trained (50%)" and list(fig.axes[0].lines[0].get_ydata()) == [0.501, 0.501]
    plt.close("all")
