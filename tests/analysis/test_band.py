"""The comprehension-band analysis: cells, censored delays, the best batch size per N, the slope, spreads."""
import math

import pytest

from grokutils.analysis import band


def cell(n, b, train, val, last=()):
    return band.Cell(p=0, n_train=n, batch_size=b, train_steps=tuple(train), val_steps=tuple(val), last_steps=tuple(last))


def test_a_cell_s_delay_is_the_median_over_the_runs_that_fitted_with_the_late_ones_longer_than_any():
    c = cell(1000, 10, [100, 200, None], [300, 600, 50])
    assert c.reached == [0, 1] and c.delay_steps == 300 and c.delay_epochs == pytest.approx(3.0)
    assert c.train_step == 150 and c.val_step == 450 and c.ratio == 100
    assert c.fitted_share == pytest.approx(2 / 3) and c.reached_share == pytest.approx(2 / 3)
    late = cell(1000, 10, [100, 100, 100], [200, None, None], last=[200, 5000, 5000])
    assert late.run_delays == (100, math.inf, math.inf) and late.delay_steps == math.inf, "not the survivor's 100"
    assert late.waits == (None, 4900, 4900) and late.delay_epochs == math.inf
    assert cell(1000, 10, [100], [None]).waits == (None,), "last steps unknown: no wait to tell"
    assert cell(1000, 10, [None], [None]).delay_steps is None and cell(1000, 10, [None], [None]).delay_epochs is None
    assert cell(1000, 10, [100, 100], [150, None]).delay_steps == math.inf, "a mean with a late run is late"


def test_best_batches_and_slope_follow_a_diagonal():
    cells = [cell(n, b, [10], [10 + (5 if n // b == 100 else 500)]) for n in (1000, 4000, 16000) for b in (10, 40, 160)]
    best = band.best_batches(cells)
    assert [c.batch_size for c in best.values()] == [10, 40, 160]
    assert band.band_slope(cells).slope == pytest.approx(1.0)
    assert band.band_slope(cells[:3]) is None, "one value of N: no slope"


def test_a_single_run_crossing_both_at_once_or_a_late_cell_is_no_b_star():
    lone_zero = cell(1000, 10, [900, None], [900, None])
    assert not lone_zero.carries_best and not cell(1000, 40, [10, 10], [None, None], [99, 99]).carries_best
    assert cell(1000, 40, [900, 900], [900, 900]).carries_best, "two runs at delay 0 are a delay of 0"
    best = band.best_batches([lone_zero, cell(1000, 40, [10, 10], [400, 600])])
    assert [c.batch_size for c in best.values()] == [40]


def test_medians_spreads_and_the_comparison_at_each_n():
    assert band.log_spread([1, 10, 100, 1000, 10000]) == pytest.approx(2.0)
    assert band.log_spread([5]) is None and band.median([]) is None and band.median([3, 1, 2]) == 2
    assert math.isclose(band.median([1, 2, 3, 4]), 2.5) and band.median([1, math.inf]) == math.inf
    cells = [cell(1000, 2, [1, 1], [11, None], [11, 99]), cell(1000, 5, [1, None], [3, None]),
             cell(1000, 100, [1, 1], [None, 7]), cell(4000, 10, [1], [2])]
    [at_1000] = band.compare_at_each_n(cells, 100, 800)  # N = 4,000 has no cell outside the band
    assert (at_1000.n_train, at_1000.inside, at_1000.inside_fitted) == (1000, 2, 0.75), "the shorter band cell; 3 of 4"
    assert (at_1000.outside, at_1000.n_inside, at_1000.n_outside) == (math.inf, 2, 1), "outside: one of two never did"
