"""grokutils.plots.fourier: one colour per matrix across figures, readable logit components, legends off the curves."""
import matplotlib.pyplot as plt
import torch

from grokutils import plots
from grokutils.plots.fourier import W_E_COLOR, W_L_COLOR


def test_each_matrix_keeps_its_colour_across_the_spectra_and_the_gini_figure():
    gini = {"steps": torch.tensor([0, 10]), "W_E": torch.tensor([0.1, 0.5]), "W_L": torch.tensor([0.2, 0.7])}
    fig = plots.fourier.plot_gini(gini, {"end": 5})
    assert [line.get_color() for line in fig.axes[0].lines[:2]] == [W_E_COLOR, W_L_COLOR]
    power = torch.tensor([9.0, 1.0, 5.0, 0.5])
    fig = plots.fourier.plot_spectra_side_by_side({"W_L": (power, [2]), "W_E": (power, [2])}, [W_L_COLOR, W_E_COLOR])
    keyed = [ax.patches[1].get_facecolor() for ax in fig.axes]  # frequency 2, a key one
    assert keyed == [plt.matplotlib.colors.to_rgba(c) for c in (W_L_COLOR, W_E_COLOR)]
    fig = plots.fourier.plot_spectra_side_by_side({"run": (power, [2]), "authors'": (power, [1])})
    assert fig.axes[1].patches[0].get_facecolor() == plt.matplotlib.colors.to_rgba(W_L_COLOR), "W_L by default"
    plt.close("all")


def test_logit_components_tick_each_key_frequency_once_and_zoom_on_them():
    p = 11
    norms = torch.zeros(p, p)
    norms[5, 5] = norms[6, 6] = 10.0  # cos 3, sin 3
    norms[1, 1] = 1.0  # cos 1
    fig = plots.fourier.plot_logit_components(norms, [1, 3])
    full, zoom = fig.axes[:2]
    assert [t.get_text() for t in full.get_xticklabels()] == ["k = 1", "k = 3"]
    assert list(full.get_xticks()) == [1.5, 5.5], "between each frequency's cos and sin rows"
    assert [t.get_text() for t in zoom.get_yticklabels()] == ["const", "cos 1", "sin 1", "cos 3", "sin 3"]
    plt.close(fig)


def test_progress_and_per_frequency_legends_sit_beside_the_curves():
    steps = torch.arange(0, 50, 10)
    m = {name: torch.rand(5) + 0.1 for name in ("train_loss", "test_loss", "restricted_loss", "excluded_loss",
                                                   "mlp_restricted_loss", "restricted_acc", "excluded_acc", "test_acc")}
    m["steps"], m["excluded_loss_per_freq"] = steps, torch.rand(5, 2) + 0.1
    for fig in (plots.fourier.plot_progress_measures(m, steps, torch.rand(5), {"end": 20}),
                plots.fourier.plot_excluded_per_freq(m, [1, 3], {"end": 20})):
        fig.canvas.draw()
        for ax in fig.axes:
            if ax.get_legend() is not None:
                assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1
        plt.close(fig)
