"""Zones, memorised counts and critical sizes read off runs (grokutils.analysis.competition)."""
import pytest

from grokutils.analysis.competition import Zones, accuracy_near, classify, critical_size, delay, memorised

STEPS = [0, 10, 100, 200, 400, 1000, 2000]


@pytest.mark.parametrize("train, val, zone", [
    ([0, .5, .99, 1, 1, 1, 1], [0, .3, .95, 1, 1, 1, 1], "progression"),  # fits at 100, generalises at 100
    ([0, .5, .99, 1, 1, 1, 1], [0, 0, .05, .1, .5, .95, 1], "grokking"),  # fits at 100, generalises at 1000
    ([0, .5, .99, 1, 1, 1, 1], [0, 0, .05, .1, .3, .5, .6], "semi-grokking"),
    ([0, .5, .99, 1, 1, 1, 1], [0, 0, .05, .1, .1, .1, .1], "memorisation"),
    ([0, .1, .2, .3, .4, .5, .6], [0, 0, 0, .1, .1, .1, .1], "underfitting"),
    ([0, .5, .99, 1, 1, 1, 1], [0, .3, .95, 1, 1, .9, .5], "semi-grokking"),  # generalised, then lost it: its end counts
])
def test_classify_names_each_zone_by_its_thresholds(make_history, train, val, zone):
    assert classify(make_history(STEPS, train_acc=train, val_acc=val)) == zone


def test_the_delay_factor_separates_progression_from_grokking(make_history):
    h = make_history(STEPS, train_acc=[0, .5, .99, 1, 1, 1, 1], val_acc=[0, 0, .5, .95, 1, 1, 1])
    assert delay(h) == 100
    assert classify(h, Zones(delay_factor=2)) == "progression" and classify(h, Zones(delay_factor=1.5)) == "grokking"


def test_memorised_counts_the_training_examples_right_at_the_end(make_history, tiny_run):
    cfg = tiny_run()
    h = make_history([0, 10], config=cfg, train_acc=[0.1, 0.5])
    assert memorised(h) == round(0.5 * cfg.task.n_train)


def test_critical_size_is_the_smallest_from_which_all_larger_reach_the_level():
    assert critical_size({300: .1, 400: .95, 500: .5, 600: .99, 700: 1.0}, 0.9) == 600
    assert critical_size({300: .1, 400: .95}, 0.9) == 400
    assert critical_size({300: .95, 400: .5}, 0.9) is None


def test_zone_thresholds_are_checked():
    with pytest.raises(ValueError, match="floor_acc"):
        Zones(floor_acc=0.95)


@pytest.mark.parametrize("step, expected", [(0, 0.0), (90, 0.2), (150, 0.2), (151, 0.4), (5000, 0.9)])
def test_accuracy_near_reads_the_logged_step_nearest_to_a_shorter_budget(make_history, step, expected):
    # logged 0, 10, 100, 200, 400, 1000, 2000; 150 lies halfway between 100 and 200 and reads the earlier one; a budget
    # past the run's end (a run that stopped) reads its last value
    h = make_history(STEPS, train_acc=[1] * 7, val_acc=[0, .1, .2, .4, .6, .8, .9])
    assert accuracy_near(h, step) == pytest.approx(expected)
