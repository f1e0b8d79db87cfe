"""grokutils.plots.band: the comprehension band's delay maps and steps per cell."""
import matplotlib.pyplot as plt
import torch

from grokutils import plots


def test_seed_bands_and_the_static_slider(make_history):
    plots.style()
    runs = [make_history([1, 10, 100], val_acc=[0.0, 0.1 * k, 1.0], train_loss=[1.0, 0.5, 0.1], val_loss=[1.0, 0.9, 0.2])
            for k in range(3)]
    fig = plots.plot_curves(runs)
    assert len(fig.axes[0].collections) == 2, "a shaded band per curve"
    assert "3 seeds" in fig.axes[0].get_legend().get_texts()[0].get_text()
    plt.close(fig)
    steps = [0, 100, 200, 300]
    html = plots.fourier.checkpoint_scrubber(steps, torch.rand(4, 12), [1, 3], {
        "steps": torch.arange(0, 301, 10), "train_loss": torch.rand(31) + 0.1, "test_loss": torch.rand(31) + 0.1}).data
    assert 'class="anim-slider"' in html and html.count("data:image/png;base64") == len(steps), "one frame per checkpoint"


def test_band_figures_mark_blank_cells_and_survive_an_empty_grid():
    from grokutils.analysis.band import Cell
    cells = [Cell(0, n, b, (10,), (None if b == 64 else 10 + n // b,)) for n in (500, 2000) for b in (1, 8, 64)]
    fig = plots.band.plot_delay_maps(cells, (100, 800))
    assert len(fig.axes) == 4, "two maps, two colour bars"
    crossed = [line for line in fig.axes[0].lines if line.get_color() == "#999999"]
    assert len(crossed) == 2, "one cross per blank cell"
    plt.close(fig)
    empty = [Cell(0, 500, 8, (None,), (None,))]
    for fig in (plots.band.plot_delay_maps(empty, (100, 800)), plots.band.plot_steps_per_cell(empty, (100, 800))):
        plt.close(fig)
