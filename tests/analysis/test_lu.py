"""The LU mechanism's numbers (grokutils.analysis.lu) and its figures (plots.plot_landscape, plots.plot_power_law)."""
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


def test_final_losses_and_critical_alpha(make_history):
    hs = [make_history([0, 10], train_loss=[1.0, tr], val_loss=[1.0, te])
          for tr, te in ((0.5, 0.3), (0.1, 0.2), (0.0, 0.9))]
    train, test = lu.final_losses(hs)
    assert train.tolist() == pytest.approx([0.5, 0.1, 0.0]) and test.tolist() == pytest.approx([0.3, 0.2, 0.9])
    assert lu.critical_alpha([0.1, 1.0, 10.0], test) == 1.0


def test_fit_power_law_recovers_exponent():
    x = [0.1, 0.2, 0.5, 1.0]
    slope, intercept = lu.fit_power_law(x, [300 * v**-1.0 for v in x])
    assert slope == pytest.approx(-1.0) and math.exp(intercept) == pytest.approx(300)
    with pytest.raises(ValueError, match="at least two"):
        lu.fit_power_law([1.0], [2.0])
    with pytest.raises(ValueError, match="equal length"):
        lu.fit_power_law([1.0, 2.0], [2.0])


def test_plot_landscape_with_a_trajectory(make_history):
    run = make_history([0, 10], train_loss=[0.1, 0.01], val_loss=[0.1, 0.05], weight_norm=[8.0, 2.0])
    fig = plots.plot_landscape([0.1, 1.0, 10.0], [0.1, 0.0, 0.0], [0.1, 0.02, 1.0], 1.0, trajectory=run, w0=1.0)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "α_c = 1.00" in [t.get_text() for t in ax.get_legend().get_texts()]
    plain = plots.plot_landscape([0.1, 1.0, 10.0], [0.1, 0.0, 0.0], [0.1, 0.02, 1.0], 1.0)
    assert len(plain.axes[0].lines) < len(ax.lines)
    plt.close("all")


def test_plot_power_law_draws_points_and_fit():
    fig = plots.plot_power_law([0.1, 1.0], [1000, 100], -1.0, math.log(100), "weight decay γ", "steps")
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and ax.get_xlabel() == "weight decay γ" and ax.get_ylabel() == "steps"
    xs, ys = ax.lines[1].get_data()
    assert float(ys[0]) == pytest.approx(100 * float(xs[0]) ** -1.0)
    plt.close("all")
