"""The Omnigrok MNIST chapter's contract: settings per profile, their errors, measure, the findings' verdicts, the
Checks and the glue."""
import dataclasses
import json
import math
import re
from pathlib import Path

import pytest
import torch

from grokutils import book
from grokutils.book import DOES_NOT_HOLD, HOLDS, NOT_TESTED, UNDECIDED
from grokutils.chapters import omnigrok_mnist as chapter
from grokutils.recipes import omnigrok_mnist_run
from grokutils.tasks import MNISTConfig
from grokutils.tasks.mnist import MNIST_FILES

STEPS = [0, 10, 100, 1000, 10_000, 100_000]
NOTEBOOK = Path(__file__).resolve().parents[2] / "book" / "omnigrok_mnist.ipynb"


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
    assert (s.baseline_max_ratio, s.min_train_acc, s.max_test_acc_at_fit) == (3.0, 1.0, 0.5)
    assert s.findings == chapter.BOOK_FINDINGS and list(s.findings) == [f.name for f in chapter.FINDINGS]
    assert s.data_files == tuple(MNIST_FILES.values()) and len(s.data_files) == 4


def test_lu_chapter_reuses_the_same_alpha_8_run():
    # lu_mechanism calls settings(profile, seed=seed).grokking: it must be the cached α = 8 run.
    assert chapter.settings("book", seed=0).grokking == omnigrok_mnist_run(8.0, 100_000, 0, 1000, 10_000, 200, 150)
    assert chapter.settings("book", alpha=8).grokking == chapter.settings("book").grokking  # alpha stored as float
    assert isinstance(chapter.settings("book", alpha=8).grokking.model.init_scale, float)


def test_paper_profile_trains_the_baseline_as_long():
    s = chapter.settings("paper")
    assert (s.grokking.train.steps, s.baseline.train.steps, s.grokking.train.n_logs) == (100_000, 100_000, 300)
    assert s.claims and s.findings == chapter.PAPER and set(chapter.PAPER.values()) == {HOLDS}


def test_smoke_profile_and_overrides():
    s = chapter.settings("smoke")
    assert not s.claims and s.min_train_acc == 0.3 and s.findings == chapter.PAPER
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
    """``(α run, baseline)``: the α run fits at step 100 with 25% test accuracy and generalises at 10,000 as its norm
    falls, ending at 90%; the baseline generalises at step 10, before it fits at 100."""
    run = make_history(STEPS, train_acc=[0.1, 0.6, 1.0, 1.0, 1.0, 1.0], val_acc=[0.1, 0.2, 0.25, 0.4, 0.85, 0.9],
                       weight_norm=[180.0, 181.0, 170.0, 120.0, 60.0, 45.0], train_loss=[1.0, 0.5, 0.1, 0.1, 0.1, 0.1])
    baseline = make_history(STEPS, train_acc=[0.1, 0.9, 1.0, 1.0, 1.0, 1.0], val_acc=[0.1, 0.85, 0.9, 0.91, 0.91, 0.91],
                            weight_norm=[22.0, 23.0, 25.0, 28.0, 30.0, 30.0], train_loss=[1.0, 0.5, 0.1, 0.1, 0.1, 0.1])
    return run, baseline


def claiming(findings=None):
    """The ``book`` settings declaring ``findings`` (default: the paper's, every finding holds)."""
    return dataclasses.replace(chapter.settings("book"), findings=findings or dict(chapter.PAPER))


def verdicts(run, baseline, s=None) -> dict:
    s = s or claiming()
    return {v.finding.name: v for v in chapter.judged(chapter.measure(run, baseline), s)}


def _with(history, make_history, **columns):
    """``history`` with some metric columns replaced."""
    return make_history(history.steps.tolist(), **{**{k: v.tolist() for k, v in history.metrics.items()}, **columns})


def test_measure_gives_the_chapter_numbers(grokking_pair):
    r = chapter.measure(*grokking_pair)
    assert (r["train_100_step"], r["test_80_step"], r["test_acc_at_train_100"]) == (100, 10_000, 0.25)
    assert (r["final_test_acc"], r["final_train_acc"]) == (0.9, 1.0)
    assert (r["last_step"], r["base_last_step"]) == (100_000, 100_000)
    assert (r["norm_start"], r["norm_peak"], r["norm_end"]) == (180.0, 181.0, 45.0)
    assert (r["base_train_100_step"], r["base_test_80_step"], r["base_final_test_acc"]) == (100, 10, 0.91)
    assert (r["base_norm_start"], r["base_norm_end"], r["finite"], r["base_finite"]) == (22.0, 30.0, True, True)
    assert (r["norm_at_train_100"], r["norm_at_test_80"], r["delay_ratio"], r["fit_ratio"]) == (170.0, 60.0, 100.0, 1.0)
    assert r["base_delay_ratio"] == 0.1 and r["loss_fell"] and r["base_loss_fell"]


def test_run_all_asks_for_both_runs_once():
    s, asked = chapter.settings("smoke"), []
    got = book.run_all(s, lambda cfgs, **kw: asked.append((list(cfgs), kw)) or [f"h{i}" for i in range(len(cfgs))])
    assert asked == [([s.grokking, s.baseline], {"device": None, "mode": None})]
    assert got == {"grokking": "h0", "baseline": "h1"} and s.runs() == {"grokking": s.grokking, "baseline": s.baseline}


def test_every_finding_holds_on_a_grokking_pair(grokking_pair, capsys):
    assert {name: v.verdict for name, v in verdicts(*grokking_pair).items()} == chapter.PAPER
    results = chapter.check(chapter.measure(*grokking_pair), claiming())
    assert len(results) == 8 + len(chapter.FINDINGS) and all(c.passed for c in results)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("change, finding, verdict", [
    # test accuracy 60% when the network fits, 80% much later
    (dict(val_acc=[0.1, 0.5, 0.6, 0.7, 0.85, 0.9]), "low_at_fit", DOES_NOT_HOLD),
    # generalises as it fits
    (dict(val_acc=[0.1, 0.5, 0.85, 0.9, 0.9, 0.9]), "generalises_late", DOES_NOT_HOLD),
    # generalises 12x after it fits: inside the margin of the 10x threshold
    (dict(steps=[0, 10, 100, 1000, 1200, 100_000]), "generalises_late", UNDECIDED),
    # the norm rises by a quarter between fitting and generalising
    (dict(weight_norm=[180.0, 181.0, 170.0, 190.0, 212.5, 45.0]), "norm_falls_first", DOES_NOT_HOLD),
    # the norm is the same when it fits and when it generalises
    (dict(weight_norm=[180.0, 181.0, 170.0, 168.0, 170.0, 45.0]), "norm_falls_first", UNDECIDED),
    # passes 80% and falls back to it: final test accuracy 80%
    (dict(val_acc=[0.1, 0.2, 0.25, 0.4, 0.85, 0.8]), "generalises_in_the_end", DOES_NOT_HOLD),
    # never generalises: the finding on the final accuracy fails, the delay holds (it waited out its budget)
    (dict(val_acc=[0.1, 0.2, 0.25, 0.3, 0.35, 0.4]), "generalises_in_the_end", DOES_NOT_HOLD),
    (dict(val_acc=[0.1, 0.2, 0.25, 0.3, 0.35, 0.4]), "norm_falls_first", NOT_TESTED),
])
def test_alpha_run_without_the_finding(grokking_pair, make_history, change, finding, verdict):
    run, baseline = grokking_pair
    steps = change.pop("steps", STEPS)
    run = make_history(steps, **{**{k: v.tolist() for k, v in run.metrics.items()}, **change})
    got = verdicts(run, baseline)[finding]
    assert got.verdict == verdict
    with pytest.raises(AssertionError, match=re.escape(got.finding.claim)):
        chapter.check(chapter.measure(run, baseline), claiming())


def test_a_run_that_never_generalises_within_a_short_budget_cannot_show_a_delay(grokking_pair, make_history):
    run, baseline = grokking_pair  # a budget of 5x the fit step, test accuracy never at 80%
    run = make_history([0, 10, 100, 200, 300, 500], train_acc=[0.1, 0.6, 1.0, 1.0, 1.0, 1.0],
                       val_acc=[0.1, 0.2, 0.25, 0.3, 0.35, 0.4], weight_norm=[180.0] * 6,
                       train_loss=[1.0, 0.5, 0.1, 0.1, 0.1, 0.1])
    got = verdicts(run, baseline)["generalises_late"]
    assert got.verdict == NOT_TESTED and "had not passed 80% when its budget ended" in got.reason


@pytest.mark.parametrize("steps, val_acc, verdict", [
    (STEPS, [0.1, 0.2, 0.3, 0.4, 0.9, 0.9], DOES_NOT_HOLD),                 # the baseline groks too: 100x its fit step
    (STEPS, [0.1, 0.2, 0.3, 0.4, 0.5, 0.5], DOES_NOT_HOLD),                 # never generalises in 1,000x its fit step
    ([0, 10, 100, 330, 10_000, 100_000], [0.1, 0.2, 0.3, 0.85, 0.9, 0.9], UNDECIDED),  # 3.3x: inside the margin of 3x
    ([0, 10, 100, 150, 200, 250], [0.1, 0.2, 0.3, 0.4, 0.5, 0.5], NOT_TESTED),  # a budget of 2.5x its fit step
])
def test_baseline_without_the_finding(grokking_pair, make_history, steps, val_acc, verdict):
    run, _ = grokking_pair
    baseline = make_history(steps, train_acc=[0.1, 0.9, 1.0, 1.0, 1.0, 1.0], val_acc=val_acc, weight_norm=[22.0] * 6,
                            train_loss=[1.0, 0.5, 0.1, 0.1, 0.1, 0.1])
    got = verdicts(run, baseline)["standard_init_no_delay"]
    assert got.verdict == verdict
    with pytest.raises(AssertionError, match=re.escape(got.finding.claim)):
        chapter.check(chapter.measure(run, baseline), claiming())


def test_nothing_learns_nothing_is_tested_and_the_checks_fail(grokking_pair, make_history):
    run, baseline = grokking_pair
    flat = dict(train_acc=[0.1] * 6, val_acc=[0.1] * 6, weight_norm=[180.0] * 6)
    run, baseline = _with(run, make_history, **flat), _with(baseline, make_history, **flat)
    got = verdicts(run, baseline)
    assert {v.verdict for v in got.values()} == {NOT_TESTED}
    assert "did not fit its training set" in got["generalises_late"].text
    for findings in (chapter.PAPER, chapter.BOOK_FINDINGS):
        with pytest.raises(AssertionError) as err:
            chapter.check(chapter.measure(run, baseline), claiming(findings))
        for claim in ("α run: final training accuracy reached 100%", "baseline: training accuracy rose",
                      chapter.FINDINGS[0].claim):
            assert claim in str(err.value)


def test_book_asserts_every_declared_verdict(grokking_pair, make_history, capsys):
    s = chapter.settings("book")
    chapter.check(chapter.measure(*grokking_pair), s)
    out = capsys.readouterr().out
    assert "NOT ASSERTED" not in out and "all checks passed" in out
    run, baseline = grokking_pair
    low = _with(run, make_history, val_acc=[0.1, 0.5, 0.6, 0.7, 0.85, 0.9])
    with pytest.raises(AssertionError, match=re.escape("(declared: holds)")):
        chapter.check(chapter.measure(low, baseline), s)


def test_smoke_asserts_only_the_mechanics(grokking_pair, make_history, capsys):
    run, baseline = grokking_pair
    never = _with(run, make_history, train_acc=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], val_acc=[0.1] * 6)
    results = chapter.check(chapter.measure(never, baseline), chapter.settings("smoke"))
    assert len(results) == 8 and "only the mechanics" in capsys.readouterr().out
    broken = _with(run, make_history, train_loss=[1.0, math.nan, 1.0, 1.0, 1.0, 1.0])
    with pytest.raises(AssertionError, match="α run: every logged metric is finite"):
        chapter.check(chapter.measure(broken, baseline), chapter.settings("smoke"))
    flat = _with(run, make_history, train_acc=[0.1] * 6)
    with pytest.raises(AssertionError, match="α run: final training accuracy reached 30%"):
        chapter.check(chapter.measure(flat, baseline), chapter.settings("smoke"))
    rising = _with(baseline, make_history, train_loss=[1.0, 1.0, 1.0, 1.0, 1.0, 1.5])
    with pytest.raises(AssertionError, match="baseline: training loss ended below where it started"):
        chapter.check(chapter.measure(run, rising), chapter.settings("smoke"))


def test_glued_covers_every_name_the_notebook_quotes(grokking_pair):
    glued = chapter.glued(chapter.measure(*grokking_pair), claiming())
    assert all(isinstance(v, str) for v in glued.values())
    text = "".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"])
    quoted = set(re.findall(r"\{glue:(?:text|md)\}`([\w]+)", text))
    assert quoted - set(glued) <= {"profile", "wall_seconds"}  # glued by book.finish
    assert {f"verdict_{f.name}" for f in chapter.FINDINGS} <= quoted
    assert (glued["train_100_step"], glued["test_80_step"]) == ("100", "10,000")
    assert glued["test_acc_at_train_100"] == "25.0%"
    assert (glued["delay_ratio"], glued["norm_start"], glued["final_test_acc"], glued["fit_ratio"]) == \
        ("100.0", "180.0", "90.0%", "1")
    assert glued["verdict_generalises_late"] == "holds" and glued["min_delay_ratio"] == "10"


def test_glued_spells_steps_never_reached(grokking_pair, make_history):
    run, baseline = grokking_pair
    never = _with(run, make_history, val_acc=[0.1] * 6)
    glued = chapter.glued(chapter.measure(never, baseline), claiming())
    assert (glued["test_80_step"], glued["delay_ratio"], glued["norm_at_test_80"]) == ("not reached", "n/a", "n/a")
    assert glued["verdict_norm_falls_first"].startswith("is not tested at this profile (the α run's test accuracy")


def test_a_turned_parameter_declares_nothing():
    assert chapter.settings("book").findings == chapter.BOOK_FINDINGS
    assert chapter.settings("book", alpha=4.0).findings is None and chapter.settings("book", steps=50_000).findings is None
