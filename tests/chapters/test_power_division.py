"""The Power et al. chapter: its settings per profile, its parameter checks, and its Checks on both kinds of run."""
import dataclasses
import math

import pytest

from grokutils.chapters import power_division as chapter


def test_book_profile_is_the_measured_setting():
    s = chapter.settings("book")
    assert (s.main.task.op, s.main.task.p, s.main.task.frac_train) == ("div", 97, 0.3)
    assert (s.main.model.n_layers, s.main.model.d_model, s.main.model.n_heads) == (2, 128, 4)
    t = s.main.train
    assert (t.optimizer, t.lr, t.weight_decay, t.betas, t.warmup_steps, t.batch_size, t.steps, t.n_logs) == (
        "adamw", 1e-3, 1.0, (0.9, 0.98), 10, 512, 6000, 150)
    assert s.sweep[0] is s.main and s.fractions == (0.3, 0.4, 0.5, 0.6, 0.8)
    assert all(c.train.stop_at_val_acc == 0.99 for c in s.sweep[1:]) and s.claims and s.min_delay_ratio == 10.0


def test_paper_profile_is_figure_1_recipe():
    s = chapter.settings("paper")
    t = s.main.train
    assert (t.optimizer, t.weight_decay, t.steps, s.main.task.frac_train) == ("adam", 0.0, 1_000_000, 0.5)


def test_parameters_override_the_profile():
    s = chapter.settings("smoke", op="add", p=13, frac_train=0.6, steps=7, seed=3)
    assert (s.main.task.op, s.main.task.p, s.main.train.steps, s.main.model.seed) == ("add", 13, 7, 3)
    assert s.main.train.batch_size == min(512, s.main.task.n_train // 2) and not s.claims
    assert chapter.settings("smoke", p=5, frac_train=0.1).main.train.batch_size == 1  # 2 training equations


@pytest.mark.parametrize("params,match", [
    (dict(op="pow"), r"op='pow' is not supported; allowed values: \('add', 'sub', 'mul', 'div'\)"),
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


STEPS = [0, 10, 100, 1000, 4000, 6000]


def grokking_run(make_history, **overrides):
    columns = dict(train_acc=[0.0, 0.5, 1.0, 1.0, 1.0, 1.0], val_acc=[0.0, 0.01, 0.02, 0.5, 1.0, 1.0],
                   train_loss=[4.6, 3.0, 0.01, 0.001, 0.001, 0.001], val_loss=[4.6, 5.0, 9.0, 3.0, 0.01, 0.01])
    return make_history(STEPS, **{**columns, **overrides})


def test_checks_pass_on_a_grokking_run(make_history):
    s = chapter.settings("book")
    main = grokking_run(make_history)
    faster = grokking_run(make_history, val_acc=[0.0, 0.01, 0.5, 1.0, 1.0, 1.0])
    assert all(c.passed for c in chapter.check(chapter.measure(main, [main, faster]), s))


@pytest.mark.parametrize("overrides,claim", [
    (dict(val_acc=[0.0, 0.01, 0.02, 0.02, 0.02, 0.02]), "validation accuracy reached 99%"),
    (dict(val_acc=[0.0, 0.5, 1.0, 1.0, 1.0, 1.0]), "validation 99% at least 10x later"),
    (dict(val_loss=[4.6, 4.0, 3.0, 2.0, 1.0, 1.0]), "the validation loss first rose above its start"),
    (dict(train_loss=[4.6, math.nan, 0.01, 0.001, 0.001, 0.001]), "every logged metric is finite"),
])
def test_checks_fail_on_a_run_without_the_phenomenon(make_history, overrides, claim):
    s = chapter.settings("book")
    main = grokking_run(make_history, **overrides)
    with pytest.raises(AssertionError, match=claim):
        chapter.check(chapter.measure(main, [main, main]), s)


def test_checks_fail_when_more_data_does_not_help(make_history):
    main, slower = grokking_run(make_history), grokking_run(make_history, val_acc=[0.0] * 5 + [1.0])
    with pytest.raises(AssertionError, match="the largest training fraction generalised sooner"):
        chapter.check(chapter.measure(main, [main, slower]), chapter.settings("book"))


def test_smoke_asserts_only_the_mechanics(make_history, capsys):
    main = grokking_run(make_history, val_acc=[0.0] * 6)
    s = chapter.settings("smoke")
    assert [c.claim for c in chapter.check(chapter.measure(main, [main]), s)] == [
        "every logged metric is finite", "training accuracy rose above chance (2/p)"]
    assert "only the mechanics" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="rose above chance"):
        chapter.check(chapter.measure(grokking_run(make_history, train_acc=[0.0] * 6), [main]), s)
    assert dataclasses.replace(s, claims=True).claims
