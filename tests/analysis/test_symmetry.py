"""The share of held-out pairs whose mirror image was trained."""
import pytest
import torch

from grokutils.analysis.symmetry import accuracy_by_class, held_out_correct, mirror_classes, mirror_share, pooled_accuracy
from grokutils.tasks import ModularConfig, Split


def test_mirror_share_counts_held_out_pairs_whose_swap_is_trained():
    eq = torch.tensor([3])
    train = torch.tensor([[0, 1], [2, 0], [1, 1]])
    val = torch.tensor([[1, 0], [0, 2], [1, 2], [2, 2]])  # (1,0) and (0,2) mirror trained pairs; (1,2) not; (2,2) is its own
    split = Split(torch.cat([train, eq.expand(3, 1)], 1), torch.zeros(3), torch.cat([val, eq.expand(4, 1)], 1), torch.zeros(4))
    assert mirror_share(split) == 0.5


def test_mirror_share_of_a_random_split_is_close_to_the_training_fraction():
    for f in (0.3, 0.75):
        share = mirror_share(ModularConfig(p=31, frac_train=f, seed=1).build())
        assert abs(share - f * 30 / 31) < 0.05  # diagonal pairs (1/p of them) have no distinct mirror


def test_in_a_multi_task_set_only_addition_rows_count_as_mirrors():
    # [a, op, b, =]: op 5 is addition, 6 the random-label task. (1, 0) is held out; its mirror (0, 1) is trained as a
    # random-label row only, so commutativity of addition cannot answer it; (2, 0)'s mirror is an addition row.
    train = torch.tensor([[0, 6, 1, 7], [0, 5, 2, 7], [1, 5, 1, 7]])
    val = torch.tensor([[1, 5, 0, 7], [2, 5, 0, 7]])
    split = Split(train, torch.zeros(3), val, torch.zeros(2))
    assert mirror_share(split, operands=(0, 2)) == 0.5
    with_labels = Split(torch.cat([train, torch.tensor([[0, 5, 1, 7]])]), torch.zeros(4), val, torch.zeros(2))
    assert mirror_share(with_labels, operands=(0, 2)) == 1.0


def _split(train, y_train, val, y_val):
    eq = torch.tensor([9])
    return Split(torch.cat([torch.tensor(train), eq.expand(len(train), 1)], 1), torch.tensor(y_train),
                 torch.cat([torch.tensor(val), eq.expand(len(val), 1)], 1), torch.tensor(y_val))


def test_mirror_classes_tell_commuting_mirrors_from_the_others():
    # (1,0): mirror (0,1) trained with the same answer; (2,0): mirror (0,2) trained with another; (1,2): no mirror;
    # (2,2): the diagonal has no distinct mirror
    split = _split([[0, 1], [0, 2], [1, 1]], [5, 6, 7], [[1, 0], [2, 0], [1, 2], [2, 2]], [5, 3, 4, 4])
    assert mirror_classes(split).tolist() == [0, 1, 2, 2]


def test_accuracy_by_class_reads_each_kind_alone():
    classes = torch.tensor([0, 0, 1, 2, 2])
    got = accuracy_by_class(torch.tensor([True, False, True, False, False]), classes)
    assert got["mirror answers"] == {"count": 2, "share": pytest.approx(0.4), "accuracy": 0.5}
    assert got["mirror differs"]["accuracy"] == 1.0
    assert got["no mirror"]["accuracy"] == 0.0
    assert accuracy_by_class(torch.tensor([True]), torch.tensor([2]))["mirror answers"] == {"count": 0, "share": 0.0,
                                                                                         "accuracy": None}


def test_pooled_accuracy_counts_each_pair_once():
    a = accuracy_by_class(torch.tensor([True, False, True]), torch.tensor([0, 2, 2]))
    b = accuracy_by_class(torch.tensor([False] * 7), torch.tensor([2] * 7))
    assert pooled_accuracy([a, b], ("no mirror",)) == pytest.approx(1 / 9)
    assert pooled_accuracy([a, b], ("mirror answers",)) == 1.0 and pooled_accuracy([b], ("mirror differs",)) is None


def test_a_commutative_table_has_no_mirror_that_differs_and_s4_has_many():
    from grokutils.tasks import PermutationConfig
    add = mirror_classes(ModularConfig(p=24, frac_train=0.75, seed=0).build())
    s4 = mirror_classes(PermutationConfig(n=4, frac_train=0.75, seed=0).build())
    assert (add == 1).sum() == 0 and (add == 0).float().mean() > 0.6
    assert 0.05 < (s4 == 0).float().mean() < 0.25 and (s4 == 1).float().mean() > 0.5


def test_held_out_correct_reads_the_model_s_answers():
    class Fixed(torch.nn.Module):
        def final_logits(self, x):
            return torch.nn.functional.one_hot(x[:, 0], 10).float()  # answers a
    split = _split([[0, 1]], [0], [[3, 0], [2, 1]], [3, 5])
    assert held_out_correct(Fixed(), split).tolist() == [True, False]
