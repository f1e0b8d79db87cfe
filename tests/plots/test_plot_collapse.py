"""grokutils.plots.collapse: losses against the margin, runs at each precision, the ⊥Grad runs, the meter on stored
runs, and the figures that say a profile has no such runs."""
import matplotlib.pyplot as plt
import torch

from grokutils import plots
from grokutils.analysis.collapse import margin_losses


def test_margin_losses_draw_exact_zeros_on_the_floor_and_mark_each_collapse_margin():
    margins = torch.linspace(0, 50, 51, dtype=torch.float64)
    fig = plots.collapse.plot_margin_losses(margins, margin_losses(margins, 11), {"f16": 10.0, "f32": 18.0, "f64": 38.0}, 11)
    ax = fig.axes[0]
    curves = [line for line in ax.lines if len(line.get_xdata()) == 51]
    assert len(curves) == 3 and ax.get_yscale() == "log"
    assert min(curves[0].get_ydata()) == plots.collapse.ZERO_FLOOR  # float16 reaches exactly 0 within 50
    assert "other 10" in ax.get_xlabel()
    plt.close("all")


def test_precision_runs_and_methods_draw_every_run(make_history):
    h = make_history([0, 10, 20], train_loss=[1.0, 0.0, 0.5], val_acc=[0.0, 0.5, 0.9], **{"collapse/f32": [0, 0.2, 0.4]})
    fig = plots.collapse.plot_precision_runs({"float32": h, "StableMax": h}, {"float32": "collapse/f32"})
    loss_ax, collapse_ax, val_ax = fig.axes[:3]
    assert len(loss_ax.lines) == 2 and len(collapse_ax.lines) == 1 and len(val_ax.lines) == 2
    assert min(loss_ax.lines[0].get_ydata()) == plots.collapse.ZERO_FLOOR
    fig = plots.collapse.plot_methods({"⊥AdamW": [h, h], "AdamW": [h]})
    assert [ax.get_title() for ax in fig.axes[:2]] == ["⊥AdamW", "AdamW"] and len(fig.axes[1].lines) == 2
    plt.close("all")


def test_stored_meter_draws_the_first_run_as_lines_and_the_others_as_markers():
    meter = {"steps": torch.tensor([0, 100, 200]), **{f"collapse/{p}": torch.tensor([0.0, 0.1, 0.2]) for p in ("f16", "f32", "f64")}}
    last = {"steps": torch.tensor([150]), **{f"collapse/{p}": torch.tensor([0.3]) for p in ("f16", "f32", "f64")}}
    ax = plots.collapse.plot_stored_collapse({"run": meter, "control": last}).axes[0]
    drawn = [line for line in ax.lines if len(line.get_xdata())]
    assert [len(line.get_xdata()) for line in drawn] == [3, 3, 3, 1, 1, 1]
    assert all(line.get_linestyle() == "None" for line in drawn[3:])
    plt.close("all")


def test_missing_runs_give_a_figure_that_says_so():
    for fig in (plots.collapse.plot_stored_collapse(None), plots.collapse.plot_precision_runs({}, {})):
        assert fig.axes[0].texts and not fig.axes[0].axison
    plt.close("all")
