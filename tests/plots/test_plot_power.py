"""grokutils.plots.power: the spike controls and the data efficiency per operation."""
import matplotlib.pyplot as plt

from grokutils import plots


def test_operations_at_the_same_fraction_and_step_stay_apart():
    fig = plots.power.plot_data_efficiency({op: ([0.8], [600]) for op in ("add", "sub", "mul", "div")})
    xs = [float(line.get_xdata()[0]) for line in fig.axes[0].lines]
    assert len(set(xs)) == 4 and max(xs) - min(xs) < 0.05, "dodged a little, apart"
    assert abs(sum(xs) / 4 - 0.8) < 1e-9, "centred on the true fraction"
    plt.close(fig)


def test_spike_controls_legend_sits_above_the_panels(make_history):
    h = make_history([0, 10, 20], train_acc=[0.0, 1.0, 0.2], val_acc=[0.0, 0.0, 0.0])
    fig = plots.power.plot_spike_controls({"baseline": h, "float64 loss": h}, level=0.5)
    assert [ax.get_legend() for ax in fig.axes] == [None, None] and len(fig.legends) == 1
    plt.close(fig)
