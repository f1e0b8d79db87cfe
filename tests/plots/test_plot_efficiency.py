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


def test_lone_points_at_the_same_place_nest_instead_of_hiding_each_other():
    fig = plots.efficiency.plot_data_efficiency({"Adam": [(0.9, 0.1)], "Adam + noise": [(0.9, 0.1)]})
    first, second = fig.axes[0].lines
    assert second.get_markersize() < first.get_markersize() and second.get_zorder() > first.get_zorder()
    plt.close("all")


def test_no_variant_is_drawn_in_the_reference_band_grey():
    from matplotlib.colors import to_rgb
    curves = {f"v{i}": [(0.6, 0.1 * i), (0.9, 0.1 * i)] for i in range(10)}
    fig = plots.efficiency.plot_data_efficiency(curves, reference=("mirror", [(0.6, 0.5), (0.9, 0.9)]))
    band, *lines = fig.axes[0].lines
    colours = [to_rgb(line.get_color()) for line in lines]
    assert all(max(c) - min(c) > 0.02 or c == (0.0, 0.0, 0.0) for c in colours), "no curve is grey"
    assert len(set(colours)) == len(lines), "ten variants, ten colours"
    plt.close("all")
