"""The Power et al. chapter: its settings per profile, its parameter checks, its analysis functions, and its
Checks on a run with the phenomena and on runs without each of them."""
import dataclasses
import math

import pytest

from grokutils import book
from grokutils.book import DOES_NOT_HOLD, HOLDS, NOT_TESTED, UNDECIDED
from grokutils.chapters import power_division as chapter
from grokutils.sweep import check_batchable


def test_book_profile_is_the_measured_setting():
    s = chapter.settings("book")
    assert s.architecture == "pre_ln" and not s.main.task.with_eos and s.main.model.ln_position == "pre"
    assert (s.main.task.op, s.main.task.p, s.main.task.frac_train) == ("div", 97, 0.3)
    assert (s.main.model.n_layers, s.main.model.d_model, s.main.model.n_heads) == (2, 128, 4)
    t = s.main.train
    assert (t.optimizer, t.lr, t.weight_decay, t.betas, t.warmup_steps, t.batch_size, t.steps, t.n_logs, t.log_spacing) == (
        "adamw", 1e-3, 1.0, (0.9, 0.98), 10, 512, 6000, 150, "log")
    assert t.stop_at_val_acc is None and t.adam_eps == 1e-8 and t.loss == "cross_entropy"
    assert s.no_decay == s.main.replace(weight_decay=0.0, stop_at_val_acc=0.99)
    assert s.seeds == () and s.claims and s.spike_level == 0.5 and s.findings == chapter.BOOK_FINDINGS
    check_batchable([s.main, s.no_decay, *s.seeds])  # the sweep engine may train them as one batched model


def test_book_controls_are_the_first_2000_steps_of_the_main_run_three_ways():
    s = chapter.settings("book")
    base, f64, eps = (s.controls[name] for name in chapter.CONTROL_NAMES)
    assert base == s.main.replace(steps=2000, n_logs=101, log_spacing="linear")
    assert base.train.log_steps() == list(range(0, 2001, 20))
    assert f64 == base.replace(loss="cross_entropy_f64") and eps == base.replace(adam_eps=1e-5)
    check_batchable([base, f64])
    with pytest.raises(ValueError):
        check_batchable([base, eps])  # eps is not a per-run field: the engine trains it on its own


def test_book_sweep_covers_all_four_operations():
    s = chapter.settings("book")
    assert s.fractions == {"add": (0.8,), "sub": (0.8,), "mul": (0.8,), "div": (0.3, 0.8)} and s.mode == "workers"
    assert s.sweep["div"][0][1] is s.main  # the main run is the division sweep's point at its own fraction
    for op, runs in s.sweep.items():
        for frac, cfg in runs:
            assert (cfg.task.op, cfg.task.frac_train, cfg.train.steps) == (op, frac, 6000)
            if cfg is not s.main:
                assert (cfg.train.stop_at_val_acc, cfg.train.n_logs, cfg.train.log_spacing) == (0.99, 61, "linear")
    assert len(book.runset.configs_in(s.runs())) == 2 + 3 + 4  # main, no_decay; the controls; the sweep's own runs


def test_paper_profile_is_the_authors_model_and_budgets():
    s = chapter.settings("paper")
    assert s.architecture == "grok" and s.main.task.with_eos and s.main.model.ln_position == "post"
    t = s.main.train
    assert (t.optimizer, t.weight_decay, t.steps, s.main.task.frac_train) == ("adamw", 1.0, 1_000_000, 0.5)
    assert s.no_decay.train.weight_decay == 0.0 and s.no_decay.train.steps == 1_000_000
    assert [c.model.seed for c in s.seeds] == [1, 2]
    assert all(fracs == (0.3, 0.4, 0.5, 0.6, 0.7, 0.8) for fracs in s.fractions.values())
    assert all(cfg.train.steps == 100_000 for runs in s.sweep.values() for _, cfg in runs)
    assert s.controls["baseline"].train.steps == 20_000 and s.other_architecture.model.ln_position == "pre"
    assert s.mode is None  # the sweep engine measures the fastest way


def test_parameters_override_the_profile():
    s = chapter.settings("smoke", op="add", p=13, frac_train=0.6, steps=7, seed=3)
    assert (s.main.task.op, s.main.task.p, s.main.train.steps, s.main.model.seed) == ("add", 13, 7, 3)
    assert s.main.train.batch_size == min(512, s.main.task.n_train // 2) and not s.claims
    assert s.controls["baseline"].train.steps == 7 and all(c.train.steps == 7 for r in s.sweep.values() for _, c in r)
    assert chapter.settings("smoke", p=5, frac_train=0.1).main.train.batch_size == 1  # 2 training equations


@pytest.mark.parametrize("params,match", [
    (dict(op="pow"), r"op='pow' is not supported; allowed values: \('add', 'sub', 'mul', 'div', 'div_or_sub', "),
    (dict(p=96), "p=96 must be prime"), (dict(p=97.0), "p=97.0 must be an integer"),
    (dict(frac_train=1.2), r"frac_train=1.2 must be a finite number in \(0, 1\)"),
    (dict(frac_train=math.nan), "frac_train=nan"), (dict(frac_train=1e-5), "frac_train=1e-05 gives 0 of"),
    (dict(steps=1e2), r"steps=100.0 must be an integer in \[1, inf\] or None"), (dict(steps=0), "steps=0"),
    (dict(seed="abc"), "seed='abc' must be an integer"), (dict(device="tpu"), "device='tpu' is not supported"),
    (dict(profile="quick"), r"profile='quick' is not supported; allowed values: \('smoke', 'book', 'paper', None\)"),
])
def test_bad_parameters_fail_early_naming_the_parameter(params, match):
    with pytest.raises(ValueError, match=match):
        chapter.settings(**{"profile": "smoke", **params})


# --- analysis functions ---------------------------------------------------------------------------------------

SPIKY = [0.0, 0.5, 1.0, 1.0, 0.1, 0.05, 1.0, 1.0, 0.3, 1.0, 1.0]


def test_count_spikes_counts_each_collapse_after_the_fit_once(make_history):
    h = make_history(list(range(0, 110, 10)), train_acc=SPIKY)
    assert chapter.count_spikes(h, 0.5) == {"n_spikes": 2, "n_below": 3, "min_train_acc": 0.05, "fit_step": 20, "until": 100}
    assert chapter.count_spikes(h, 0.5, until=70)["n_spikes"] == 1  # the window ends before the second spike
    assert chapter.count_spikes(h, 0.08)["n_spikes"] == 1  # only the deeper one


def test_count_spikes_finds_none_in_a_smooth_run_or_one_that_never_fits(make_history):
    smooth = make_history(list(range(0, 110, 10)), train_acc=[0.0, 0.5] + [1.0] * 9)
    assert chapter.count_spikes(smooth)["n_spikes"] == 0 and chapter.count_spikes(smooth)["min_train_acc"] == 1.0
    never = make_history(list(range(0, 110, 10)), train_acc=[0.1] * 11)
    assert chapter.count_spikes(never) == {"n_spikes": 0, "n_below": 0, "min_train_acc": None, "fit_step": None, "until": 100}


@pytest.mark.parametrize("kwargs,match", [(dict(level=0), r"level=0 must be a finite number in \(0, 1\]"),
                                          (dict(fit=1.5), "fit=1.5"), (dict(until=-1), "until=-1")])
def test_count_spikes_rejects_bad_parameters(make_history, kwargs, match):
    with pytest.raises(ValueError, match=match):
        chapter.count_spikes(make_history([0, 1], train_acc=[0.0, 1.0]), **kwargs)


def test_median_and_range_counts_unreached_runs_as_slowest():
    assert chapter.median_and_range([300, 100, 200]) == {"median": 200, "min": 100, "max": 300, "n": 3, "n_reached": 3}
    assert chapter.median_and_range([100, None, 200])["median"] == 200
    assert chapter.median_and_range([100, None, None]) == {"median": None, "min": 100, "max": None, "n": 3, "n_reached": 1}
    assert chapter.fmt_median_range(chapter.median_and_range([3976])) == "3,976 (one seed)"
    assert chapter.fmt_median_range(chapter.median_and_range([300, 100, None])) == "300 (100 to not reached, 3 seeds, 1 not reached)"
    with pytest.raises(ValueError, match="values is empty"):
        chapter.median_and_range([])




def test_run_all_asks_for_every_run_once_and_sorts_them_back():
    s = chapter.settings("smoke")
    asked = []

    def fake_load_many(cfgs, **kwargs):
        asked.extend(cfgs)
        return [(cfg, kwargs) for cfg in cfgs]

    out = book.run_all(s, fake_load_many, device="cpu")
    assert len(asked) == len(set(asked)) == 2 + len(s.seeds) + 3 + sum(len(r) for r in s.sweep.values()) - 1  # main: once
    assert out["main"] == (s.main, {"mode": None, "device": "cpu"}) and out["no_decay"][0] == s.no_decay
    assert [h[0] for h in out["seeds"]] == list(s.seeds) and list(out["controls"]) == list(chapter.CONTROL_NAMES)
    assert {op: [h[0] for h in hs] for op, hs in out["sweep"].items()} == {op: [c for _, c in r] for op, r in s.sweep.items()}


def test_architecture_costs_times_both_models():
    costs = chapter.architecture_costs(chapter.settings("smoke", p=11, steps=4), steps=1)
    assert set(costs) == {"pre_ln", "grok"} and all(c > 0 for c in costs.values())
    with pytest.raises(ValueError, match="steps=0"):
        chapter.step_seconds(chapter.settings("smoke").main, steps=0)


# --- findings and Checks on synthetic runs --------------------------------------------------------------------

STEPS = [0, 10, 100, 1000, 4000, 6000]
CONTROL_STEPS = list(range(0, 130, 10))
THREE_SPIKES = [0.0, 0.5, 1.0, 0.1, 1.0, 0.2, 1.0, 1.0, 0.3, 1.0, 1.0, 1.0, 1.0]
SMOOTH = [0.0, 0.5] + [1.0] * 11


def grokking_main(make_history, config, **overrides):
    columns = dict(train_acc=[0.0, 0.5, 1.0, 1.0, 1.0, 1.0], val_acc=[0.0, 0.01, 0.02, 0.5, 1.0, 1.0],
                   train_loss=[4.6, 3.0, 0.01, 0.001, 0.001, 0.001], val_loss=[4.6, 5.0, 9.0, 3.0, 0.01, 0.01])
    return make_history(STEPS, config, **{**columns, **overrides})


def runs_with_the_phenomena(make_history, s, main=None, no_decay=None, controls=None, sweep=None):
    """Runs in which every finding holds: the main run groks, Adam without decay does not within the budget, the
    baseline spikes three times and both remedies leave none, more data is faster."""
    main = main or grokking_main(make_history, s.main)
    no_decay = no_decay or grokking_main(make_history, s.main, val_acc=[0.0, 0.01, 0.02, 0.05, 0.2, 0.3])
    controls = {"baseline": make_history(CONTROL_STEPS, train_acc=THREE_SPIKES),
                "float64 loss": make_history(CONTROL_STEPS, train_acc=SMOOTH),
                "Adam eps 1e-5": make_history(CONTROL_STEPS, train_acc=SMOOTH), **(controls or {})}
    faster = grokking_main(make_history, s.main, val_acc=[0.0, 0.01, 0.5, 1.0, 1.0, 1.0])
    sweep = {op: [main] + [faster] * (len(runs) - 1) for op, runs in s.sweep.items()} | (sweep or {})
    return dict(main=main, no_decay=no_decay, seeds=[main], controls=controls, sweep=sweep)


def verdicts(runs, s):
    return {v.finding.name: v.verdict for v in chapter.judged(chapter.measure(**runs), s)}


def test_every_finding_holds_on_runs_with_the_phenomena(make_history):
    s = chapter.settings("book")
    results = chapter.measure(**runs_with_the_phenomena(make_history, s))
    assert results["val_acc_at_fit"] == 0.02 and results["val_loss_decades"] == pytest.approx(math.log10(900))
    assert results["spikes"]["baseline"]["n_spikes"] == 3 and results["spikes"]["Adam eps 1e-5"]["n_spikes"] == 0
    assert set(verdicts(runs_with_the_phenomena(make_history, s), s).values()) == {HOLDS}
    paper = dataclasses.replace(s, findings=chapter.PAPER)
    assert all(c.passed for c in chapter.check(results, paper))


MAIN_WITHOUT = {
    "validation_waits": dict(val_acc=[0.0, 0.5, 1.0, 1.0, 1.0, 1.0]),
    "chance_at_fit": dict(val_acc=[0.0, 0.01, 0.3, 0.5, 1.0, 1.0]),
    "val_loss_rises": dict(val_loss=[4.6, 4.0, 3.0, 2.0, 0.01, 0.01]),
    "val_loss_collapses": dict(val_loss=[4.6, 5.0, 9.0, 3.0, 0.5, 0.5]),
}


@pytest.mark.parametrize("name", list(MAIN_WITHOUT))
def test_a_main_run_without_the_phenomenon_does_not_hold(make_history, name):
    s = chapter.settings("book")
    main = grokking_main(make_history, s.main, **MAIN_WITHOUT[name])
    assert verdicts(runs_with_the_phenomena(make_history, s, main=main), s)[name] == DOES_NOT_HOLD


def test_a_run_that_never_generalises_leaves_the_delay_and_the_collapse_untested(make_history):
    s = chapter.settings("book")
    main = grokking_main(make_history, s.main, val_acc=[0.0, 0.01, 0.02, 0.02, 0.02, 0.02])
    got = verdicts(runs_with_the_phenomena(make_history, s, main=main), s)
    assert got["validation_waits"] == got["val_loss_collapses"] == got["decay_speeds_grokking"] == NOT_TESTED
    assert got["chance_at_fit"] == HOLDS


def test_adam_without_decay_that_generalises_sooner_does_not_hold_and_as_soon_is_undecided(make_history):
    s = chapter.settings("book")
    sooner = grokking_main(make_history, s.main, val_acc=[0.0, 0.01, 0.5, 1.0, 1.0, 1.0])
    assert verdicts(runs_with_the_phenomena(make_history, s, no_decay=sooner), s)["decay_speeds_grokking"] == DOES_NOT_HOLD
    as_soon = runs_with_the_phenomena(make_history, s, no_decay=grokking_main(make_history, s.main))
    assert verdicts(as_soon, s)["decay_speeds_grokking"] == UNDECIDED


def test_a_budget_too_short_for_adam_without_decay_is_not_tested(make_history):
    s = chapter.settings("book")
    short = make_history(STEPS[:5], s.main, train_acc=[0.0, 0.5, 1.0, 1.0, 1.0], val_acc=[0.0] * 5)
    runs = runs_with_the_phenomena(make_history, s, no_decay=short)  # ends at 4,000, where the main run reached 99%
    assert verdicts(runs, s)["decay_speeds_grokking"] == NOT_TESTED


@pytest.mark.parametrize("baseline, f64, name, verdict", [
    (SMOOTH, SMOOTH, "spikes_after_fit", DOES_NOT_HOLD),
    (THREE_SPIKES, THREE_SPIKES, "float64_removes_spikes", DOES_NOT_HOLD),
    (SPIKY, SPIKY, "spikes_after_fit", UNDECIDED),  # two spikes: within the margin
    (SMOOTH, SMOOTH, "float64_removes_spikes", NOT_TESTED),  # nothing to remove
])
def test_the_spike_findings(make_history, baseline, f64, name, verdict):
    s = chapter.settings("book")
    controls = {"baseline": make_history(CONTROL_STEPS[:11], train_acc=baseline[:11]),
                "float64 loss": make_history(CONTROL_STEPS[:11], train_acc=f64[:11]),
                "Adam eps 1e-5": make_history(CONTROL_STEPS[:11], train_acc=SMOOTH[:11])}
    assert verdicts(runs_with_the_phenomena(make_history, s, controls=controls), s)[name] == verdict


def test_more_data_that_is_slower_does_not_hold_and_one_fraction_is_not_tested(make_history):
    s = chapter.settings("book")
    main = grokking_main(make_history, s.main)
    slower = grokking_main(make_history, s.main, val_acc=[0.0] * 5 + [1.0])
    assert verdicts(runs_with_the_phenomena(make_history, s, sweep={"div": [main, slower]}), s)[
        "more_data_sooner"] == DOES_NOT_HOLD
    one = {op: [main] for op in s.sweep}
    assert verdicts(runs_with_the_phenomena(make_history, s, sweep=one), s)["more_data_sooner"] == NOT_TESTED


def test_nothing_learns_tests_nothing_and_the_book_checks_fail(make_history):
    s = chapter.settings("book")
    flat = make_history(STEPS, s.main, train_acc=[0.01] * 6, val_acc=[0.01] * 6, train_loss=[4.6] * 6,
                        val_loss=[4.6] * 6)
    flat_controls = {name: make_history(CONTROL_STEPS, train_acc=[0.01] * 13) for name in chapter.CONTROL_NAMES}
    runs = dict(main=flat, no_decay=flat, seeds=[flat], controls=flat_controls,
                sweep={op: [flat] * len(r) for op, r in s.sweep.items()})
    assert set(verdicts(runs, s).values()) == {NOT_TESTED}
    with pytest.raises(AssertionError, match="failed checks"):
        chapter.check(chapter.measure(**runs), s)


def test_checks_assert_the_declared_verdicts(make_history):
    s = chapter.settings("book")
    with pytest.raises(AssertionError, match="computing the loss in float64 removes the spikes"):
        chapter.check(chapter.measure(**runs_with_the_phenomena(make_history, s)), s)  # book declares it does not hold
    nan = grokking_main(make_history, s.main, train_loss=[4.6, math.nan, 0.01, 0.001, 0.001, 0.001])
    paper = dataclasses.replace(s, findings=chapter.PAPER)
    with pytest.raises(AssertionError, match="every logged metric of every run is finite"):
        chapter.check(chapter.measure(**runs_with_the_phenomena(make_history, s, main=nan)), paper)


def test_smoke_asserts_only_the_mechanics(make_history, capsys):
    s = chapter.settings("smoke")
    runs = runs_with_the_phenomena(make_history, s, main=grokking_main(make_history, s.main, val_acc=[0.0] * 6))
    assert [c.claim for c in chapter.check(chapter.measure(**runs), s)] == [
        "every logged metric of every run is finite", "training accuracy rose above chance (2/p)"]
    assert "only the mechanics" in capsys.readouterr().out
    flat = runs_with_the_phenomena(make_history, s, main=grokking_main(make_history, s.main, train_acc=[0.0] * 6))
    with pytest.raises(AssertionError, match="rose above chance"):
        chapter.check(chapter.measure(**flat), s)


def test_glue_quotes_every_number_the_prose_uses(make_history):
    s = chapter.settings("book")
    r = chapter.measure(**runs_with_the_phenomena(make_history, s))
    out = chapter.glued(r, s) | chapter.glued_costs({"grok": 2.0, "pre_ln": 1.0})
    assert out["grok_cost_ratio"] == "2.0" and out["verdict_validation_waits"] == "holds"
    assert out["train_99_step"] == "100" and out["no_decay_val_99"] == book.NOT_REACHED


def test_a_turned_parameter_declares_nothing(make_history):
    """The book's declared verdicts are for the book's own runs: with another budget they are printed, not asserted."""
    assert chapter.settings("book").findings == chapter.BOOK_FINDINGS
    assert chapter.settings("book", steps=6000, p=97).findings == chapter.BOOK_FINDINGS  # the profile's own values
    s = chapter.settings("book", steps=3000)
    assert s.findings is None
    checks = chapter.check(chapter.measure(**runs_with_the_phenomena(make_history, s)), s)
    assert [c for c in checks if not c.asserted] and all(c.passed for c in checks if c.asserted)
