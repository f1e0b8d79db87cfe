import math

import matplotlib
import pytest
import torch

from grokutils import lu
from grokutils.models import MLPConfig
from grokutils.presets import lu_mechanism, omnigrok_mnist
from grokutils.sweep import check_batchable
from grokutils.train import History

matplotlib.use("Agg")


def fake_history(train_loss, val_loss, val_acc=None, norms=None) -> History:
    n = len(train_loss)
    t = lambda v: torch.tensor(v, dtype=torch.float64)
    cfg = omnigrok_mnist.settings("smoke").grokking
    return History(cfg, torch.arange(n) * 10, t(train_loss), t(val_loss), t([0.0] * n), t(val_acc or [0.0] * n),
                   t(norms or [1.0] * n), {}, {}, 0.0, "cpu")


def test_book_settings_are_the_measured_ones():
    s = lu_mechanism.settings("book")
    assert len(s.alphas) == 16 and math.isclose(s.alphas[0], 0.1) and math.isclose(s.alphas[-1], 10.0)
    assert s.weight_decays == [0.1, 0.15, 0.2, 0.3, 0.5, 1.0] and s.weight_decays[-1] / s.weight_decays[0] >= 10
    assert s.trajectory == omnigrok_mnist.settings("book").grokking  # the MNIST chapter's cached run
    std, con = s.modular
    assert (std.task.p, std.task.frac_train, std.train.weight_decay, std.train.fixed_norm) == (97, 0.5, 1.0, False)
    assert (con.model.init_scale, con.train.weight_decay, con.train.fixed_norm) == (0.8, 0.0, True)
    assert (std.train.batch_size, std.train.lr, std.train.betas) == (None, 1e-3, (0.9, 0.98))
    assert s.claims and s.slope_range == (-1.5, -0.5) and s.max_delay_ratio == 0.2


def test_paper_landscape_is_omnigroks():
    t = lu_mechanism.settings("paper").landscape[0].train
    assert (t.steps, t.batch_size, t.weight_decay, t.fixed_norm, t.loss) == (10_000, 100, 0.0, True, "mse")


@pytest.mark.parametrize("profile", ["smoke", "book", "paper"])
def test_every_sweep_is_batchable(profile):
    s = lu_mechanism.settings(profile)
    for runs in (s.landscape, s.wd_sweep, s.modular):
        check_batchable(list(runs))
    assert all(c.train.stop_at_val_acc == s.general_acc for c in s.wd_sweep)


def test_overrides_and_errors():
    s = lu_mechanism.settings("smoke", seed=3, general_acc=0.5)
    assert s.general_acc == 0.5 and s.landscape[0].model.seed == 3 and s.modular[0].task.seed == 3
    assert not s.claims
    with pytest.raises(TypeError, match="unknown settings key"):
        lu_mechanism.settings("smoke", alpha=3)
    with pytest.raises(ValueError, match="general_acc"):
        lu_mechanism.settings("smoke", general_acc=1.5)
    with pytest.raises(ValueError, match="profile='quick'"):
        lu_mechanism.settings("quick")


def test_alpha_grid():
    grid = lu_mechanism.alpha_grid(5, 0.1, 10.0)
    assert [round(a, 6) for a in grid] == [0.1, 0.316228, 1.0, 3.162278, 10.0]


def test_unit_norm_scales_with_alpha():
    cfg = MLPConfig(widths=(4, 3, 2), init_scale=8.0)
    w0 = lu.unit_norm(cfg)
    norm8 = torch.linalg.vector_norm(torch.cat([p.flatten() for p in cfg.build().parameters()])).item()
    assert math.isclose(norm8, 8 * w0, rel_tol=1e-5)


def test_final_losses_and_critical_alpha():
    hs = [fake_history([1.0, tr], [1.0, te]) for tr, te in ((0.5, 0.3), (0.1, 0.2), (0.0, 0.9))]
    train, test = lu.final_losses(hs)
    assert train.tolist() == pytest.approx([0.5, 0.1, 0.0]) and test.tolist() == pytest.approx([0.3, 0.2, 0.9])
    assert lu.critical_alpha([0.1, 1.0, 10.0], test) == 1.0


def test_fit_power_law_recovers_exponent():
    x = [0.1, 0.2, 0.5, 1.0]
    slope, intercept = lu.fit_power_law(x, [300 * v**-1.0 for v in x])
    assert slope == pytest.approx(-1.0) and math.exp(intercept) == pytest.approx(300)
    with pytest.raises(ValueError, match="at least two"):
        lu.fit_power_law([1.0], [2.0])


def test_steps_to_each():
    hs = [fake_history([0, 0, 0], [0, 0, 0], val_acc=[0.1, 0.9, 0.9]), fake_history([0, 0, 0], [0, 0, 0])]
    assert lu.steps_to_each(hs, "val_acc", 0.8) == [10, None]


def test_plots_return_figures():
    hs = fake_history([0.1, 0.01], [0.1, 0.05], norms=[8.0, 2.0])
    fig = lu.plot_landscape([0.1, 1.0, 10.0], [0.1, 0.0, 0.0], [0.1, 0.02, 1.0], 1.0, trajectory=hs, w0=1.0)
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"
    fig = lu.plot_power_law([0.1, 1.0], [1000, 100], -1.0, math.log(100), "weight decay γ", "steps")
    assert len(fig.axes[0].lines) == 2
