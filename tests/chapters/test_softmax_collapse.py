"""The softmax-collapse chapter's contract: settings per profile and their errors, the findings' verdicts on fixtures
with the phenomena, without them and where nothing learns, the Checks and the glue."""
import dataclasses

import pytest

from grokutils.book import DOES_NOT_HOLD, HOLDS, NOT_TESTED
from grokutils.chapters import softmax_collapse as chapter

BUDGET = 4000
ORTHO_BUDGET = 1000
COLUMNS = [f"{kind}/{p}" for kind in ("collapse", "zero_loss") for p in ("f16", "f32", "f64")]


def test_book_profile_runs_their_mlp_at_three_precisions_and_three_optimisers():
    s = chapter.settings("book")
    assert s.claims and s.findings == chapter.BOOK_FINDINGS and list(s.findings) == [f.name for f in chapter.FINDINGS]
    runs = s.precision[0.7]
    assert {name: cfg.train.loss for name, cfg in runs.items()} == chapter.PRECISIONS
    first = runs["float32"]
    assert first.model.widths == (226, 200, 200, 113) and not first.model.bias and first.model.inputs == "two_hot"
    assert (first.train.lr, first.train.weight_decay, first.train.betas, first.train.adam_eps) == (5e-4, 0.0, (0.9, 0.99), 1e-25)
    assert first.train.probes == ("softmax_collapse",) and first.train.steps == BUDGET and first.train.warmup_steps == 0
    assert s.stablemax == {} and s.mode == "workers"
    ortho = s.ortho[chapter.ORTHO][0].train
    assert ortho.grad_transforms == ("orthograd",) and (ortho.betas, ortho.adam_eps) == ((0.9, 0.999), 1e-8)
    assert ortho.stop_at_val_acc == 0.99 and (ortho.lr, ortho.steps) == (0.01, ORTHO_BUDGET)
    assert [r.train.weight_decay for r in s.ortho["AdamW, weight decay 1"]] == [1.0] * 3
    assert [r.train.seed for r in s.ortho["AdamW"]] == [0, 1, 2] == list(s.seeds)


def test_paper_profile_is_their_figures_budgets():
    s = chapter.settings("paper")
    assert list(s.precision) == [0.4, 0.6, 0.7] and s.precision[0.7]["float16"].train.lr == 5e-4
    assert s.precision[0.4]["float64"].train.steps == 20_000 and s.stablemax["StableMax"].train.steps == 80_000
    assert s.precision[0.4]["float32"].train.adam_eps == 1e-30 and s.precision[0.6]["float32"].train.adam_eps == 1e-25
    assert s.stablemax["StableMax"].train.betas == (0.9, 0.999) and s.stablemax["float32"].train.lr == 0.01
    assert s.findings == chapter.SOURCES


def test_a_turned_budget_declares_nothing():
    assert chapter.settings("book", steps=500).findings is None
    assert chapter.settings("book", steps=BUDGET).findings == chapter.BOOK_FINDINGS


@pytest.mark.parametrize("kwargs, match", [
    (dict(profile="huge"), "profile='huge'"),
    (dict(steps=5), r"steps=5 must be an integer in \[10, inf\]"),
    (dict(seed=-1), "seed=-1"),
    (dict(seed=2**31 - 2), "seed=2147483646"),  # its ⊥Grad seeds would leave the one seed domain
    (dict(device="tpu"), "device='tpu'"),
])
def test_settings_reject_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chapter.settings(**{"profile": "book", **kwargs})


def _run(make_history, budget, fit=100, general=None, collapsed=0.0, column="collapse/f32", end_val=None):
    """A run that fits at ``fit`` (None: never; then its loss stays flat), reaches 95% validation at ``general`` (None:
    never; its validation accuracy then ends at ``end_val``, or 0), and at most ``collapsed`` of whose training set
    collapses in ``column``'s precision (from step 1,000 on)."""
    steps = sorted({0, 50, 100, 200, 500, 600, 800, 1000, 2000, budget} | {x for x in (fit, general) if x})
    steps = [t for t in steps if t <= budget]
    train = [1.0 if fit is not None and t >= fit else 0.0 for t in steps]
    val = [1.0 if general is not None and t >= general else 0.0 for t in steps]
    if general is None:
        val[-1] = end_val or 0.0
    loss = [2.0] + [(1e-6 if t >= fit else 1.9) if fit is not None else 2.0 for t in steps[1:]]
    columns = {name: [0.0] * len(steps) for name in COLUMNS}
    columns[column] = [collapsed if t >= 1000 else 0.0 for t in steps]
    return make_history(steps, train_acc=train, val_acc=val, train_loss=loss, **columns)


def _histories(make_history, s, precision, stable, ortho):
    """``s.runs()``'s nest: ``precision`` name -> (largest collapsed share, final validation accuracy); ``stable``:
    StableMax's final validation accuracy (None: no StableMax run); ``ortho`` method -> (fit, general, final validation)
    for every seed."""
    prec = {frac: {name: _run(make_history, BUDGET, collapsed=c, column=chapter.OWN_COLUMN[name], end_val=v,
                              fit=None if v is None else 100) for name, (c, v) in precision.items()}
            for frac in s.precision}
    stablemax = {} if stable is None else {"StableMax": _run(make_history, BUDGET, end_val=stable),
                                           "float32": _run(make_history, BUDGET), "float64": _run(make_history, BUDGET)}
    runs = {m: [_run(make_history, ORTHO_BUDGET, fit=fit, general=general, end_val=end) for _ in s.seeds]
            for m, (fit, general, end) in ortho.items()}
    return {"precision": prec, "stablemax": stablemax, "ortho": runs}


PHENOMENA = dict(precision={"float16": (1.0, 0.45), "float32": (0.6, 0.59), "float64": (0.0, 0.74)},
                 stable=0.97,
                 ortho={chapter.ORTHO: (100, 120, None), "AdamW": (50, None, 0.01), "AdamW, weight decay 1": (50, 600, None)})
NONE = dict(precision={"float16": (0.3, 0.6), "float32": (0.3, 0.6), "float64": (0.3, 0.6)},
            stable=0.4,
            ortho={chapter.ORTHO: (100, None, 0.02), "AdamW": (50, None, 0.01), "AdamW, weight decay 1": (50, 600, None)})
SLOW_ORTHO = dict(PHENOMENA, ortho={chapter.ORTHO: (100, 800, None), "AdamW": (50, None, 0.01),
                                    "AdamW, weight decay 1": (50, 600, None)})
NOTHING = dict(precision={"float16": (0.0, None), "float32": (0.0, None), "float64": (0.0, None)},
               stable=0.0,
               ortho={m: (None, None, 0.0) for m in chapter.METHODS})


def _verdicts(r, s):
    return {v.finding.name: v.verdict for v in chapter.judged(r, s)}


def _results(make_history, s, case):
    return chapter.measure(_histories(make_history, s, **case), s)


def test_without_a_stablemax_run_its_finding_is_not_tested(make_history):
    s = chapter.settings("book")
    r = _results(make_history, s, dict(PHENOMENA, stable=None))
    verdicts = _verdicts(r, s)
    assert verdicts == chapter.BOOK_FINDINGS
    chapter.check(r, s)
    assert "not trained at this profile" in chapter.summary(r, s)


def test_every_finding_holds_on_runs_with_the_phenomena(make_history):
    s = chapter.settings("book")
    r = _results(make_history, s, PHENOMENA)
    assert _verdicts(r, s) == dict.fromkeys(chapter.SOURCES, HOLDS)
    chapter.check(r, dataclasses.replace(s, findings=chapter.SOURCES))


def test_no_finding_holds_on_runs_without_them(make_history):
    s = chapter.settings("book")
    r = _results(make_history, s, NONE)
    verdicts = _verdicts(r, s)
    assert verdicts == {**dict.fromkeys(chapter.SOURCES, DOES_NOT_HOLD), "orthograd_no_delay": NOT_TESTED,
                        "orthograd_faster_than_decay": DOES_NOT_HOLD}
    with pytest.raises(AssertionError, match="failed checks"):
        chapter.check(r, dataclasses.replace(s, findings=chapter.SOURCES))


def test_a_delayed_orthograd_fails_the_delay_and_speed_findings(make_history):
    s = chapter.settings("book")
    verdicts = _verdicts(_results(make_history, s, SLOW_ORTHO), s)
    assert verdicts["orthograd_no_delay"] == DOES_NOT_HOLD and verdicts["orthograd_faster_than_decay"] == DOES_NOT_HOLD
    assert verdicts["orthograd_generalises"] == HOLDS


def test_where_nothing_learns_nothing_is_tested_and_the_checks_fail(make_history):
    s = chapter.settings("book")
    r = _results(make_history, s, NOTHING)
    assert _verdicts(r, s) == dict.fromkeys(chapter.SOURCES, NOT_TESTED)
    with pytest.raises(AssertionError, match="training loss ended below"):
        chapter.check(r, s)


def test_the_glue_quotes_the_runs(make_history):
    s = chapter.settings("book")
    r = _results(make_history, s, PHENOMENA)
    glue = chapter.glued(r, s)
    assert glue["collapse_step_f16"] == "1,000" and glue["collapse_step_f64"] == "not reached"
    assert glue["final_val_f64"] == "74.0%" and glue["max_collapse_f32"] == "60%" and glue["ortho_general"] == "120, 120, 120"
    assert glue["verdict_collapse_order"] == HOLDS and float(glue["margin_f16"]) < float(glue["margin_f32"])
    assert "not in this machine's run cache" in glue["fourier_state"]
    assert "precision group" in chapter.summary(r, s)
