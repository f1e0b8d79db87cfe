import pytest
import torch

from grokutils.analysis.phases import (equal_sum_pairs, ideal_accuracy, implied_links, parallelograms, phase,
                                       predicted_accuracy, reached, rqi)
from grokutils.tasks import PairSumConfig


@pytest.mark.parametrize("train, test, expected", [
    (100, 300, "comprehension"), (100, 1100, "comprehension"), (100, 1101, "grokking"), (100, None, "memorisation"),
    (None, None, "confusion"), (None, 500, "comprehension"), (500, 200, "comprehension"),
    (100, 10_000, "memorisation"), (10_000, None, "confusion")])
def test_their_phase_rule(train, test, expected):
    assert phase(train, test, budget=10_000, gap=1_000) == expected


def test_a_level_first_reached_at_the_last_step_counts_as_not_reached():
    assert reached(9_999, 10_000) and not reached(10_000, 10_000) and not reached(None, 10_000)


def test_parallelograms_are_theirs():
    quads = parallelograms(10)
    assert len(quads) == 70
    i, n, j, m = quads.T
    assert bool((i + n == j + m).all()) and bool((i < j).all()) and bool((j <= m).all()) and bool((m < n).all())
    assert len(parallelograms(4)) == 3  # 0 + 2 = 1 + 1, 0 + 3 = 1 + 2 and 1 + 3 = 2 + 2


def test_rqi_is_one_for_a_line_and_low_for_a_scrambled_line():
    line = torch.arange(10.0)[:, None]
    assert float(rqi(line)) == 1.0
    assert float(rqi(3.0 * line - 7.0)) == 1.0  # normalised: scale and shift do not matter
    scrambled = line[torch.tensor([3, 7, 0, 9, 1, 5, 8, 2, 6, 4])]
    assert float(rqi(scrambled)) < 0.2
    steps = torch.stack([scrambled, line])  # leading axes: one index per step
    assert rqi(steps).tolist() == [float(rqi(scrambled)), 1.0]


def test_equal_sum_pairs_and_their_count():
    pairs = PairSumConfig().pairs()
    links = equal_sum_pairs(pairs)
    assert all(int(pairs[s].sum()) == int(pairs[t].sum()) and s < t for s, t in links)
    # sums 0..18 have 1,1,2,2,3,3,4,4,5,5,5,4,4,3,3,2,2,1,1 pairs: C(k, 2) links each
    assert len(links) == sum(k * (k - 1) // 2 for k in (1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1))


def test_ideal_accuracy_from_the_training_set_alone():
    task = PairSumConfig()
    pairs = task.pairs()
    everything = torch.arange(55)
    assert ideal_accuracy(pairs, everything[:-1], 10)[0] >= 54 / 55
    lonely = torch.tensor([s for s in range(55) if pairs[s].tolist() not in ([0, 0], [9, 9])])
    total, test = ideal_accuracy(pairs, lonely[:45], 10)
    assert test < 1  # 0 + 0 and 9 + 9 have no other pair with their sum: nothing implies them
    few = torch.tensor([0, 1])  # 0 + 0 and 0 + 1: no two training pairs share a sum
    assert implied_links(pairs, set(few.tolist()), 10) == []
    assert ideal_accuracy(pairs, few, 10) == (2 / 55, 0.0)


def test_predicted_accuracy_from_a_learned_representation():
    task = PairSumConfig(seed=3)
    pairs, train = task.pairs(), task.train_index()
    trained = set(train.tolist())
    line = torch.arange(10.0)[:, None]  # closes every parallelogram: a test pair is right if a trained one has its sum
    right = [s for s in range(55) if s in trained or any(int(pairs[t].sum()) == int(pairs[s].sum()) for t in trained)]
    total, test = predicted_accuracy(pairs, train, line)
    assert total == pytest.approx(len(right) / 55) and test == pytest.approx((len(right) - 45) / 10)
    scrambled = line[torch.tensor([3, 7, 0, 9, 1, 5, 8, 2, 6, 4])]
    assert predicted_accuracy(pairs, train, scrambled)[1] < test
