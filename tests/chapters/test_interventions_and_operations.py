"""The interventions-and-operations chapter (grokutils.chapters.interventions_and_operations): settings, errors,
measure, Checks on fixtures with and without the sources' findings, glue."""
import dataclasses
import re
import math

import pytest
import torch

from grokutils import book
from grokutils.chapters import interventions_and_operations as chapter
from grokutils.sweep import check_batchable
from grokutils.tasks import ModularConfig, PermutationConfig

STEPS = list(range(0, 2001, 100))


def test_book_variants_change_only_their_own_fields_of_the_report_s_recipe():
    s = chapter.settings("book")
    assert s.claims and s.mode == "workers_by_size" and s.p == 31 and len(s.runs()) == 50
    assert list(s.interventions) == [n for n in chapter.INTERVENTIONS if n != "Adam, lr 3e-3"]
    base = s.interventions["AdamW"][0.75][0]
    assert (base.train.optimizer, base.train.lr, base.train.weight_decay, base.train.batch_size) == ("adamw", 1e-3, 1.0, None)
    assert (base.train.steps, base.train.stop_at_val_acc, base.task.p, base.model.n_layers) == (1800, 0.99, 31, 1)
    expected = {"Adam, lr 3e-4": {"optimizer", "weight_decay", "lr"}, "Adam + update noise": {"optimizer", "weight_decay", "update_noise"},
                "Adam + weight noise": {"optimizer", "weight_decay", "weight_noise"}, "AdamW, minibatch": {"batch_size"},
                "AdamW towards init": {"decay_to"}, "Adam + dropout": {"optimizer", "weight_decay"}}
    for name, fields in expected.items():
        cfg = s.interventions[name][0.75][0]
        assert {k for k in vars(cfg.train) if getattr(cfg.train, k) != getattr(base.train, k)} == fields, name
        assert cfg.task == base.task
    assert s.interventions["Adam + dropout"][0.75][0].model.dropout == 0.1 and base.model.dropout == 0.0
    assert s.interventions["Adam, minibatch"][0.6][0].train.batch_size == 128
    noisy = [s.interventions[n][0.6][0] for n in ("Adam, lr 3e-4", "Adam, lr 1e-3", "Adam + update noise",
                                                  "Adam + weight noise")]
    check_batchable(noisy)  # the Adam variants of one fraction train as one batched model
    check_batchable([base, s.interventions["AdamW towards init"][0.75][0]])


def test_book_operations_use_power_s_optimiser():
    s = chapter.settings("book")
    assert list(s.operations) == ["x+y", "x-y", "x/y", "x^2+y^2", "x^3+xy^2+y"]
    sub = s.operations["x-y"][0.75][0]
    assert isinstance(sub.task, ModularConfig) and sub.task.op == "sub" and sub.train.weight_decay == 1.0
    assert sub.train.batch_size == math.ceil(sub.task.n_train / 2) and sub.train.loss == "cross_entropy"


def test_book_group_compares_s4_with_x_plus_y_mod_24_on_the_report_s_recipe():
    s = chapter.settings("book")
    assert s.group_n == 4 and list(s.group) == list(chapter.GROUP_RUNS)
    adamw, adam = s.group["x.y, AdamW"], s.group["x.y, Adam"]
    assert list(adamw) == [0.6, 0.75, 0.9] and list(adam) == list(s.group["x.y, Adam + update noise"]) == [0.9]
    g, plus = adamw[0.75][0], s.group["x+y, AdamW"][0.75][0]
    assert isinstance(g.task, PermutationConfig) and (g.task.n, g.task.op, g.task.n_equations) == (4, "x.y", 576)
    assert isinstance(plus.task, ModularConfig) and (plus.task.p, plus.task.op, plus.task.n_equations) == (24, "add", 576)
    assert g.train == plus.train and g.train.steps == 8000 and g.train.batch_size is None and g.model == plus.model
    ref = s.interventions["AdamW"][0.75][0].train
    assert dataclasses.replace(g.train, steps=ref.steps) == ref  # the interventions' recipe, a longer budget
    noisy = adam[0.9][0].train
    assert (noisy.optimizer, noisy.weight_decay) == ("adam", 0.0)
    assert s.group["x.y, Adam + update noise"][0.9][0].train.update_noise == 1.0
    check_batchable([adam[0.9][0], s.group["x.y, Adam + update noise"][0.9][0]])
    paper = chapter.settings("paper").group["x.y, AdamW"][0.5][0]
    assert (paper.task.n, paper.train.steps) == (5, 100_000)
    assert chapter.settings("paper").group["x+y, AdamW"][0.5][0].task.p == 120


def test_paper_runs_the_sources_settings():
    s = chapter.settings("paper")
    adam = s.interventions["Adam, lr 1e-3"][0.3][0]
    assert s.p == 97 and adam.train.steps == 1800 and adam.train.stop_at_val_acc is None and len(s.operations) == 12
    assert list(s.interventions) == list(chapter.INTERVENTIONS)
    div = s.operations["x/y"][0.5]
    assert len(div) == 3 and [c.train.seed for c in div] == [0, 1, 2]
    assert (div[0].model.n_layers, div[0].task.with_eos, div[0].train.batch_size, div[0].train.steps) == (2, True, 512, 100_000)
    assert s.operations["S5: x.y.x"][0.9][0].task.op == "x.y.x" and s.findings == chapter.SOURCES


@pytest.mark.parametrize("kwargs, match", [
    (dict(profile="huge"), "profile='huge'"), (dict(seed=-1), r"seed=-1 must be an integer in \[0, 2147483647\]"),
    (dict(seed=1.5), "seed=1.5"), (dict(device="tpu"), "device"),
])
def test_bad_parameters_fail_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chapter.settings(**kwargs)


def test_run_all_asks_for_every_run_once_in_order():
    s = chapter.settings("smoke")
    asked = []
    got = book.run_all(s, lambda cfgs, **kw: asked.extend(cfgs) or [f"h{i}" for i in range(len(cfgs))])
    assert asked == list(s.runs().values()) and list(got) == list(s.runs())
    assert "AdamW towards init, 50%" in got and "x.y, AdamW, 50%" in got and chapter.download_label(s) in got


MIRROR = (0.535, 0.693, 0.887)  # the book split's share of held-out pairs whose mirror was trained, at 60%, 75%, 90%


def near_mirror(offset):
    return tuple(round(m + offset, 3) for m in MIRROR)


SOURCE_CURVES = {  # best validation accuracy at 60%, 75%, 90%, as the sources describe the curves
    # Adam at lr 1e-3 and 3e-3 generalises beyond the mirrored pairs at 60%, so a small learning rate can limit it
    "Adam, lr 3e-4": near_mirror(-0.06), "Adam, lr 1e-3": (0.6, 0.713, 0.907), "Adam, lr 3e-3": (0.6, 0.713, 0.907),
    "Adam + update noise": (0.7, 0.8, 0.98), "Adam + weight noise": MIRROR, "Adam, minibatch": MIRROR, "Adam + dropout": MIRROR,  # update noise helps beyond Adam
    "AdamW": (0.9, 1.0, 1.0), "AdamW, minibatch": (0.8, 1.0, 1.0), "AdamW towards init": (0.7, 0.85, 1.0),
    "x+y": (0.5, 1.0, 1.0), "x-y": (0.3, 0.9, 1.0), "x/y": (0.3, 0.8, 1.0), "x^2+y^2": (1.0, 1.0, 1.0),
    "x^3+xy^2+y": (0.05, 0.05, 0.1),
    # the group: x.y needs 75% with AdamW, x+y 60%; Adam stays low on x.y, and update noise helps it (at 90%)
    "x.y, Adam": (0.08,), "x.y, Adam + update noise": (0.3,), "x.y, AdamW": (0.5, 1.0, 1.0),
    "x+y, AdamW": (1.0, 1.0, 1.0),
}
def reading(**classes):
    """An ``accuracy_by_class`` reading of 100 held-out pairs: per kind, ``(count, accuracy)``."""
    return {k: {"count": n, "share": n / 100, "accuracy": acc if n else None}
            for k, (n, acc) in {"mirror answers": (0, 0.0), "mirror differs": (0, 0.0), "no mirror": (0, 0.0),
                                **classes}.items()}


MIRROR_ONLY = reading(**{"mirror answers": (70, 1.0), "no mirror": (30, 0.03)})
GROUP_LOW = reading(**{"mirror answers": (15, 0.1), "mirror differs": (60, 0.0), "no mirror": (25, 0.02)})
ALL_RIGHT = reading(**{"mirror answers": (30, 1.0), "mirror differs": (30, 1.0), "no mirror": (40, 1.0)})


def run(make_history, best):
    """A run that fits at step 100 and whose validation accuracy jumps to ``best`` at step 1,000."""
    return make_history(STEPS, train_acc=[0.01 if t < 100 else 1.0 for t in STEPS],
                        val_acc=[0.01 if t < 1000 else best for t in STEPS], train_loss=[1.0] * len(STEPS))


def histories(make_history, s, **override):
    """Runs whose curves are ``SOURCE_CURVES`` (``override``: a variant's or operation's curve replaced)."""
    curves = {**SOURCE_CURVES, **override}
    return {chapter.run_label(group, f, k): run(make_history, curves[group][i])
            for part in (s.interventions, s.operations, s.group) for group, points in part.items()
            for i, (f, cfgs) in enumerate(points.items()) for k in range(len(cfgs))}


def pairs(s, **override):
    """Pair-by-pair readings as the sources' runs would give them: without weight decay, a + b answers the mirrored pairs
    and nothing else and x.y hardly anything; with it, everything (``override``: a label's reading replaced)."""
    def reading(label):
        if label in override:
            return override[label]
        if label in chapter.NO_DECAY:
            return MIRROR_ONLY
        return GROUP_LOW if label in chapter.GROUP_NO_DECAY else ALL_RIGHT
    return {part: {label: {f: reading(label) for f in points} for label, points in getattr(s, part).items()}
            for part in chapter.PAIR_PARTS}


def measured(make_history, s, pair_override=None, **override):
    return chapter.measure(histories(make_history, s, **override), s, pairs(s, **(pair_override or {})))


def claiming(findings=None):
    return dataclasses.replace(chapter.settings("book"), findings=findings or dict(chapter.SOURCES))


def test_checks_pass_where_the_runs_show_the_sources_findings(make_history, capsys):
    s = claiming()
    r = measured(make_history, s)
    assert r["interventions"]["AdamW"][0.75] == {"best_val": 1.0, "reached": True, "fitted": True, "general_step": 1000,
                                                 "last_step": 2000, "finite": True}
    assert [round(v, 3) for v in r["mirror"].values()] == list(MIRROR)
    assert chapter.lowest_mirror_accuracy(r) == (1.0, "Adam, lr 3e-4")
    assert chapter.highest_other_accuracy(r) == (pytest.approx(0.03), "Adam, lr 3e-4")
    assert 0.1 < r["group_mirror"][0.75] < 0.2  # S4: few held-out pairs commute with a trained mirror
    chapter.check(r, s)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("group, curve, finding", [
    ("Adam, lr 1e-3", (0.3, 1.0, 1.0), "adamw_beats_adam"),             # Adam reaches where AdamW does
    ("Adam, minibatch", (1.0, 1.0, 1.0), "weight_decay_most"),          # no decay does best
    ("AdamW towards init", (0.62, 0.73, 0.93), "towards_init_between"),  # no better than Adam
    ("AdamW towards init", (0.95, 1.0, 1.0), "towards_init_between"),   # as good as AdamW
    ("Adam, lr 3e-4", near_mirror(0.04), "small_lr_limits"),            # 2 points below only
    ("Adam, lr 1e-3", (0.05, 0.1, 0.2), "adam_high_fraction"),
    ("x-y", (1.0, 1.0, 1.0), "sum_no_more_than_difference"),
    ("x/y", (0.1, 0.2, 0.3), "sub_like_div"),
    ("x^3+xy^2+y", (0.5, 0.97, 1.0), "cubic_never"),                    # the cubic generalises
    ("x.y, AdamW", (1.0, 1.0, 1.0), "group_needs_more_than_sum"),     # as little data as x+y
    ("x.y, Adam", (1.0,), "group_adamw_beats_adam"),               # Adam as good as AdamW on the group
    ("x.y, Adam + update noise", (0.08,), "noise_helps"),        # no help on the group
    ("Adam + update noise", near_mirror(0.0), "noise_helps"),          # no help on a + b
])
def test_checks_fail_on_runs_without_the_claimed_behaviour(make_history, group, curve, finding):
    s = claiming(findings=dict.fromkeys(chapter.SOURCES, "holds"))
    r = measured(make_history, s, **{group: curve})
    verdict = {v.finding.name: v for v in chapter.judged(r, s)}[finding]
    assert verdict.verdict in ("does not hold", "undecided")
    with pytest.raises(AssertionError, match=re.escape(verdict.finding.claim)):
        chapter.check(r, s)


@pytest.mark.parametrize("label, reading, finding", [
    ("Adam + dropout", reading(**{"mirror answers": (70, 1.0), "no mirror": (30, 0.5)}), "no_decay_only_mirror"),
    ("x.y, Adam", reading(**{"mirror answers": (15, 0.1), "mirror differs": (60, 0.4), "no mirror": (25, 0.02)}),
     "no_decay_only_mirror"),
    ("Adam, lr 3e-4", reading(**{"mirror answers": (70, 0.6), "no mirror": (30, 0.03)}), "no_decay_mirror_pairs"),
])
def test_pair_checks_fail_where_a_run_without_weight_decay_answers_other_pairs_or_misses_mirrored_ones(
        make_history, label, reading, finding):
    s = claiming(findings=dict.fromkeys(chapter.SOURCES, "holds"))
    chapter.check(measured(make_history, s), s)  # the sources' readings pass
    r = measured(make_history, s, pair_override={label: reading})
    assert {v.finding.name: v.verdict for v in chapter.judged(r, s)}[finding] == "does not hold"
    with pytest.raises(AssertionError, match=re.escape(chapter.FINDINGS[[f.name for f in chapter.FINDINGS].index(finding)].claim)):
        chapter.check(r, s)


def test_nothing_holds_where_nothing_learns(make_history):
    s = claiming()
    hs = {label: make_history(STEPS, train_acc=[0.03] * len(STEPS), val_acc=[0.03] * len(STEPS),
                              train_loss=[3.0] * len(STEPS)) for label in s.runs()}
    chance = reading(**{"mirror answers": (30, 0.03), "mirror differs": (30, 0.03), "no mirror": (40, 0.03)})
    r = chapter.measure(hs, s, {part: {label: {f: chance for f in points} for label, points in getattr(s, part).items()}
                                for part in chapter.PAIR_PARTS})
    verdicts = {v.finding.name: v.verdict for v in chapter.judged(r, s)}
    assert "holds" not in verdicts.values(), verdicts
    assert verdicts["no_decay_only_mirror"] == verdicts["noise_helps"] == verdicts["group_adamw_beats_adam"] == "not tested"


def test_the_cubic_is_not_tested_where_another_operation_never_reaches_95(make_history):
    s = claiming()
    r = measured(make_history, s, **{"x/y": (0.5, 0.9, 0.94)})
    verdict = {v.finding.name: v for v in chapter.judged(r, s)}["cubic_never"]
    assert verdict.verdict == "not tested" and "not every other modular operation reached 95%" in verdict.text


def test_a_small_learning_rate_is_not_tested_where_adam_only_gets_the_mirrored_pairs(make_history):
    s = claiming()
    r = measured(make_history, s, **{"Adam, lr 1e-3": near_mirror(0.02)})
    verdict = {v.finding.name: v for v in chapter.judged(r, s)}["small_lr_limits"]
    assert verdict.verdict == "not tested" and "Adam at lr 1e-3 got no more" in verdict.text


def test_noise_is_undecided_where_it_helps_on_one_task_only(make_history):
    s = claiming()
    r = measured(make_history, s, **{"x.y, Adam + update noise": (0.08,)})
    verdict = {v.finding.name: v for v in chapter.judged(r, s)}["noise_helps"]
    assert verdict.verdict == "undecided" and "does not hold on the group" in verdict.text and "holds on a + b" in verdict.text


def test_book_verdicts_fail_where_the_runs_show_the_sources_findings(make_history):
    s = claiming(findings=chapter.BOOK_FINDINGS)
    with pytest.raises(AssertionError) as err:
        chapter.check(measured(make_history, s), s)
    # the three findings book declares otherwise (towards init, the small learning rate, noise; x-y against x/y is
    # undecided there: printed, not asserted)
    assert str(err.value).count("(declared: ") == 3


def test_a_point_averages_its_seeds_and_reaches_the_level_only_on_average(make_history):
    p = chapter.point([run(make_history, 1.0), run(make_history, 0.97)], 0.99)
    assert p["best_val"] == pytest.approx(0.985) and not p["reached"] and p["general_step"] is None
    p = chapter.point([run(make_history, 1.0), run(make_history, 0.995)], 0.99)
    assert p["reached"] and p["general_step"] == 1000


def test_smallest_fraction_least_data_area_and_ordering(make_history):
    s = claiming()
    r = measured(make_history, s)
    assert chapter.least_data(r["interventions"]) == ["AdamW", "AdamW, minibatch"]
    assert chapter.least_data(r["operations"]) == ["x^2+y^2"]
    assert chapter.ordering(r["operations"]) == ["x^2+y^2", "x+y", "x-y", "x/y", "x^3+xy^2+y"]
    assert chapter.area_gain(r["group"]["x.y, AdamW"], r["group"]["x.y, Adam"]) == pytest.approx(1 - 0.08)
    assert chapter.area(r["interventions"]["AdamW towards init"]) == pytest.approx(0.85)
    assert chapter.least_data({"a": r["operations"]["x^3+xy^2+y"]}) == []


def test_glued_names_table_and_curves(make_history):
    s = claiming()
    r = measured(make_history, s)
    glued = chapter.glued(r, s)
    assert glued["smallest_adamw"] == "75%" and glued["smallest_adam_lr_1e_minus_3"] == "none of the fractions"
    assert glued["area_adamw"] == "96.7%" and glued["curve_xy_adam"] == "90%: 8.0%"
    assert glued["mirror"] == "60%: 53.5%, 75%: 69.3%, 90%: 88.7%" and glued["n_equations_mod_p"] == "961"
    assert glued["margin"] == "5 points" and glued["n_variants"] == "9" and glued["smallest_x_plus_y_adamw"] == "60%"
    assert (glued["group"], glued["group_size"], glued["g_equations"], glued["g_steps"]) == ("S4", "24", "576", "8,000")
    assert glued["lowest_mirror_acc"] == "100.0% (Adam, lr 3e-4, its fractions pooled)" and glued["other_acc"] == "10%"
    assert glued["least_data_interventions"] == "AdamW, AdamW, minibatch" and glued["i_steps"] == "1,800"
    assert glued["ordering"].startswith("x^2+y^2 < x+y") and glued["download_run"] == "AdamW, 75%"
    assert all(glued[f"verdict_{name}"] == "holds" for name, v in chapter.SOURCES.items() if v == "holds")
    header, rows = chapter.table(r, "operations")
    assert header[-3:] == ["60%", "75%", "90%"] and rows[-1] == ["x^3+xy^2+y", "none", "6.7%", "5.0%", "5.0%", "10.0%"]
    header, rows = chapter.table(r, "group")
    assert header[0] == "run" and rows[0] == ["x.y, Adam", "none", "8.0%", "-", "-", "8.0%"]
    header, rows = chapter.pair_table(r)
    assert len(header) == 7 and rows[-1][0] == "x+y, AdamW, 90%" and rows[-1][-1] == "100.0%" and len(rows) == 9 * 3 + 8
    assert chapter.curves(r, "interventions")["AdamW"] == [(0.6, 0.9), (0.75, 1.0), (0.9, 1.0)]


def test_glue_keys_are_distinct_names():
    keys = [chapter.glue_key(k) for k in (*chapter.INTERVENTIONS, *chapter.OPERATIONS, *chapter.GROUP_RUNS)]
    assert len(set(keys)) == len(keys) and all(k.replace("_", "").isalnum() for k in keys)


def test_smoke_asserts_only_the_mechanics(make_history, capsys):
    s = chapter.settings("smoke")
    hs = {label: run(make_history, 0.1) for label in s.runs()}
    chapter.check(chapter.measure(hs, s, pairs(s)), s)
    assert "asserts only the mechanics" in capsys.readouterr().out


def test_points_that_reach_the_level_only_at_their_last_update_are_named(make_history):
    s = claiming()
    hs = histories(make_history, s)
    assert chapter.at_budget_edge(chapter.measure(hs, s, pairs(s)), s) == []
    hs["AdamW, 60%"] = make_history(STEPS, train_acc=[1.0] * len(STEPS), val_acc=[0.5] * (len(STEPS) - 1) + [1.0],
                                    train_loss=[1.0] * len(STEPS))
    r = chapter.measure(hs, s, pairs(s))
    assert chapter.at_budget_edge(r, s) == ["AdamW, 60%"] and chapter.glued(r, s)["edge_points"] == "AdamW, 60%"


def test_turned_budgets_declare_nothing():
    assert chapter.settings("book").findings == chapter.BOOK_FINDINGS
    s = chapter.settings("book", operation_steps=6000)
    assert s.findings is None and chapter.settings("book", intervention_steps=2000).findings is None


class _Answers(torch.nn.Module):
    """A model that answers each pair from a table (``-1``: class 0), as ``final_logits`` logits."""

    def __init__(self, table, n_classes):
        super().__init__()
        self.table, self.n_classes = table, n_classes

    def final_logits(self, x):
        return torch.nn.functional.one_hot(self.table[x[:, 0], x[:, 1]].clamp(min=0), self.n_classes).float()


class _Run:
    def __init__(self, model):
        self._model = model

    def model(self):
        return self._model


def _answers(split, mirror_only):
    n = int(max(split.x_train[:, :2].max(), split.x_val[:, :2].max())) + 1
    table = torch.full((n, n), -1, dtype=torch.long)
    table[split.x_train[:, 0], split.x_train[:, 1]] = split.y_train
    if mirror_only:  # what commutativity alone gives: each held-out pair answered by its trained mirror
        return _Answers(torch.where(table.T >= 0, table.T, table), int(split.y_val.max()) + 1)
    table[split.x_val[:, 0], split.x_val[:, 1]] = split.y_val
    return _Answers(table, int(split.y_val.max()) + 1)


@pytest.mark.parametrize("mirror_only", [False, True])
def test_read_pairs_reads_each_run_s_final_weights_on_its_own_split(mirror_only):
    s = chapter.settings("smoke")
    hs = {chapter.run_label(label, f): _Run(_answers(cfgs[0].task.build(), mirror_only))
          for part in chapter.PAIR_PARTS for label, points in getattr(s, part).items() for f, cfgs in points.items()}
    got = chapter.read_pairs(hs, s)
    assert set(got["group"]) == set(chapter.GROUP_RUNS) and set(got["interventions"]) == set(s.interventions)
    sum_, group = got["interventions"]["AdamW"][0.5], got["group"]["x.y, Adam"][0.5]
    if not mirror_only:
        assert all(c["accuracy"] == 1.0 for c in (*sum_.values(), *group.values()) if c["accuracy"] is not None)
    else:
        assert sum_["mirror answers"]["accuracy"] == group["mirror answers"]["accuracy"] == 1.0
        assert group["mirror differs"]["accuracy"] == 0.0 and sum_["no mirror"]["accuracy"] < 0.5


def test_one_right_pair_of_a_small_fraction_does_not_decide_the_reading(make_history):
    # at 90% a + b mod 31 has about 11 held-out pairs without a mirror: one right answer is 9.1% at that fraction,
    # but each variant's pairs are pooled over its fractions
    s = claiming(findings=dict.fromkeys(chapter.SOURCES, "holds"))
    small = reading(**{"mirror answers": (86, 1.0), "no mirror": (11, 1 / 11)})
    hs = histories(make_history, s)
    ps = pairs(s)
    ps["interventions"]["Adam + weight noise"][0.9] = small
    r = chapter.measure(hs, s, ps)
    high, label = chapter.highest_other_accuracy(r)
    assert label == "Adam + weight noise" and high == pytest.approx((0.03 * 60 + 1) / 71)
    assert {v.finding.name: v.verdict for v in chapter.judged(r, s)}["no_decay_only_mirror"] == "holds"


def test_the_group_is_powered_where_adamw_rises_above_the_commuting_pairs_without_reaching_the_level(make_history):
    s = claiming(findings=dict.fromkeys(chapter.SOURCES, "holds"))
    r = measured(make_history, s, **{"x.y, AdamW": (0.1, 0.68, 0.47)})  # seed 1 at book: still rising at 8,000 updates
    verdicts = {v.finding.name: v.verdict for v in chapter.judged(r, s)}
    assert verdicts["group_adamw_beats_adam"] == "holds" and verdicts["group_needs_more_than_sum"] == "holds"
    r = measured(make_history, s, **{"x.y, AdamW": (0.1, 0.15, 0.16), "x.y, Adam + update noise": (0.08,)})
    verdicts = {v.finding.name: v for v in chapter.judged(r, s)}
    assert verdicts["group_adamw_beats_adam"].verdict == "not tested"
    assert "not tested on the group" in verdicts["noise_helps"].text  # and holds on a + b: undecided
