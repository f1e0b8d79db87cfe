"""grokutils.plots.speed: the tuning grids, the comparison over seeds, one run of each method."""
import math

import matplotlib.pyplot as plt

from grokutils import plots


def test_tuning_draws_one_panel_per_method_and_filter_and_frames_the_best():
    grids = {"AdamW": {(1e-3, 0.1, None, None): 900.0, (1e-3, 1.0, None, None): math.inf,
                       (3e-3, 0.1, None, None): 500.0, (3e-3, 1.0, None, None): 700.0},
             "Grokfast": {(1e-3, 0.1, a, 2.0): math.inf for a in (0.9, 0.98)}}
    best = {"AdamW": (3e-3, 0.1, None, None), "Grokfast": (1e-3, 0.1, 0.9, 2.0)}
    fig = plots.speed.plot_tuning(grids, best, budget=2000)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 3 and panels[1].get_title().endswith("alpha 0.9, lamb 2")
    texts = [t.get_text() for t in panels[0].texts]
    assert sorted(texts) == sorted(["900", "> 2,000", "500", "700"])
    assert any(p.get_edgecolor()[:3] != (0.6, 0.6, 0.6) and not p.get_fill() for p in panels[0].patches)
    plt.close("all")


def test_comparison_draws_unreached_runs_open_at_the_budget():
    steps = {"AdamW": [100, 200, 300], "Adam, no decay": [None, None, 500]}
    seconds = {"AdamW": [1.0, 2.0, 3.0], "Adam, no decay": [20.0, 20.0, 5.0]}
    fig = plots.speed.plot_comparison(steps, seconds, budget=2000)
    left = fig.axes[0]
    open_marks = [line for line in left.lines if line.get_marker() == "^"]
    assert len(open_marks) == 2 and all(line.get_ydata()[0] == 2000 for line in open_marks)
    assert left.get_yscale() == "log" and fig.axes[1].get_ylabel() == "seconds to 95% validation"
    plt.close("all")


def test_examples_draw_two_curves_a_run(make_history):
    h = make_history([0, 10, 100], train_acc=[0, 1, 1], val_acc=[0, 0, 1])
    fig = plots.speed.plot_examples({"AdamW": h, "Muon": h})
    assert len(fig.axes[0].lines) == 4
    plt.close("all")
