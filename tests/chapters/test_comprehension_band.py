"""The comprehension-band chapter (grokutils.chapters.comprehension_band): settings, errors, measure and the Checks."""
import dataclasses

import pytest

from grokutils import book
from grokutils.book import DOES_NOT_HOLD, HOLDS, NOT_TESTED, UNDECIDED
from grokutils.chapters import comprehension_band as chapter
from grokutils.sweep import check_batchable

STEPS = list(range(0, 2001, 10))
FALLING = [5.0 - s / 1000 for s in STEPS]


def test_book_grid_spans_the_band():
    s = chapter.settings("book")
    assert s.claims and len(s.primes) >= 5 and len(s.batch_sizes) >= 6 and len(s.variants) >= 2
    ratios = [chapter.n_train(p) / b for p, b in s.grid]
    assert min(ratios) <= 12 and max(ratios) >= 2500, "N/B spans about 10 to about 3,000"
    assert s.mode == "workers"
    for (p, b), runs in s.grid.items():
        assert b <= chapter.n_train(p) and len(runs) == len(s.variants)
        check_batchable(list(runs))  # a cell trains as one batched model
        for run, (scale, wd) in zip(runs, s.variants):
            assert (run.task.op, run.task.p, run.task.frac_train, run.train.batch_size) == ("div", p, 0.3, b)
            assert (run.model.init_scale, run.train.weight_decay, run.train.stop_at_val_acc) == (scale, wd, 0.95)
            assert run.model.n_layers == 2 and run.model.n_heads == 4 and run.train.optimizer == "adamw"
    assert [r.model.seed for r in next(iter(s.grid.values()))] == list(range(len(s.variants)))


def test_examples_are_at_the_largest_n_inside_and_outside_the_band():
    s = chapter.settings("book")
    largest = max(s.primes)
    inside, outside = s.examples["in band"], s.examples["outside"]
    assert inside.task.p == outside.task.p == largest
    ratio = lambda cfg: cfg.task.n_train / cfg.train.batch_size  # noqa: E731
    assert 100 <= ratio(inside) <= 800 and not 100 <= ratio(outside) <= 800
    every = [run for cell in s.grid.values() for run in cell]
    assert inside in every and outside in every


def test_paper_profile_is_the_posters_budget():
    s = chapter.settings("paper")
    run = next(iter(s.grid.values()))[0]
    assert run.train.steps == 100_000 and len(s.variants) == 10 and run.model.d_model == 128


@pytest.mark.parametrize("kwargs, match", [
    (dict(profile="fast"), "profile='fast'"),
    (dict(seed=-1), "seed=-1"),
    (dict(seed=1.5), "seed=1.5"),
    (dict(device="tpu"), "device"),
])
def test_bad_parameters_fail_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chapter.settings(**{"profile": "smoke", **kwargs})


def test_run_all_returns_each_cells_runs_in_order():
    s = chapter.settings("smoke")
    asked = []
    got = book.run_all(s, lambda cfgs, mode, device: asked.extend(cfgs) or [f"h{i}" for i in range(len(cfgs))])
    assert asked == [run for cell in s.grid.values() for run in cell] and list(got) == list(s.grid)
    assert [h for runs in got.values() for h in runs] == [f"h{i}" for i in range(len(asked))]


def run(make_history, train95: int | None, val95: int | None):
    """A history whose training and validation accuracy jump to 1 at the given steps (None: never)."""
    up = lambda at: [0.0 if at is None or s < at else 1.0 for s in STEPS]  # noqa: E731
    return make_history(STEPS, train_acc=up(train95), val_acc=up(val95), train_loss=FALLING)


def grid(make_history, s, delay_of):
    """Histories for every cell of ``s``: training reaches 95% at step 100 or 120, validation ``delay_of(N/B)`` later."""
    out = {}
    for (p, b), runs in s.grid.items():
        ratio = chapter.n_train(p) / b
        out[p, b] = [run(make_history, 100 + 20 * i, None if delay_of(ratio) is None else 100 + 20 * i + delay_of(ratio))
                     for i in range(len(runs))]
    return out


def claiming():
    # The smoke grid's N/B run from 1.5 to 16.5: a band of (4, 10) puts some of its cells inside. It has two primes,
    # so a slope is fitted on two training-set sizes (min_cells_compared=2; the profiles ask for 3).
    return dataclasses.replace(chapter.settings("smoke"), claims=True, band=(4.0, 10.0), min_cells_compared=2)


def verdicts_of(results, s) -> dict[str, str]:
    return {v.finding.name: v.verdict for v in chapter.judged(results, s)}


def test_checks_pass_on_a_grid_with_a_diagonal_band(make_history, capsys):
    s = claiming()
    results = chapter.measure(grid(make_history, s, lambda r: 50 if 4 <= r <= 10 else 1500), s)
    assert 0.5 <= results["band_slope"] <= 1.5 and results["cells_reached"] == 1.0
    assert results["median_delay_in_band"] == 50 and results["median_delay_outside"] == 1500
    assert set(verdicts_of(results, s).values()) == {HOLDS}
    chapter.check(results, s)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("delay_of, finding, verdict", [
    (lambda r: 400, "diagonal_band", DOES_NOT_HOLD),                 # every cell waits as long: B* ties at the smallest B
    (lambda r: 400, "band_shortest", DOES_NOT_HOLD),
    (lambda r: 100 if r > 10 else 1500, "band_shortest", DOES_NOT_HOLD),  # the short delays sit outside the band
    (lambda r: None, "most_cells_reach", DOES_NOT_HOLD),              # everything fits, nothing generalises
])
def test_checks_fail_on_grids_without_the_band(make_history, delay_of, finding, verdict):
    s = claiming()
    results = chapter.measure(grid(make_history, s, delay_of), s)
    assert verdicts_of(results, s)[finding] in (verdict, UNDECIDED)
    with pytest.raises(AssertionError, match="failed checks"):
        chapter.check(results, s)


def test_checks_fail_when_training_waits_as_long_as_validation(make_history):
    s = claiming()
    histories = {}
    for (p, b), runs in s.grid.items():
        ratio = chapter.n_train(p) / b
        fit = 50 if 4 <= ratio <= 10 else 1000  # training itself is late outside the band
        histories[p, b] = [run(make_history, fit, fit + 20) for _ in runs]
    results = chapter.measure(histories, s)
    assert verdicts_of(results, s)["validation_waits"] == DOES_NOT_HOLD
    with pytest.raises(AssertionError, match="spread"):
        chapter.check(results, s)


def test_nothing_learning_tests_nothing_and_fails_the_book_verdicts(make_history):
    # Issue 27: a grid in which no run learns (accuracy flat at 1%, the loss falling by 0.001) passed the negated
    # findings. Now every finding is "not tested" (no run fitted), so the book's declared verdicts fail.
    s = dataclasses.replace(claiming(), findings=chapter.BOOK_FINDINGS)
    flat = [0.01] * len(STEPS)
    histories = {cell: [make_history(STEPS, train_acc=flat, val_acc=flat, train_loss=[4.6 - 0.001 * (k > 0)
                                                                                        for k in range(len(STEPS))])
                        for _ in runs] for cell, runs in s.grid.items()}
    results = chapter.measure(histories, s)
    assert set(verdicts_of(results, s).values()) == {NOT_TESTED}
    with pytest.raises(AssertionError, match="not tested at this profile"):
        chapter.check(results, s)


def test_smoke_asserts_only_the_mechanics(make_history, capsys):
    s = chapter.settings("smoke")
    chapter.check(chapter.measure(grid(make_history, s, lambda r: None), s), s)
    assert "asserts only the mechanics" in capsys.readouterr().out


def test_book_verdicts_fail_on_a_grid_that_shows_the_poster_s(make_history):
    s = dataclasses.replace(claiming(), findings=chapter.BOOK_FINDINGS)
    results = chapter.measure(grid(make_history, s, lambda r: 50 if 4 <= r <= 10 else 1500), s)
    with pytest.raises(AssertionError) as err:
        chapter.check(results, s)
    assert str(err.value).count("(declared:") == len(chapter.FINDINGS)


def test_the_band_is_not_tested_where_its_runs_never_fit(make_history):
    s = claiming()
    histories = {}
    for k, ((p, b), runs) in enumerate(s.grid.items()):
        if 4 <= chapter.n_train(p) / b <= 10:  # the band's cells do not even fit: training accuracy stalls at 50%
            histories[p, b] = [make_history(STEPS, train_acc=[0.0] + [0.5] * (len(STEPS) - 1), train_loss=FALLING)
                               for _ in runs]
        else:  # the others fit late or early, and validation follows 20 steps later
            histories[p, b] = [run(make_history, 100 + 400 * k, 120 + 400 * k) for _ in runs]
    verdict = {v.finding.name: v for v in chapter.judged(chapter.measure(histories, s), s)}["band_shortest"]
    assert verdict.verdict == NOT_TESTED and "0% of the runs in the band's cells fitted" in verdict.text


def test_checks_fail_where_a_run_s_training_loss_did_not_fall(make_history):
    s = chapter.settings("smoke")
    histories = grid(make_history, s, lambda r: None)
    first = next(iter(histories))
    histories[first][0] = make_history(STEPS, train_loss=[4.0] * len(STEPS))
    with pytest.raises(AssertionError, match="training loss ended below"):
        chapter.check(chapter.measure(histories, s), s)


def test_one_reached_cell_inside_the_band_is_too_few_to_compare(make_history):
    # Only the first in-band cell reaches both, with a delay of 0 (the two crossings in one logging interval): the
    # median comparison needs min_cells_compared cells on each side, so the finding is not tested.
    s = claiming()
    in_band = [cell for cell in s.grid if 4 <= chapter.n_train(cell[0]) / cell[1] <= 10]
    histories = grid(make_history, s, lambda r: None if 4 <= r <= 10 else 1500)
    histories[in_band[0]] = [run(make_history, 2000, 2000) for _ in s.grid[in_band[0]]]
    results = chapter.measure(histories, s)
    assert results["n_in_band"] == 1 and results["median_delay_in_band"] == 0 < results["median_delay_outside"]
    assert verdicts_of(results, s)["band_shortest"] == NOT_TESTED


def test_a_turned_budget_declares_nothing():
    assert chapter.settings("book").findings == chapter.BOOK_FINDINGS
    s = chapter.settings("book", steps=30_000)
    assert s.findings is None and all(r.train.steps == 30_000 for cell in s.grid.values() for r in cell)
    assert chapter.settings("book", steps=4000).findings == chapter.BOOK_FINDINGS  # the profile's own value
