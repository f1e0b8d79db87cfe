"""The share of held-out pairs whose mirror image was trained."""
import torch

from grokutils.analysis.symmetry import mirror_share
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
