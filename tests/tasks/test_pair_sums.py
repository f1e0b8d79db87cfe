import numpy as np
import pytest
import torch

from grokutils.tasks import PairSumConfig


def test_the_table_is_every_unordered_pair_with_its_sum():
    task = PairSumConfig()
    pairs = task.pairs()
    assert pairs.shape == (55, 2) and task.n_pairs == 55 and task.n_classes == 19
    assert bool((pairs[:, 0] <= pairs[:, 1]).all())
    assert len({tuple(x) for x in pairs.tolist()}) == 55
    split = task.build()
    assert split.x_train.shape == (45, 2) and split.x_val.shape == (10, 2)
    assert torch.equal(split.y_train, split.x_train.sum(1)) and torch.equal(split.y_val, split.x_val.sum(1))
    seen = {tuple(x) for x in split.x_train.tolist()} | {tuple(x) for x in split.x_val.tolist()}
    assert len(seen) == 55


def test_the_split_is_drawn_as_their_one_numpy_stream_draws_it():
    """Their code: np.random.seed(seed); templates = normal(0, 1, (2p - 1, 30)); train_id = choice(55, 45)."""
    np.random.seed(58)
    np.random.normal(0, 1, size=(19, 30))
    theirs = np.random.choice(55, 45, replace=False)
    task = PairSumConfig(seed=58)
    assert task.train_index().tolist() == theirs.tolist()
    assert torch.equal(task.build().x_train, task.pairs()[torch.from_numpy(theirs)])
    assert PairSumConfig(seed=58, d_template=20).train_index().tolist() != theirs.tolist()


@pytest.mark.parametrize("field, value", [("p", 1), ("n_train", 55), ("n_train", 0), ("seed", -1), ("d_template", 0)])
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        PairSumConfig(**{field: value})
