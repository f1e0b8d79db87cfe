"""Speed comparisons (``analysis.speed``): unreached runs at the budget, the best setting, the speed-up's interval."""
import math

import pytest

from grokutils.analysis import speed


def test_unreached_runs_count_at_the_budget_and_as_infinite_in_tuning():
    assert speed.steps_or_budget([100, None, 300], 1000) == [100.0, 1000.0, 300.0]
    assert speed.median_steps([100, 300]) == 200 and speed.median_steps([100, None]) == math.inf
    assert speed.median_steps([100, None, 200]) == 200


def test_the_best_setting_has_the_fewest_median_steps_ties_to_the_first():
    assert speed.best_setting({"a": 300.0, "b": 200.0, "c": 200.0}) == "b"
    assert speed.best_setting({"a": math.inf, "b": math.inf}) == "a"


def test_speed_up_is_the_ratio_of_medians_with_an_interval_that_contains_it():
    up = speed.speed_up([1000, 1100, 900, 1000, 1200], [100, 110, 90, 100, 120], budget=5000)
    assert up.ratio == pytest.approx(10.0) and up.low <= 10.0 <= up.high and up.low > 7
    assert not up.at_least and not up.at_most
    again = speed.speed_up([1000, 1100, 900, 1000, 1200], [100, 110, 90, 100, 120], budget=5000)
    assert (again.low, again.high) == (up.low, up.high)  # the same data give the same interval


def test_speed_up_marks_bounds_where_a_side_never_reached():
    up = speed.speed_up([5000, 5000, 5000], [1000, 1200, 800], budget=5000)
    assert up.at_least and not up.at_most and up.ratio == pytest.approx(5.0)
    down = speed.speed_up([1000, 1200, 800], [5000, 5000, 5000], budget=5000)
    assert down.at_most and not down.at_least
    with pytest.raises(ValueError, match="at least one run"):
        speed.speed_up([], [1.0], budget=10)


def test_clears_is_positive_above_negative_below_zero_across_the_threshold():
    assert speed.clears(speed.SpeedUp(3.0, 2.5, 4.0), 1.25) == pytest.approx(math.log(2.5 / 1.25))
    assert speed.clears(speed.SpeedUp(0.9, 0.8, 1.0), 1.25) == pytest.approx(math.log(1.0 / 1.25))
    assert speed.clears(speed.SpeedUp(1.3, 1.0, 1.6), 1.25) == 0.0


def test_a_speed_up_in_seconds_scales_by_the_cost_ratio_and_its_range():
    up = speed.SpeedUp(2.0, 1.5, 3.0, at_least=True).scaled(0.5, 0.4, 0.6)
    assert (up.ratio, up.low, up.high, up.at_least) == (1.0, pytest.approx(0.6), pytest.approx(1.8), True)


def test_cost_ratios_pair_each_round(make_history):
    rounds = [{"a": 1.0, "b": 2.0}, {"a": 2.0, "b": 2.0}, {"a": 1.0, "b": 4.0}]
    assert speed.cost_ratios(rounds, "a") == {"a": (1.0, 1.0, 1.0), "b": (0.5, 0.25, 1.0)}


def test_median_delay_ratio_reads_when_each_run_fit_and_generalised(make_history):
    steps = [0, 10, 100, 1000]
    a = make_history(steps, train_acc=[0, 1, 1, 1], val_acc=[0, 0, 0, 1])
    b = make_history(steps, train_acc=[0, 0, 1, 1], val_acc=[0, 0, 1, 1])
    never = make_history(steps, train_acc=[0, 1, 1, 1], val_acc=[0, 0, 0, 0])
    assert speed.median_delay_ratio([a, b, never], 0.95) == pytest.approx((100 + 1) / 2)
    assert speed.median_delay_ratio([never], 0.95) is None
