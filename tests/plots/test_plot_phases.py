"""grokutils.plots.phases: the phase map (with unclear cells hatched), the RQI curves, the representation at a few
steps and the effective theory's predicted accuracy."""
import matplotlib.pyplot as plt
import torch

from grokutils import plots


def test_phase_map_colours_each_cell_by_its_phase_and_hatches_the_unclear():
    labels = [["comprehension", "grokking"], ["memorisation", "confusion"]]
    fig = plots.phases.plot_phase_map([1e-4, 1e-2], [0.0, 5.0], labels, [[False, True], [False, False]])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["com", "grok", "mem", "conf"]
    assert len(ax.patches) == 1 and ax.patches[0].get_hatch() == "///"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "5"]
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names == ["comprehension", "grokking", "memorisation", "confusion", "not clear"]
    row = plots.phases.plot_phase_map([1e-3], [0.0, 1.0], [["memorisation", "grokking"]], title="row",
                                      xlabel="weight decay")
    assert row.axes[0].get_title() == "row" and not row.axes[0].patches
    assert row.axes[0].get_xlabel() == "weight decay" and ax.get_xlabel() == "decoder weight decay"
    plt.close("all")


def test_rqi_runs_draw_three_curves_per_run():
    run = {"steps": torch.tensor([0, 10, 20]), "train_acc": torch.tensor([0.0, 1.0, 1.0]),
           "val_acc": torch.tensor([0.0, 0.2, 0.9]), "rqi": torch.tensor([0.1, 0.5, 1.0])}
    fig = plots.phases.plot_rqi_runs({"grokking": run, "memorisation": run})
    assert [ax.get_title() for ax in fig.axes[:2]] == ["grokking", "memorisation"]
    assert all(len(ax.lines) == 3 for ax in fig.axes[:2])
    plt.close("all")


def test_representation_puts_each_symbol_at_its_value_on_one_row_per_step():
    reps = torch.stack([torch.linspace(-1, 1, 10), torch.linspace(-1, 1, 10).flip(0)])
    ax = plots.phases.plot_representation([0, 500], reps, "example").axes[0]
    assert len(ax.collections) == 2 and len(ax.texts) == 20
    assert [t.get_text() for t in ax.get_yticklabels()] == ["step 0", "step 500"]
    plt.close("all")


def test_predicted_accuracy_draws_curves_per_seed_and_one_point_per_run():
    sizes, ideal = [10, 45], [[0.2, 0.2], [1.0, 0.9]]
    predicted, measured = [[0.2, 0.25], [1.0, 0.8]], [[0.3, 0.25], [1.0, 0.9]]
    left, right = plots.phases.plot_predicted_accuracy(sizes, ideal, predicted, measured).axes[:2]
    assert len(left.lines) == 6  # ideal, predicted and measured for each of two seeds
    assert len(right.collections[0].get_offsets()) == 4
    plt.close("all")
