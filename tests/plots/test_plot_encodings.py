"""grokutils.plots.encodings: the curve grid and the steps to a level."""
import matplotlib.pyplot as plt

from grokutils import plots


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


def test_curve_grid_of_single_run_rows_wraps_into_columns(make_history):
    h = make_history([0, 10, 100, 1000], train_acc=[0.0, 1.0, 1.0, 1.0], val_acc=[0.0, 0.0, 0.5, 1.0])
    rows = {name: {"45%": h} for name in ("MLP", "MLP, α = 8", "LSTM", "LSTM, α = 6", "GRU")}
    fig = plots.encodings.plot_curve_grid(rows, 0.99)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and [ax.get_title() for ax in visible] == [f"{name}, 45%" for name in rows]
    assert visible[0].get_position().y0 == visible[1].get_position().y0, "two panels side by side"
    assert visible[3].get_xlabel() == "step", "the panel above the empty slot carries the step axis"
    plt.close("all")
