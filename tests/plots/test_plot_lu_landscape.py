"""grokutils.plots.lu and grokutils.plots.landscape: the landscapes, the trajectory over them, the matrix norms."""
import matplotlib.pyplot as plt
import torch

from grokutils import plots


def test_trajectory_is_a_thick_line_with_arrows_and_distinct_start_rings(make_history):
    run = make_history([0, 10, 100, 1000], train_acc=[0.1, 0.9, 1.0, 1.0], val_acc=[0.1, 0.2, 0.6, 0.9],
                       weight_norm=[8.0, 7.0, 4.0, 2.0])
    fig = plots.lu.plot_landscape([0.1, 1.0, 10.0], [0.9, 0.0, 0.0], [0.9, 0.1, 0.6], 1.0, trajectory=run, w0=1.0)
    ax = fig.axes[0]
    train_path, train_start, _, val_path, val_start, _ = ax.lines[3:9]
    assert train_path.get_linewidth() >= 2 and train_path.get_linestyle() == "-"
    assert train_start.get_markersize() > val_start.get_markersize(), "one ring inside the other"
    assert len([t for t in ax.texts if t.arrow_patch is not None]) == 8, "four arrows on each path"
    plt.close(fig)


def test_landscapes_share_one_legend_and_name_alpha_c_beside_its_line():
    panels = {"N = 268": ([0.9, 0.0, 0.0], [0.9, 0.1, 0.6]), "N = 7,196": ([0.9, 0.1, 0.5], [0.9, 0.1, 0.55])}
    fig = plots.lu.plot_landscapes([0.1, 1.0, 10.0], panels, "error", {"N = 268": 1.0})
    assert [ax.get_legend() for ax in fig.axes] == [None, None] and len(fig.legends) == 1
    assert [t.get_text() for t in fig.axes[0].texts] == ["α_c = 1.00"] and not fig.axes[1].texts
    plt.close(fig)


def test_matrix_norms_keep_a_colour_per_matrix_and_a_line_style_per_layer(make_history):
    names = ["blocks.0.attn.W_V", "blocks.1.attn.W_V", "blocks.0.attn.W_O", "embed.W_E"]
    h = make_history([0, 10, 100], train_acc=[0.0, 1.0, 1.0], val_acc=[0.0, 0.1, 1.0],
                     **{f"matrix_norm/{n}": [3.0, 2.0, 1.0] for n in names})
    groups = {"attention matrices": names[:3], "embedding and unembedding": names[3:]}
    fig = plots.landscape.plot_matrix_norms(h, groups, {"fit": 10}, torch.tensor([3.0, 2.0, 1.0]))
    v0, v1, o0 = fig.axes[2].lines[:3]
    assert v0.get_color() == v1.get_color() != o0.get_color()
    assert (v0.get_linestyle(), v1.get_linestyle()) == ("-", "--") and v0.get_marker() == "o"
    plt.close(fig)
