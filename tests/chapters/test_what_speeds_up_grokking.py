"""The optimiser chapter's contract: settings per profile and their errors, the two stages of runs, measure, the
findings' verdicts on fixtures with and without a speed-up and where nothing learns, the Checks and the glue."""
import dataclasses

import pytest

from grokutils.book import DOES_NOT_HOLD, HOLDS, NOT_TESTED
from grokutils.chapters import what_speeds_up_grokking as chapter

BUDGET = 3000


def test_book_profile_tunes_every_method_on_one_grid_and_compares_on_fresh_seeds():
    s = chapter.settings("book")
    assert s.claims and s.findings == chapter.BOOK_FINDINGS and list(s.findings) == [f.name for f in chapter.FINDINGS]
    grids = {method: sorted((c[0], c[1]) for c in cells) for method, cells in s.tuning.items()}
    assert grids["AdamW"] == grids["Grokfast"] == grids["Muon"] == [(1e-3, 0.1), (1e-3, 1.0), (3e-3, 0.1), (3e-3, 1.0)]
    runs = [r for cells in s.tuning.values() for rs in cells.values() for r in rs]
    assert {r.train.seed for r in runs} == {0, 1} and s.compare_seeds == (2, 3, 4, 5, 6)
    assert all(r.train.stop_at_val_acc == 0.95 and r.train.steps == 2000 and r.task.p == 31 for r in runs)
    assert all(b.train.steps == BUDGET for b in s.baseline) and (s.budget, s.tune_budget) == (BUDGET, 2000)
    grokfast = next(iter(s.tuning["Grokfast"].values()))[0].train
    assert grokfast.grad_transforms == ("grokfast_ema",) and (grokfast.grokfast_alpha, grokfast.grokfast_lamb) == (0.98, 2.0)
    assert next(iter(s.tuning["Muon"].values()))[0].train.optimizer == "muon"
    assert [b.train.seed for b in s.baseline] == list(s.compare_seeds)
    assert all((b.train.optimizer, b.train.lr, b.train.weight_decay) == ("adam", 1e-3, 0.0) for b in s.baseline)
    assert len(s.runs()["baseline"]) == 5 and s.mode == "workers"


def test_the_comparison_runs_each_method_at_its_best_setting_on_the_comparison_seeds():
    s = chapter.settings("book", seed=3)
    best = {"AdamW": (3e-3, 1.0, None, None), "Grokfast": (1e-3, 0.1, 0.98, 2.0), "Muon": (3e-3, 0.1, None, None)}
    comp = chapter.comparison(s, best)
    assert [r.train.seed for r in comp.runs()["Muon"]] == [5, 6, 7, 8, 9]
    assert all((r.train.lr, r.train.weight_decay) == (1e-3, 0.1) for r in comp.runs()["Grokfast"])
    assert (comp.runs()["AdamW"][0].train.lr, comp.runs()["AdamW"][0].train.weight_decay) == (3e-3, 1.0)


def test_paper_profile_is_the_papers_task_with_a_wider_grid():
    s = chapter.settings("paper")
    first = s.baseline[0]
    assert (first.task.op, first.task.p, first.task.frac_train, first.train.steps) == ("mul", 97, 0.5, 100_000)
    assert len(s.tuning["AdamW"]) == 16 and len(s.tuning["Grokfast"]) == 16 * 9 and s.findings == chapter.SOURCES


def test_a_turned_budget_declares_nothing_and_caps_the_tuning():
    s = chapter.settings("book", steps=500)
    assert s.findings is None and s.tune_budget == 500
    assert chapter.settings("book", steps=BUDGET).findings == chapter.BOOK_FINDINGS


@pytest.mark.parametrize("kwargs, match", [
    (dict(profile="huge"), "profile='huge'"),
    (dict(steps=5), r"steps=5 must be an integer in \[10, inf\]"),
    (dict(steps=1e3), "steps=1000.0"),
    (dict(seed=-1), "seed=-1"),
    (dict(seed=2**31 - 3), "seed=2147483645"),  # its comparison seeds would leave the one seed domain
    (dict(device="tpu"), "device='tpu'"),
])
def test_settings_reject_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chapter.settings(**{"profile": "book", **kwargs})


def _run(make_history, val_step, fit_step=20):
    """A run that fits at ``fit_step`` and reaches 95% validation at ``val_step`` (None: never, ending at the budget)."""
    end = BUDGET if val_step is None else val_step
    steps = sorted({0, fit_step, end})
    return make_history(steps, train_acc=[0.0 if t < fit_step else 1.0 for t in steps],
                        val_acc=[1.0 if val_step is not None and t >= val_step else 0.0 for t in steps],
                        train_loss=[1.0] + [0.1] * (len(steps) - 1))


def _stages(make_history, s, steps: dict, fit_step=20):
    """The two stages' Histories: each tuning run takes the first of ``steps[method]``, the comparison runs (and the
    baseline's) take ``steps[name]``."""
    first = {"tuning": {m: {cell: [_run(make_history, steps[m][0], fit_step) for _ in runs] for cell, runs in cells.items()}
                        for m, cells in s.tuning.items()},
             "baseline": [_run(make_history, v, fit_step) for v in steps[chapter.BASELINE]]}
    return first, {m: [_run(make_history, v, fit_step) for v in steps[m]] for m in chapter.METHODS}


def _fixture(make_history, s, steps: dict, fit_step=20):
    """``measure`` on ``_stages``, every method's step costing the same."""
    costs = [{name: 0.01 for name in (*chapter.METHODS, chapter.BASELINE)} for _ in range(3)]
    return chapter.measure(*_stages(make_history, s, steps, fit_step), costs, s)


FAST = {"AdamW": [1000, 1100, 900, 1000, 1200], "Grokfast": [300, 320, 280, 310, 330],
        "Muon": [300, 310, 290, 320, 280], chapter.BASELINE: [None] * 5}
SAME = {"AdamW": [1000, 1100, 900, 1000, 1200], "Grokfast": [1000, 1100, 900, 1000, 1200],
        "Muon": [1000, 1100, 900, 1000, 1200], chapter.BASELINE: [1000, 1100, 900, 1000, 1200]}
NEVER = {name: [None] * 5 for name in (*chapter.METHODS, chapter.BASELINE)}


def _verdicts(r, s):
    return {v.finding.name: v.verdict for v in chapter.judged(r, s)}


def test_every_finding_holds_where_each_method_is_several_times_faster(make_history):
    s = chapter.settings("book")
    r = _fixture(make_history, s, FAST)
    assert _verdicts(r, s) == dict.fromkeys(chapter.COMPARISONS, HOLDS)
    assert r["speed"]["grokfast_vs_paper_baseline"].at_least and r["delay_ratio"] == 50
    chapter.check(r, dataclasses.replace(s, findings=dict.fromkeys(chapter.COMPARISONS, HOLDS)))


def test_no_finding_holds_where_every_method_takes_as_long(make_history):
    s = chapter.settings("book")
    r = _fixture(make_history, s, SAME)
    assert _verdicts(r, s) == dict.fromkeys(chapter.COMPARISONS, DOES_NOT_HOLD)
    with pytest.raises(AssertionError, match="failed checks"):
        chapter.check(r, dataclasses.replace(s, findings=dict.fromkeys(chapter.COMPARISONS, HOLDS)))


def test_a_method_that_costs_more_per_step_loses_in_seconds_what_it_wins_in_steps(make_history):
    s = chapter.settings("book")
    costs = [{"AdamW": 0.01, "Grokfast": 0.01, "Muon": 0.05, chapter.BASELINE: 0.01}] * 3
    first, compared = _stages(make_history, s, FAST)
    r = chapter.measure(first, compared, costs, s)
    verdicts = _verdicts(r, s)
    assert verdicts["muon_steps"] == HOLDS and verdicts["muon_seconds"] == DOES_NOT_HOLD


def test_where_nothing_learns_the_findings_are_not_tested_and_the_checks_fail(make_history):
    s = chapter.settings("book")
    r = _fixture(make_history, s, NEVER)
    assert _verdicts(r, s) == dict.fromkeys(chapter.COMPARISONS, NOT_TESTED)
    with pytest.raises(AssertionError, match="the task groks"):
        chapter.check(r, s)


def test_a_task_without_a_delay_fails_the_grokking_check(make_history):
    s = chapter.settings("book")
    r = _fixture(make_history, s, FAST, fit_step=900)
    with pytest.raises(AssertionError, match="the task groks"):
        chapter.check(r, dataclasses.replace(s, findings=dict.fromkeys(chapter.COMPARISONS, HOLDS)))


def test_the_best_setting_and_the_glue(make_history):
    s = chapter.settings("book")
    first, compared = _stages(make_history, s, FAST)
    slow = s.tuning["AdamW"]
    cells = list(slow)
    first["tuning"]["AdamW"] = {c: [_run(make_history, 500 if c == cells[2] else None)] * 2 for c in cells}
    assert chapter.best_settings(first["tuning"], s)["AdamW"] == cells[2]
    r = chapter.measure(first, compared, [{n: 0.01 for n in (*chapter.METHODS, chapter.BASELINE)}], s)
    glue = chapter.glued(r, s)
    assert glue["best_adamw"] == chapter.cell_label("AdamW", cells[2]) == "lr 0.003, weight decay 0.1"
    assert glue["steps_adamw"] == "1,000" and glue["reached_baseline"] == "0%" and glue["p"] == "31"
    assert glue["speedup_grokfast_vs_paper_baseline"].startswith("at least ")
    assert glue["verdict_muon_steps"] == HOLDS and glue["cost_vs_adamw_muon"] == "1.00x [1.00-1.00]"
    assert "<- best" in chapter.summary(r, s)
