"""The LU mechanism's numbers (grokutils.analysis.lu) and its figures (plots.lu, plots.plot_power_law)."""
import math

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

from grokutils import plots
from grokutils.analysis import lu
from grokutils.models import MLPConfig

matplotlib.use("Agg")


def test_unit_norm_scales_with_alpha():
    cfg = MLPConfig(widths=(4, 3, 2), init_scale=8.0)
    w0 = lu.unit_norm(cfg)
    norm8 = torch.linalg.vector_norm(torch.cat([p.flatten() for p in cfg.build().parameters()])).item()
    assert math.isclose(norm8, 8 * w0, rel_tol=1e-5)


def test_best_over_training_keeps_the_best_of_each_run(make_history):
    hs = [make_history([0, 10, 20], train_acc=[0.1, 1.0, 0.9], val_acc=[0.1, 0.7, 0.6],
                       train_loss=[1.0, 0.01, 0.1], val_loss=[1.0, 0.2, 0.3]),
          make_history([0, 10, 20], train_acc=[0.1, 0.5, 0.6], val_acc=[0.1, 0.2, 0.3],
                       train_loss=[1.0, 0.5, 0.4], val_loss=[1.0, 0.9, 0.8])]
    best = lu.best_over_training(hs, loss_scale=10)
    assert best.train_err.tolist() == pytest.approx([0.0, 0.4]) and best.test_err.tolist() == pytest.approx([0.3, 0.7])
    assert best.train_loss.tolist() == pytest.approx([0.1, 4.0]) and best.test_loss.tolist() == pytest.approx([2.0, 8.0])
    with pytest.raises(ValueError, match="histories is empty"):
        lu.best_over_training([])


def test_critical_alpha_band_and_gap():
    alphas = [0.1, 0.3, 1.0, 3.0, 10.0]
    assert lu.critical_alpha(alphas, torch.tensor([0.5, 0.2, 0.1, 0.3, 0.6])) == 1.0
    assert lu.fitting_band(alphas, [0.9, 0.0, 0.0, 0.005, 0.2], tol=0.01) == (0.3, 3.0)
    assert lu.band_is_contiguous(alphas, [0.9, 0.0, 0.0, 0.005, 0.2], tol=0.01)
    assert not lu.band_is_contiguous(alphas, [0.9, 0.0, 0.5, 0.0, 0.2], tol=0.01)
    assert lu.fitting_band(alphas, [0.9] * 5) is None and not lu.band_is_contiguous(alphas, [0.9] * 5)
    assert lu.mean_gap(alphas, [0, 0, 0, 0.1, 0.2], [0.5, 0.2, 0.1, 0.4, 0.6], above=1.0) == pytest.approx(0.35)
    with pytest.raises(ValueError, match="above=20 leaves no α"):
        lu.mean_gap(alphas, [0] * 5, [0] * 5, above=20)


def test_interpolate_log():
    alphas, values = [0.1, 1.0, 10.0], [1.0, 0.0, 0.5]
    assert lu.interpolate_log(alphas, values, 1.0) == pytest.approx(0.0)
    assert lu.interpolate_log(alphas, values, math.sqrt(10)) == pytest.approx(0.25)
    assert lu.interpolate_log(alphas, values, 0.01) == 1.0 and lu.interpolate_log(alphas, values, 100.0) == 0.5


def test_t_quantile_matches_the_tables():
    for df, t in ((1, 12.706), (2, 4.303), (4, 2.776), (10, 2.228), (30, 2.042)):
        assert lu.t_quantile(df) == pytest.approx(t, abs=2e-3)
    assert lu.t_quantile(5, 0.95) == pytest.approx(2.015, abs=2e-3)
    with pytest.raises(ValueError, match="df=0"):
        lu.t_quantile(0)
    with pytest.raises(ValueError, match="p=0.3"):
        lu.t_quantile(3, 0.3)


def test_fit_power_law_recovers_exponent_and_interval():
    x = [0.1, 0.2, 0.5, 1.0]
    fit = lu.fit_power_law(x, [300 * v**-1.0 for v in x])
    assert fit.slope == pytest.approx(-1.0) and math.exp(fit.intercept) == pytest.approx(300)
    noisy = lu.fit_power_law(x, [300 * v**-1.0 * f for v, f in zip(x, (1.1, 0.9, 1.05, 0.95))])
    assert noisy.slope_low < noisy.slope < noisy.slope_high and noisy.excludes(-0.5) and not noisy.excludes(noisy.slope)
    sqrt_law = lu.fit_power_law(x, [300 * v**-0.5 * f for v, f in zip(x, (1.1, 0.9, 1.05, 0.95))])
    assert not sqrt_law.excludes(-0.5)
    two = lu.fit_power_law([1.0, 2.0], [2.0, 1.0])
    assert math.isnan(two.slope_low) and not two.excludes(0.0)
    with pytest.raises(ValueError, match="at least two"):
        lu.fit_power_law([1.0], [2.0])
    with pytest.raises(ValueError, match="equal length"):
        lu.fit_power_law([1.0, 2.0], [2.0])


def test_plot_landscape_with_a_trajectory(make_history):
    run = make_history([0, 10], train_acc=[0.1, 1.0], val_acc=[0.1, 0.9], weight_norm=[8.0, 2.0])
    fig = plots.lu.plot_landscape([0.1, 1.0, 10.0], [0.9, 0.0, 0.0], [0.9, 0.1, 0.6], 1.0, trajectory=run, w0=1.0)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    assert "α_c = 1.00" in [t.get_text() for t in ax.get_legend().get_texts()]
    xs, ys = ax.lines[-4].get_data()  # the test error's path: 1 - val_acc against norm / w0
    assert list(xs) == [8.0, 2.0] and list(ys) == pytest.approx([0.9, 0.1])
    plain = plots.lu.plot_landscape([0.1, 1.0, 10.0], [0.1, 0.0, 0.0], [0.1, 0.02, 1.0], 1.0, metric="loss")
    assert len(plain.axes[0].lines) < len(ax.lines) and plain.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="w0 is None"):
        plots.lu.plot_landscape([0.1, 1.0], [0, 0], [0, 0], None, trajectory=run)
    with pytest.raises(ValueError, match="metric='accuracy'"):
        plots.lu.plot_landscape([0.1, 1.0], [0, 0], [0, 0], None, metric="accuracy")
    plt.close("all")


def test_plot_landscapes_draws_one_panel_per_size():
    panels = {"N = 268": ([0.9, 0.0, 0.0], [0.9, 0.1, 0.6]), "N = 7,196": ([0.9, 0.1, 0.5], [0.9, 0.1, 0.55])}
    fig = plots.lu.plot_landscapes([0.1, 1.0, 10.0], panels, "error", {"N = 268": 1.0})
    assert len(fig.axes) == 2 and [ax.get_title() for ax in fig.axes] == list(panels)
    assert fig.axes[0].get_ylabel().startswith("error") and len(fig.axes[0].lines) == 3 and len(fig.axes[1].lines) == 2
    plt.close("all")


def test_plot_power_law_draws_points_and_fit():
    fig = plots.plot_power_law([0.1, 1.0], [1000, 100], lu.fit_power_law([0.1, 1.0], [1000, 100]), "weight decay γ",
                               "steps")
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and ax.get_xlabel() == "weight decay γ" and ax.get_ylabel() == "steps"
    xs, ys = ax.lines[1].get_data()
    assert float(ys[0]) == pytest.approx(100 * float(xs[0]) ** -1.0)
    plt.close("all")
