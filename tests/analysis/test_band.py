"""The comprehension-band analysis: cells, the best batch size per N, the band's slope, spreads."""
import math

import pytest

from grokutils.analysis import band


def cell(n, b, train, val):
    return band.Cell(p=0, n_train=n, batch_size=b, train_steps=tuple(train), val_steps=tuple(val))


def test_cell_delay_averages_the_runs_that_reached_both():
    c = cell(1000, 10, [100, 200, None], [300, 600, 50])
    assert c.reached == [0, 1] and c.delay_steps == 300 and c.delay_epochs == pytest.approx(3.0)
    assert c.train_step == 150 and c.val_step == 450 and c.ratio == 100
    assert cell(1000, 10, [100], [None]).delay_steps is None and cell(1000, 10, [100], [None]).delay_epochs is None


def test_best_batches_and_slope_follow_a_diagonal():
    cells = [cell(n, b, [10], [10 + (5 if n // b == 100 else 500)]) for n in (1000, 4000, 16000) for b in (10, 40, 160)]
    best = band.best_batches(cells)
    assert [c.batch_size for c in best.values()] == [10, 40, 160]
    assert band.band_slope(cells).slope == pytest.approx(1.0)
    assert band.band_slope(cells[:3]) is None, "one value of N: no slope"


def test_spreads_medians_and_the_band_split():
    assert band.log_spread([1, 10, 100, 1000, 10000]) == pytest.approx(2.0)
    assert band.log_spread([5]) is None and band.median([]) is None and band.median([3, 1, 2]) == 2
    cells = [cell(1000, 2, [1], [11]), cell(1000, 1, [1], [3]), cell(1000, 100, [1], [None])]
    assert band.delays_by_band(cells, 100, 800) == ([10], [2])
    assert math.isclose(band.median([1, 2, 3, 4]), 2.5)
