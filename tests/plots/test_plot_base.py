"""grokutils.plots.base (and the package): the house style and the shared figures: each returns a Figure and changes
nothing at import."""
import importlib

import matplotlib
import matplotlib.pyplot as plt

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
    fig = plots.mark_steps(plots.plot_curves(h), {"a": 10})
    assert fig.axes[0].get_xscale() == "log" and fig.axes[1].get_yscale() == "log"
    assert len(fig.legends) == 1 and [t.get_text() for t in fig.legends[0].get_texts()] == ["train", "validation", "a"]
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


def test_the_static_slider_loads_nothing_from_the_network():
    html = plots.base.scrubber(plt.figure(), lambda i: None, 2).data
    assert "https://" not in html
