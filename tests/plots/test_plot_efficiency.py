"""grokutils.plots.efficiency: data-efficiency curves."""
import matplotlib.pyplot as plt

from grokutils import plots


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
