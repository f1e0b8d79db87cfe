"""The MNIST-ablation chapter (grokutils.chapters.mnist_ablations): settings, errors, measure and the Checks."""
import dataclasses
import re

import pytest

from grokutils import book
from grokutils.book import DOES_NOT_HOLD, NOT_TESTED, UNDECIDED
from grokutils.chapters import mnist_ablations as chapter
from grokutils.chapters import omnigrok_mnist
from grokutils.sweep import check_batchable
from grokutils.tasks import MNISTConfig, WineConfig

STEPS = list(range(0, 20_001, 100))
FALLING = [5.0 - s / 10_000 for s in STEPS]


def test_book_runs_change_one_thing_each_and_reuse_the_mnist_chapter_s_baseline():
    s = chapter.settings("book")
    assert s.baseline == omnigrok_mnist.settings("book").grokking and s.claims
    def short(cfg):
        return s.baseline.replace(steps=cfg.train.steps, n_logs=cfg.train.n_logs)
    changed = {name: [(part, f) for part in ("task", "model", "train") for f in vars(getattr(cfg, part))
                      if getattr(getattr(cfg, part), f) != getattr(getattr(short(cfg), part), f)]
               for name, cfg in s.variants.items()}
    assert s.variants["cross-entropy"].train.steps == chapter.NORM_TURN_STEPS >= 150_000, "past the report's turn"
    assert {cfg.train.steps for name, cfg in s.variants.items() if name != "cross-entropy"} == {30_000}
    assert changed == {"cross-entropy": [("train", "loss")], "augmentation": [("task", "rotation_degrees"), ("task", "blur_sigma")],
                       "sigmoid hidden": [("model", "act_fn")], "sigmoid output": [("model", "output")],
                       "softmax output": [("model", "output")]}
    wine, trivial = s.wine["α = 8"], s.trivial["α = 8"]
    assert wine.task == WineConfig(colour="red", frac_train=0.8, seed=0) and wine.model.widths == (11, 200, 200, 6)
    assert trivial.task.digits == (0, 1) and trivial.model.widths == (784, 200, 200, 2)
    ce = {k.removeprefix("cross-entropy, "): v for k, v in s.trivial.items() if k.startswith("cross-entropy")}
    mse = {k: v for k, v in s.trivial.items() if not k.startswith("cross-entropy")}
    for pair in (s.wine, mse):
        assert [c.model.init_scale for c in pair.values()] == [8.0, 1.0]
        assert pair["α = 8"].train.steps > pair["α = 1"].train.steps, "the α = 1 controls generalise early: shorter"
        t = pair["α = 8"].train
        assert (t.loss, t.optimizer, t.lr, t.weight_decay, t.batch_size, t.betas) == ("mse", "adamw", 1e-3, 0.01, 200, (0.9, 0.999))
    assert {k: v.replace(loss="mse") for k, v in ce.items()} == mse, "the cross-entropy pair differs in the loss alone"
    assert set(chapter.settings("paper").findings.values()) == set(chapter.SOURCES.values())
    assert chapter.settings("paper").variants["cross-entropy"].train.steps == 200_000
    assert chapter.settings("paper").wine["α = 8"].train.steps == 500_000
    paper = chapter.settings("paper")
    for pair in (paper.wine, {k: v for k, v in paper.trivial.items() if not k.startswith("cross")}):
        check_batchable(list(pair.values()))  # at paper the α = 8 run and its control train as one batched model


@pytest.mark.parametrize("kwargs, match", [
    (dict(profile="huge"), "profile='huge'"), (dict(seed=-1), r"seed=-1 must be an integer in \[0, 2147483647\]"),
    (dict(seed="0"), "seed='0'"), (dict(seed=True), "seed=True"), (dict(device="tpu"), "device"),
])
def test_bad_parameters_fail_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chapter.settings(**kwargs)


def test_run_all_asks_for_every_run_once_in_order():
    s = chapter.settings("smoke")
    asked = []
    got = book.run_all(s, lambda cfgs, **kw: asked.extend(cfgs) or [f"h{i}" for i in range(len(cfgs))])
    assert asked == list(s.runs().values()) and list(got) == list(s.runs())
    assert list(got)[:6] == ["baseline", *chapter.VARIANTS] and len(got) == 12


def up(at):
    return [0.0 if at is None or step < at else 1.0 for step in STEPS]


def run(make_history, fit, general, norm=None, steps=STEPS):
    """A run whose training accuracy jumps to 1 at ``fit`` and held-out accuracy at ``general`` (None: never), logged
    at ``steps``."""
    jump = lambda at: [0.0 if at is None or step < at else 1.0 for step in steps]  # noqa: E731
    return make_history(steps, train_acc=jump(fit), val_acc=jump(general), train_loss=[5.0 - k / len(steps) for k in
                        range(len(steps))], weight_norm=norm or [100.0] * len(steps))


LONG = list(range(0, chapter.NORM_TURN_STEPS + 1, 1000))


def long_ce(make_history, fit=1000, general=2000, norm=None):
    """A cross-entropy run as long as the book's, past the report's turn of the norm (rising unless ``norm``)."""
    return run(make_history, fit, general, norm or [100.0 + step / 1000 for step in LONG], LONG)


def histories(make_history, **override):
    """Runs as the sources describe them: the baseline groks, cross-entropy and augmentation do not wait, the
    cross-entropy norm grows, Wine groks, and the α = 8 run on 0 vs 1 fits but has not generalised by the end of its
    budget (the report's conjecture); ``override`` replaces runs by label."""
    out = {"baseline": run(make_history, 200, 15_000), "cross-entropy": long_ce(make_history),
           "augmentation": run(make_history, 300, 400), "sigmoid hidden": run(make_history, 200, 300),
           "sigmoid output": run(make_history, 200, 300), "softmax output": run(make_history, 200, 300),
           "wine, α = 8": run(make_history, 100, 5_000), "wine, α = 1": run(make_history, 100, 200),
           "0 vs 1, α = 8": run(make_history, 100, None), "0 vs 1, α = 1": run(make_history, 100, 100),
           "0 vs 1, cross-entropy, α = 8": run(make_history, 100, None),
           "0 vs 1, cross-entropy, α = 1": run(make_history, 100, 100)}
    out.update(override)
    return out


def claiming(findings=None):
    return dataclasses.replace(chapter.settings("smoke"), claims=True, findings=findings or dict(chapter.SOURCES))


def test_checks_pass_where_the_runs_show_what_the_sources_state(make_history, capsys):
    s = claiming()
    results = chapter.measure(histories(make_history), s)
    assert results["rows"]["baseline"]["delay"] == 14_800 and results["rows"]["cross-entropy"]["delay"] == 1000
    chapter.check(results, s)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("label, steps, finding, verdict", [
    ("cross-entropy", (200, 12_000), "ce_removes_delay", DOES_NOT_HOLD),
    ("augmentation", (300, None), "augmentation_removes_delay", NOT_TESTED),      # never generalises
    ("cross-entropy", (200, 300), "ce_norm_grows", NOT_TESTED),                    # stopped before the report's turn
    ("0 vs 1, cross-entropy, α = 8", (100, 200), "trivial_delay_ce", DOES_NOT_HOLD),  # the loss, not the init
    ("wine, α = 8", (100, 200), "wine_delay", DOES_NOT_HOLD),
    ("0 vs 1, α = 8", (100, 200), "trivial_delay", DOES_NOT_HOLD),                # generalises as it fits
    ("baseline", (200, 400), "ce_removes_delay", NOT_TESTED),                     # no phenomenon at all
    ("wine, α = 8", (None, None), "wine_delay", NOT_TESTED),                      # nothing fits
])
def test_checks_fail_on_runs_without_the_claimed_behaviour(make_history, label, steps, finding, verdict):
    runs = histories(make_history)
    runs[label] = run(make_history, *steps)
    r = chapter.measure(runs, claiming())
    judged = {v.finding.name: v for v in chapter.judged(r, claiming())}[finding]
    assert judged.verdict == verdict
    with pytest.raises(AssertionError, match=re.escape(judged.finding.claim)):
        chapter.check(r, claiming())


def test_a_flat_norm_over_a_long_run_is_inside_the_margin(make_history):
    runs = histories(make_history, **{"cross-entropy": long_ce(make_history, norm=[100.0] * len(LONG))})
    r = chapter.measure(runs, claiming())
    assert {v.finding.name: v.verdict for v in chapter.judged(r, claiming())}["ce_norm_grows"] == UNDECIDED


@pytest.mark.parametrize("mse, ce, reading", [
    ((100, None), (100, None), "under either loss"),
    ((100, None), (100, 200), "the loss makes it"),
    ((100, 200), (100, 200), "neither the initialisation nor the loss"),
    ((100, None), (5_000, None), "do not tell"),  # the cross-entropy run cannot show a delay in its budget
])
def test_the_trivial_pair_under_two_losses_reads_the_cause(make_history, mse, ce, reading):
    runs = histories(make_history, **{"0 vs 1, α = 8": run(make_history, *mse),
                                      "0 vs 1, cross-entropy, α = 8": run(make_history, *ce)})
    s = claiming()
    assert reading in chapter.glued(chapter.measure(runs, s), s)["cause_reading"]


def test_book_verdicts_fail_where_the_runs_show_the_sources_findings(make_history):
    s = claiming(findings=chapter.BOOK_FINDINGS)
    with pytest.raises(AssertionError) as err:
        chapter.check(chapter.measure(histories(make_history), s), s)
    assert str(err.value).count("(declared: does not hold)") == 3


def test_fit_falls_back_to_95_percent_and_tables_pick_the_nearest_logged_steps(make_history):
    s = chapter.settings("smoke")
    h = make_history(STEPS, train_acc=[0.96 if step >= 500 else 0.0 for step in STEPS], val_acc=up(900),
                     train_loss=FALLING, weight_norm=[float(step) for step in STEPS])
    row = chapter.row(h, 0.8, s)
    assert (row["fit_step"], row["fit_level"], row["general_step"], row["delay"]) == (500, 0.95, 900, 400)
    assert not row["delayed"]
    table = chapter.norm_table(h, 10)
    assert [r["step"] for r in table] == list(range(2000, 20_001, 2000)) and table[-1]["weight_norm"] == 20_000.0


def test_smoke_asserts_only_the_mechanics(make_history, capsys):
    s = chapter.settings("smoke")
    chapter.check(chapter.measure(histories(make_history, baseline=run(make_history, None, None)), s), s)
    assert "asserts only the mechanics" in capsys.readouterr().out


def test_glued_names_cover_the_issue_s_list(make_history):
    s = claiming()
    glued = chapter.glued(chapter.measure(histories(make_history), s), s)
    for label in s.runs():
        key = chapter.glue_key(label)
        assert f"delay_{key}" in glued and f"final_test_acc_{key}" in glued
    assert glued["wine_delay"] == "4,900" and glued["trivial_task_delay"] == "more than 19,900"
    assert glued["trivial_reading"] == chapter.TRIVIAL_READING["holds"] and glued["verdict_trivial_delay"] == "holds"
    assert glued["val_at_fit_trivial_alpha_8"] == "0.0%" and glued["delay_trivial_alpha_1"] == "0"
    assert glued["trivial_general"] == "does not reach 99% test accuracy within its 20,000 steps"
    assert chapter.glue_key("wine, α = 8") == "wine_alpha_8" and chapter.glue_key("cross-entropy") == "cross_entropy"


@pytest.mark.parametrize("fit, general, delayed", [
    (100, 1_000, True),      # generalises 10x later than it fits
    (100, 900, False),       # a little sooner
    (100, None, True),       # never within a budget 200x its fit step: still waiting, a delay
    (5_000, None, False),    # never, but the budget (20,000) is under 10x its fit step: cannot tell
    (None, None, False),     # never fits
    (300, 200, False),       # generalises before it fits
])
def test_a_delay_is_not_having_generalised_by_ten_times_the_fit_step(make_history, fit, general, delayed):
    row = chapter.row(run(make_history, fit, general), 0.8, chapter.settings("smoke"))
    assert row["delayed"] is delayed and row["last_step"] == 20_000
    assert chapter.fmt_delay(row) == ("n/a" if fit is None else f"more than {20_000 - fit:,}" if general is None
                                      else f"{general - fit:,}")


def test_a_turned_budget_declares_nothing():
    assert chapter.settings("book").findings == chapter.BOOK_FINDINGS
    s = chapter.settings("book", steps=60_000)
    assert s.findings is None and all(cfg.train.steps == 60_000 for cfg in s.variants.values())
