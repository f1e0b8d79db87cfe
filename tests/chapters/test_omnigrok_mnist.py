"""The Omnigrok MNIST chapter's contract: settings per profile, their errors, measure and the Checks."""
import math
import re

import pytest
import torch

from grokutils.chapters import omnigrok_mnist as chapter
from grokutils.recipes import omnigrok_mnist_run
from grokutils.tasks import MNISTConfig
from grokutils.tasks.mnist import MNIST_FILES

STEPS = [0, 10, 100, 1000, 10_000, 100_000]


def test_book_profile_is_the_measured_setting():
    s = chapter.settings("book")
    cfg = s.grokking
    assert cfg.task == MNISTConfig(train_points=1000, test_points=10_000)
    assert cfg.model.widths == (784, 200, 200, 10) and cfg.model.init_scale == 8.0 and cfg.model.seed == 0
    t = cfg.train
    assert (t.steps, t.batch_size, t.lr, t.weight_decay, t.loss, t.n_logs) == (100_000, 200, 1e-3, 0.01, "mse", 150)
    assert (t.optimizer, t.betas, t.warmup_steps, t.log_spacing, t.seed) == ("adamw", (0.9, 0.999), 0, "log", 0)
    assert s.baseline == omnigrok_mnist_run(1.0, 5_000, 0) and s.baseline.train.n_logs == 150
    assert s.claims and (s.general_acc, s.min_delay_ratio, s.min_final_test_acc) == (0.8, 10.0, 0.85)
    assert (s.baseline_max_ratio, s.min_train_acc, s.max_test_acc_at_fit, s.max_norm_ratio) == (3.0, 1.0, 0.5, 0.9)
    assert s.data_files == tuple(MNIST_FILES.values()) and len(s.data_files) == 4


def test_lu_chapter_reuses_the_same_alpha_8_run():
    # lu_mechanism calls settings(profile, seed=seed).grokking: it must be the cached α = 8 run.
    assert chapter.settings("book", seed=0).grokking == omnigrok_mnist_run(8.0, 100_000, 0, 1000, 10_000, 200, 150)
    assert chapter.settings("book", alpha=8).grokking == chapter.settings("book").grokking  # alpha stored as float
    assert isinstance(chapter.settings("book", alpha=8).grokking.model.init_scale, float)


def test_paper_profile_trains_the_baseline_as_long():
    s = chapter.settings("paper")
    assert (s.grokking.train.steps, s.baseline.train.steps, s.grokking.train.n_logs) == (100_000, 100_000, 300)
    assert s.claims


def test_smoke_profile_and_overrides():
    s = chapter.settings("smoke")
    assert not s.claims and s.min_train_acc == 0.3
    assert (s.grokking.task.train_points, s.grokking.train.steps, s.grokking.train.batch_size) == (200, 300, 50)
    s = chapter.settings("smoke", alpha=4.0, steps=50, seed=3, device="cpu")
    assert (s.grokking.model.init_scale, s.grokking.model.seed, s.grokking.train.seed) == (4.0, 3, 3)
    assert (s.grokking.train.steps, s.baseline.train.steps, s.baseline.model.init_scale) == (50, 50, 1.0)
    assert (s.device, s.seed) == ("cpu", 3)
    lines = s.describe()
    assert "200 MNIST training images" in lines[0] and "α = 4" in lines[1] and "50 steps" in lines[3]


@pytest.mark.parametrize("kwargs, match", [
    (dict(profile="huge"), "profile='huge'"),
    (dict(alpha="8"), r"alpha='8' must be a finite number .*\(the paper's is 8.0\)"),
    (dict(alpha=True), "alpha=True"),
    (dict(alpha=0), r"alpha=0 must be a finite number in \(0, inf\)"),
    (dict(alpha=-1.0), "alpha=-1.0"),
    (dict(alpha=math.nan), "alpha=nan"),
    (dict(alpha=math.inf), "alpha=inf"),
    (dict(steps=1e2), r"steps=100.0 must be an integer in \[30, inf\] or None"),
    (dict(steps="100"), "steps='100'"),
    (dict(steps=True), "steps=True"),
    (dict(steps=0), "steps=0"),
    (dict(steps=10), "steps=10 must be .* at least 30"),  # derived: too few logged steps
    (dict(seed="abc"), "seed='abc' must be an integer"),
    (dict(seed=1.5), "seed=1.5"),
    (dict(device="tpu"), "device='tpu' is not supported; allowed values"),
])
def test_settings_reject_bad_values(kwargs, match):
    profile = kwargs.pop("profile", "smoke")
    with pytest.raises(ValueError, match=match):
        chapter.settings(profile, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_settings_reject_cuda_without_cuda():
    with pytest.raises(ValueError, match="CUDA is not available here"):
        chapter.settings("smoke", device="cuda")


@pytest.fixture
def grokking_pair(make_history):
    """``(α run, baseline)``: the α run fits at step 100 and generalises at 10,000 as its norm falls."""
    run = make_history(STEPS, train_acc=[0.1, 0.6, 1.0, 1.0, 1.0, 1.0], val_acc=[0.1, 0.2, 0.25, 0.4, 0.85, 0.9],
                       weight_norm=[180.0, 181.0, 170.0, 120.0, 60.0, 45.0])
    baseline = make_history(STEPS, train_acc=[0.1, 0.9, 1.0, 1.0, 1.0, 1.0], val_acc=[0.1, 0.85, 0.9, 0.91, 0.91, 0.91],
                            weight_norm=[22.0, 23.0, 25.0, 28.0, 30.0, 30.0])
    return run, baseline


def test_measure_gives_the_chapter_numbers(grokking_pair):
    r = chapter.measure(*grokking_pair)
    assert (r["train_100_step"], r["test_80_step"], r["test_acc_at_train_100"]) == (100, 10_000, 0.25)
    assert (r["final_test_acc"], r["final_train_acc"]) == (0.9, 1.0)
    assert (r["norm_start"], r["norm_peak"], r["norm_end"]) == (180.0, 181.0, 45.0)
    assert (r["base_train_100_step"], r["base_test_80_step"], r["base_final_test_acc"]) == (100, 10, 0.91)
    assert (r["base_norm_start"], r["base_norm_end"], r["finite"], r["base_finite"]) == (22.0, 30.0, True, True)
    assert (r["norm_at_train_100"], r["norm_at_test_80"], r["delay_ratio"], r["fit_ratio"]) == (170.0, 60.0, 100.0, 1.0)


def test_check_passes_on_a_grokking_pair(grokking_pair, capsys):
    results = chapter.check(chapter.measure(*grokking_pair), chapter.settings("book"))
    assert len(results) == 16 and all(c.passed for c in results)
    assert "all checks passed" in capsys.readouterr().out


def _with(history, make_history, **columns):
    """``history`` with some metric columns replaced."""
    return make_history(history.steps.tolist(), **{**{k: v.tolist() for k, v in history.metrics.items()}, **columns})


def test_check_fails_without_a_delay(grokking_pair, make_history):
    run, baseline = grokking_pair
    run = _with(run, make_history, val_acc=[0.1, 0.5, 0.85, 0.9, 0.9, 0.9])  # generalises as it fits
    with pytest.raises(AssertionError, match=re.escape("α run: test 80% at least 10x later than training 100%")):
        chapter.check(chapter.measure(run, baseline), chapter.settings("book"))


def test_check_fails_when_test_accuracy_is_high_at_fit(grokking_pair, make_history):
    run, baseline = grokking_pair
    run = _with(run, make_history, val_acc=[0.1, 0.5, 0.6, 0.7, 0.85, 0.9])  # 60% when it fits, 80% much later
    with pytest.raises(AssertionError, match=re.escape("α run: test accuracy at most 50% when training accuracy")):
        chapter.check(chapter.measure(run, baseline), chapter.settings("book"))


def test_check_fails_when_the_norm_does_not_fall_before_generalising(grokking_pair, make_history):
    run, baseline = grokking_pair
    run = _with(run, make_history, weight_norm=[180.0, 181.0, 170.0, 168.0, 165.0, 45.0])
    with pytest.raises(AssertionError, match=re.escape("α run: weight norm at test 80% at most 0.9 x its norm")):
        chapter.check(chapter.measure(run, baseline), chapter.settings("book"))


def test_check_fails_when_the_run_never_generalises(grokking_pair, make_history):
    run, baseline = grokking_pair
    run = _with(run, make_history, val_acc=[0.1, 0.2, 0.25, 0.3, 0.35, 0.4])
    with pytest.raises(AssertionError, match=re.escape("α run: test accuracy passed 80% (measured: None)")) as err:
        chapter.check(chapter.measure(run, baseline), chapter.settings("book"))
    assert "final test accuracy at least 85%" in str(err.value)


def test_check_fails_when_the_baseline_groks_too(grokking_pair, make_history):
    run, baseline = grokking_pair
    baseline = _with(baseline, make_history, val_acc=[0.1, 0.2, 0.3, 0.4, 0.9, 0.9])
    with pytest.raises(AssertionError, match=re.escape("baseline: test 80% within 3x its training 100% step")):
        chapter.check(chapter.measure(run, baseline), chapter.settings("book"))


def test_smoke_asserts_only_the_mechanics(grokking_pair, make_history, capsys):
    run, baseline = grokking_pair
    never = _with(run, make_history, train_acc=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], val_acc=[0.1] * 6)
    results = chapter.check(chapter.measure(never, baseline), chapter.settings("smoke"))
    assert len(results) == 6 and "only the mechanics" in capsys.readouterr().out
    broken = _with(run, make_history, train_loss=[1.0, math.nan, 1.0, 1.0, 1.0, 1.0])
    with pytest.raises(AssertionError, match="α run: every logged metric is finite"):
        chapter.check(chapter.measure(broken, baseline), chapter.settings("smoke"))
    flat = _with(run, make_history, train_acc=[0.1] * 6)
    with pytest.raises(AssertionError, match="α run: final training accuracy reached 30%"):
        chapter.check(chapter.measure(flat, baseline), chapter.settings("smoke"))


def test_fmt_spells_a_missing_value():
    assert (chapter.fmt(19.7), chapter.fmt(93.74, ".1f"), chapter.fmt(None)) == ("20", "93.7", "n/a")


def test_check_fails_when_nothing_fits_and_the_norm_only_grows(grokking_pair, make_history):
    run, baseline = grokking_pair
    run = _with(run, make_history, train_acc=[0.1, 0.6, 0.9, 0.95, 0.99, 0.99],
                weight_norm=[180.0, 181.0, 182.0, 183.0, 184.0, 185.0])
    baseline = _with(baseline, make_history, train_acc=[0.1] * 6, val_acc=[0.1] * 6)
    with pytest.raises(AssertionError) as err:
        chapter.check(chapter.measure(run, baseline), chapter.settings("book"))
    for claim in ("α run: training accuracy reached 100%", "α run: the weight norm ended below its peak",
                  "baseline: training accuracy reached 100%", "baseline: test accuracy passed 80%",
                  "baseline: training accuracy rose"):
        assert claim in str(err.value)
