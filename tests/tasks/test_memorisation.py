"""Random labels and the addition + random-label mixture: labels fixed by their seed, symmetric pairs sharing a label,
the mixture's layout, sizes and test set, and the errors."""
import pytest
import torch

from grokutils.tasks import ModularConfig, MultiTaskConfig, RandomLabelConfig
from grokutils.tasks.memorisation import random_labels


def test_random_labels_are_fixed_by_their_seed_and_cover_the_classes():
    a, b = random_labels(13, 0), random_labels(13, 0)
    assert torch.equal(a, b) and a.shape == (169,)
    assert not torch.equal(a, random_labels(13, 1))
    assert a.min() >= 0 and a.max() < 13 and len(a.unique()) > 10


def test_symmetric_pairs_share_a_label_and_asymmetric_ones_need_not():
    table = random_labels(13, 3).view(13, 13)
    assert torch.equal(table, table.T)
    loose = random_labels(13, 3, symmetric=False).view(13, 13)
    assert not torch.equal(loose, loose.T)
    assert torch.equal(torch.triu(loose), torch.triu(table))  # the upper triangle is the draw both keep


def test_random_label_split_keeps_its_labels_whatever_the_split_seed():
    one, other = RandomLabelConfig(p=11, frac_train=0.5, seed=0), RandomLabelConfig(p=11, frac_train=0.5, seed=1)
    labels = random_labels(11, 0)
    for cfg in (one, other):
        s = cfg.build()
        assert torch.equal(s.y_train, labels[s.train_index])
        assert torch.equal(s.x_train[:, 0] * 11 + s.x_train[:, 1], s.train_index)
        assert len(s.y_train) == cfg.n_train == 60 and len(s.y_val) == 121 - 60
    assert cfg.d_vocab == 12 and cfg.n_ctx == 3 and cfg.n_classes == 11


def test_mixture_holds_addition_then_random_labels_told_apart_by_the_operator():
    cfg = MultiTaskConfig(p=11, frac_train=0.4, mem_ratio=2.0, seed=0, label_seed=5)
    s = cfg.build()
    assert (cfg.n_add, cfg.n_mem, cfg.n_train) == (48, 96, 144) and len(s.y_train) == 144
    add, mem = s.x_train[: cfg.n_add], s.x_train[cfg.n_add:]
    assert (add[:, 1] == 11).all() and (mem[:, 1] == 12).all() and (s.x_train[:, 3] == 13).all()
    assert torch.equal(s.y_train[: cfg.n_add], (add[:, 0] + add[:, 2]) % 11)
    labels = random_labels(11, 5)
    assert torch.equal(s.y_train[cfg.n_add:], labels[mem[:, 0] * 11 + mem[:, 2]])
    assert len(set((mem[:, 0] * 11 + mem[:, 2]).tolist())) == 96  # distinct pairs
    assert (s.x_val[:, 1] == 11).all() and torch.equal(s.y_val, (s.x_val[:, 0] + s.x_val[:, 2]) % 11)
    trained = set((add[:, 0] * 11 + add[:, 2]).tolist())
    assert not trained & set((s.x_val[:, 0] * 11 + s.x_val[:, 2]).tolist()) and len(s.y_val) == 121 - 48
    assert cfg.d_vocab == 14 and cfg.n_ctx == 4


def test_mixture_ratio_changes_only_the_random_label_part():
    alone, mixed = (MultiTaskConfig(p=11, frac_train=0.4, mem_ratio=r).build() for r in (0.0, 1.0))
    assert len(alone.y_train) == 48 and len(mixed.y_train) == 96
    assert torch.equal(alone.x_train, mixed.x_train[:48]) and torch.equal(alone.x_val, mixed.x_val)


def test_held_out_from_gives_nested_training_sets_one_test_set():
    big = ModularConfig(p=11, frac_train=0.6, seed=2)
    small = ModularConfig(p=11, frac_train=0.2, seed=2, held_out_from=big.n_train)
    b, s = big.build(), small.build()
    assert torch.equal(s.x_train, b.x_train[: small.n_train]) and torch.equal(s.x_val, b.x_val)
    assert len(ModularConfig(p=11, frac_train=0.2, seed=2).build().y_val) == 121 - small.n_train


@pytest.mark.parametrize("kw, name", [(dict(label_seed=1.5), "label_seed"), (dict(symmetric="yes"), "symmetric"),
                                      (dict(frac_train=1.0), "frac_train"), (dict(p=1), "p")])
def test_random_label_config_errors_name_the_parameter(kw, name):
    with pytest.raises(ValueError, match=name):
        RandomLabelConfig(**kw)


@pytest.mark.parametrize("kw, name", [(dict(mem_ratio=-1.0), "mem_ratio"), (dict(p=11, mem_ratio=4.0), "mem_ratio"),
                                      (dict(frac_train=0.0), "frac_train"), (dict(max_val=0), "max_val"),
                                      (dict(label_seed="a"), "label_seed")])
def test_mixture_config_errors_name_the_parameter(kw, name):
    with pytest.raises(ValueError, match=name):
        MultiTaskConfig(**kw)


def test_held_out_from_must_leave_the_training_set_out():
    with pytest.raises(ValueError, match="held_out_from"):
        ModularConfig(p=11, frac_train=0.5, held_out_from=10)
