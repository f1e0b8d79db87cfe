"""The LU-mechanism chapter (grokutils.chapters.lu_mechanism): settings per profile, their errors, measure and check."""
import math

import pytest
import torch

from grokutils.chapters import lu_mechanism as chapter
from grokutils.chapters import omnigrok_mnist
from grokutils.sweep import check_batchable
from grokutils.tasks.mnist import MNIST_FILES


def test_book_settings_are_the_measured_ones():
    s = chapter.settings("book")
    assert (s.profile, s.device, s.seed, s.claims) == ("book", None, 0, True)
    assert len(s.alphas) == 16 and math.isclose(s.alphas[0], 0.1) and math.isclose(s.alphas[-1], 10.0)
    land = s.landscape[0].train
    assert (land.steps, land.batch_size, land.n_logs, land.weight_decay, land.fixed_norm) == (3000, 200, 8, 0.0, True)
    assert s.weight_decays == [0.1, 0.15, 0.2, 0.3, 0.5, 1.0] and s.general_acc == 0.8
    assert all((c.train.steps, c.train.n_logs, c.train.stop_at_val_acc) == (15_000, 120, 0.8) for c in s.wd_sweep)
    assert s.trajectory == omnigrok_mnist.settings("book").grokking  # the MNIST chapter's cached run
    std, con = s.modular
    assert (std.task.p, std.task.frac_train, std.train.weight_decay, std.train.fixed_norm) == (97, 0.5, 1.0, False)
    assert (con.model.init_scale, con.train.weight_decay, con.train.fixed_norm) == (0.8, 0.0, True)
    assert (std.train.batch_size, std.train.lr, std.train.betas, std.train.steps) == (None, 1e-3, (0.9, 0.98), 3000)
    assert (std.train.n_logs, std.train.checkpoint_every, std.train.stop_at_val_acc) == (429, None, 0.95)
    assert s.slope_range == (-1.5, -0.5) and s.max_delay_ratio == 0.2 and s.delay_acc == 0.95
    assert s.data_files == tuple(MNIST_FILES.values())


def test_paper_settings_are_omnigroks():
    s = chapter.settings("paper")
    t = s.landscape[0].train
    assert (t.steps, t.batch_size, t.weight_decay, t.fixed_norm, t.loss) == (10_000, 100, 0.0, True, "mse")
    assert s.weight_decays == [0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3] and s.wd_sweep[0].train.steps == 200_000
    std = s.modular[0]
    assert (std.task.p, std.task.frac_train, std.train.steps, std.model.d_model) == (113, 0.3, 40_000, 128)
    assert s.claims


@pytest.mark.parametrize("profile", ["smoke", "book", "paper"])
def test_every_sweep_is_batchable(profile):
    s = chapter.settings(profile)
    for runs in (s.landscape, s.wd_sweep, s.modular):
        check_batchable(list(runs))
    assert all(c.train.stop_at_val_acc == s.general_acc for c in s.wd_sweep)
    assert all(c.train.stop_at_val_acc == s.delay_acc for c in s.modular)


def test_smoke_settings_and_seed():
    s = chapter.settings("smoke", seed=3, device="cpu")
    assert not s.claims and (s.seed, s.device) == (3, "cpu")
    assert s.landscape[0].model.seed == 3 and s.wd_sweep[0].train.seed == 3 and s.trajectory.model.seed == 3
    assert s.modular[0].task.seed == 3 and s.modular[1].model.seed == 3
    lines = s.describe()
    assert lines[0].startswith("landscape: 12 values of α in [0.1, 10]") and "p = 23" in lines[-1]


@pytest.mark.parametrize("kwargs, match", [
    (dict(profile="quick"), "profile='quick'"),
    (dict(profile=3), "profile=3"),
    (dict(seed=1e2), r"seed=100\.0 must be an integer"),
    (dict(seed="abc"), "seed='abc' must be an integer"),
    (dict(seed=True), "seed=True"),
    (dict(seed=-1), r"seed=-1 must be an integer in \[0, "),
    (dict(seed=2**64), "seed=18446744073709551616"),
    (dict(seed=math.nan), "seed=nan"),
    (dict(device="tpu"), "device='tpu'"),
])
def test_settings_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chapter.settings(**{"profile": "smoke", **kwargs})


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available on this machine")
def test_cuda_without_cuda_is_an_error():
    with pytest.raises(ValueError, match="CUDA is not available here"):
        chapter.settings("smoke", device="cuda")


def test_alpha_grid():
    grid = chapter.alpha_grid(5, 0.1, 10.0)
    assert [round(a, 6) for a in grid] == [0.1, 0.316228, 1.0, 3.162278, 10.0]


def _runs(make_history, s, test_loss=None, constrained_general=150):
    """Synthetic runs for ``s``: an L, a U (α_c near 1.5), t = 1000/γ, delays 1,900 and ``constrained_general`` - 100."""
    landscape = [make_history([0, 100], train_loss=[0.1, 0.1 if a < 0.5 else 1e-4],
                              val_loss=[0.1, 0.02 + 0.05 * math.log(a / 1.5) ** 2 if test_loss is None else test_loss],
                              weight_norm=[a, a]) for a in s.alphas]
    trajectory = make_history([0, 1000, 100_000], train_loss=[0.5, 1e-3, 1e-4], val_loss=[0.6, 0.1, 0.03],
                              train_acc=[0.1, 1.0, 1.0], weight_norm=[80.0, 79.0, 30.0])
    wd_runs = [make_history([0, round(1000 / g)], val_acc=[0.1, s.general_acc]) for g in s.weight_decays]
    standard = make_history([0, 100, 2000], train_acc=[0.0, 0.96, 1.0], val_acc=[0.0, 0.1, 0.96],
                            weight_norm=[30.0, 28.0, 20.0])
    constrained = make_history([0, 100, constrained_general], train_acc=[0.0, 0.96, 1.0], val_acc=[0.0, 0.5, 0.96],
                               weight_norm=[24.0, 24.0, 24.0])
    return landscape, trajectory, wd_runs, (standard, constrained)


def test_measure_and_check_on_the_phenomenon(make_history, capsys):
    s = chapter.settings("book")
    r = chapter.measure(*_runs(make_history, s), s)
    assert 1.0 < r["alpha_c"] < 2.5 and r["test_loss_at_alpha_c"] < min(r["test_loss_low_end"], r["test_loss_high_end"])
    assert r["wd_slope"] == pytest.approx(-1.0, abs=0.01) and r["wd_steps"][-1] == 1000
    assert (r["delay_unconstrained"], r["delay_constrained"], r["traj_train_100_step"]) == (1900, 50, 1000)
    assert r["alpha_start"] == pytest.approx(80.0 / r["w0"]) and r["modular"]["constrained"]["norm_end"] == 24.0
    checks = chapter.check(r, s)
    assert all(c.passed for c in checks) and len(checks) == 4 + 1 + 6
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("without, failed, held", [
    (dict(test_loss=0.05), "the test loss is U-shaped", "constrained delay"),  # flat test loss: no U
    (dict(constrained_general=2000), "the constrained delay is under 0.2 x the standard one", "U-shaped"),
])
def test_check_fails_without_the_phenomenon(make_history, without, failed, held):
    s = chapter.settings("book")
    r = chapter.measure(*_runs(make_history, s, **without), s)
    with pytest.raises(AssertionError, match=failed) as err:
        chapter.check(r, s)
    assert held not in str(err.value)


def test_smoke_asserts_only_the_mechanics(make_history, capsys):
    s = chapter.settings("smoke")
    r = chapter.measure(*_runs(make_history, s, test_loss=0.05, constrained_general=2000), s)
    assert len(chapter.check(r, s)) == 4 + 1
    assert "asserts only the mechanics" in capsys.readouterr().out
    landscape, trajectory, wd_runs, modular = _runs(make_history, s)
    landscape[0].metrics["weight_norm"][-1] *= 1.01
    trajectory.metrics["val_loss"][1] = math.nan
    with pytest.raises(AssertionError, match="trajectory: every logged metric is finite") as err:
        chapter.check(chapter.measure(landscape, trajectory, wd_runs, modular, s), s)
    assert "every landscape run kept its weight norm" in str(err.value)
