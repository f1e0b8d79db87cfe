"""S_n products: the group table (closure, identity, inverses, associativity), openai/grok's conventions, the split."""
import itertools

import pytest
import torch

from grokutils.tasks import PermutationConfig
from grokutils.tasks.permutations import compose, inverse, permutation_equations, permutations, token_of


def _table(op="x.y", n=5):
    a, b, c = permutation_equations(op, n)
    size = len(permutations(n))
    return c.view(size, size)


def test_permutations_are_numbered_lexicographically_and_token_of_inverts_the_numbering():
    table = permutations(5)
    assert table.shape == (120, 5) and table[0].tolist() == [0, 1, 2, 3, 4] and table[-1].tolist() == [4, 3, 2, 1, 0]
    assert table.tolist() == [list(t) for t in itertools.permutations(range(5))]
    assert torch.equal(token_of(table, 5), torch.arange(120))


def test_the_product_table_is_a_group_closed_with_identity_and_inverses():
    t = _table()
    assert t.min() >= 0 and t.max() < 120  # closure
    for row in (t, t.T):  # a Latin square: each element once per row and column
        assert (row.sort(1).values == torch.arange(120)).all()
    assert torch.equal(t[0], torch.arange(120)) and torch.equal(t[:, 0], torch.arange(120))  # token 0 is the identity
    inv = token_of(inverse(permutations(5)), 5)
    assert (t[torch.arange(120), inv] == 0).all() and (t[inv, torch.arange(120)] == 0).all()


def test_the_product_is_associative_and_not_commutative():
    t = _table()
    g = torch.Generator().manual_seed(0)
    x, y, z = torch.randint(0, 120, (3, 500), generator=g)
    assert torch.equal(t[t[x, y], z], t[x, t[y, z]])
    assert not torch.equal(t, t.T)


def test_openai_grok_conventions_x_first_then_y_and_the_conjugate_and_xyx():
    perms = permutations(5)
    x, y = perms[17], perms[93]
    xy = compose(x[None], y[None])[0]
    assert xy.tolist() == [int(y[int(i)]) for i in x]  # c = b[a]
    assert _table()[17, 93] == token_of(xy[None], 5)[0]
    conj = compose(xy[None], inverse(x[None]))
    assert _table("x.y.x^-1")[17, 93] == token_of(conj, 5)[0]
    assert (_table("x.y.x^-1")[0] == torch.arange(120)).all()  # conjugating by the identity leaves y
    assert _table("x.y.x")[17, 93] == token_of(compose(xy[None], x[None]), 5)[0]


def test_split_sizes_layouts_and_seed():
    cfg = PermutationConfig(op="x.y", frac_train=0.3, seed=2)
    s = cfg.build()
    assert len(s.y_train) == cfg.n_train == 4320 and len(s.y_train) + len(s.y_val) == cfg.n_equations == 14400
    assert s.x_train.shape == (4320, 3) and int(s.x_train[:, 2].unique()) == cfg.d_vocab - 1 == 120
    assert cfg.n_classes == 120 and torch.equal(PermutationConfig(op="x.y", frac_train=0.3, seed=2).build().y_train, s.y_train)
    grok = PermutationConfig(frac_train=0.3, with_op_token=True, with_eos=True).build()
    assert grok.x_train.shape[1] == 6 and grok.y_train.shape[1] == 2 and (grok.y_train[:, 1] == 121).all()


@pytest.mark.parametrize("kwargs, match", [(dict(op="x.x"), "op"), (dict(n=7), "n"), (dict(frac_train=1.0), "frac_train"),
                                           (dict(with_eos=True), "with_eos")])
def test_bad_config_raises_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PermutationConfig(**kwargs)
