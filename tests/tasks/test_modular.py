import pytest
import torch

from grokutils.tasks.modular import ModularConfig, is_prime, modular_equations, tokenize


def test_is_prime():
    assert [n for n in range(20) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19]


@pytest.mark.parametrize("op,count", [("add", 97 * 97), ("sub", 97 * 97), ("mul", 97 * 97), ("div", 9312)])
def test_equation_counts(op, count):
    a, b, c = modular_equations(op, 97)
    assert len(a) == len(b) == len(c) == count == ModularConfig(op=op, p=97).n_equations


def test_equations_are_correct():
    p = 11
    for op, f in [("add", lambda a, b: (a + b) % p), ("sub", lambda a, b: (a - b) % p),
                  ("mul", lambda a, b: (a * b) % p)]:
        a, b, c = modular_equations(op, p)
        assert all(int(ci) == f(int(ai), int(bi)) for ai, bi, ci in zip(a, b, c))
    a, b, c = modular_equations("div", p)
    assert (b != 0).all()
    assert ((c * b) % p == a).all()  # c = a / b  <=>  c * b = a


def test_split_sizes_disjoint_and_seeded():
    cfg = ModularConfig(op="div", p=23, frac_train=0.4, seed=3)
    s = cfg.build()
    assert len(s.y_train) == cfg.n_train == int(0.4 * 23 * 22)
    assert len(s.y_train) + len(s.y_val) == cfg.n_equations
    train = {tuple(x) for x in s.x_train.tolist()}
    assert train.isdisjoint({tuple(x) for x in s.x_val.tolist()})
    assert torch.equal(cfg.build().x_train, s.x_train)
    assert not torch.equal(ModularConfig(op="div", p=23, frac_train=0.4, seed=4).build().x_train, s.x_train)
    a, b, _ = modular_equations("div", 23)
    assert torch.equal(s.x_train[:, 0], a[s.train_index]) and torch.equal(s.x_train[:, 1], b[s.train_index])


def test_max_val_keeps_a_fixed_sample_of_the_held_out_equations():
    full = ModularConfig(op="div", p=23, frac_train=0.4, seed=3).build()
    small = ModularConfig(op="div", p=23, frac_train=0.4, seed=3, max_val=50).build()
    assert torch.equal(small.x_train, full.x_train) and torch.equal(small.train_index, full.train_index)
    assert len(small.y_val) == 50 and torch.equal(small.x_val, full.x_val[:50]) and torch.equal(small.y_val, full.y_val[:50])
    everything = ModularConfig(op="div", p=23, frac_train=0.4, max_val=10_000)
    assert len(everything.build().y_val) == everything.n_equations - everything.n_train


def test_token_layouts():
    a, b = torch.tensor([3]), torch.tensor([5])
    nanda = ModularConfig(p=113)
    power = ModularConfig(op="div", p=97, with_op_token=True)
    assert tokenize(nanda, a, b).tolist() == [[3, 5, 113]] and nanda.n_ctx == 3 and nanda.d_vocab == 114
    assert tokenize(power, a, b).tolist() == [[3, 97, 5, 98]] and power.n_ctx == 4 and power.d_vocab == 99


@pytest.mark.parametrize("kwargs,match", [
    (dict(op="pow"), "op='pow'.*allowed values"),
    (dict(op="div", p=96), "p=96 must be prime"),
    (dict(frac_train=1.0), "frac_train=1.0"),
    (dict(frac_train=0), "frac_train=0"),
    (dict(p=1), "p=1"),
    (dict(p=13.0), "p=13.0 must be an integer"),
    (dict(frac_train=float("nan")), "frac_train=nan"),
    (dict(p=7, frac_train=0.01), r"frac_train=0.01 gives 0 of 49 equations for training"),
    (dict(seed="abc"), "seed='abc'"),
    (dict(max_val=0), r"max_val=0 must be an integer in \[1, inf\] or None"),
    (dict(max_val=10.0), "max_val=10.0 must be an integer"),
])
def test_bad_config_raises_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModularConfig(**kwargs)


def test_build_puts_tensors_on_device():
    s = ModularConfig(p=7, frac_train=0.5).build("cpu")
    assert s.x_train.device.type == "cpu" and s.x_train.dtype == torch.long


def test_eos_framing_follows_openai_grok():
    cfg = ModularConfig(op="div", p=7, frac_train=0.5, with_op_token=True, with_eos=True)
    assert (cfg.d_vocab, cfg.n_ctx, cfg.n_targets) == (10, 6, 2)
    split = cfg.build()
    eos, op, eq = 8, 7, 9
    x, y = split.x_train, split.y_train
    assert y.shape == (cfg.n_train, 2) and (y[:, 1] == eos).all()
    assert (x[:, 0] == eos).all() and (x[:, 2] == op).all() and (x[:, 4] == eq).all()
    assert torch.equal(x[:, 5], y[:, 0])  # c is read at "=" and fed back as the next input
    assert ((x[:, 3] * y[:, 0]) % 7 == x[:, 1]).all()  # a / b = c


def test_eos_framing_needs_the_operator_token():
    with pytest.raises(ValueError, match="with_op_token"):
        ModularConfig(op="add", p=7, with_eos=True)


POWER_FORMULAS = {"x^2+y^2": lambda x, y: x**2 + y**2, "x^2+xy+y^2": lambda x, y: x**2 + x * y + y**2,
                  "x^2+xy+y^2+x": lambda x, y: x**2 + x * y + y**2 + x, "x^3+xy": lambda x, y: x**3 + x * y,
                  "x^3+xy^2+y": lambda x, y: x**3 + x * y**2 + y}


@pytest.mark.parametrize("op", sorted(POWER_FORMULAS))
def test_power_polynomials_cover_every_pair_and_are_correct(op):
    p = 13
    a, b, c = modular_equations(op, p)
    assert len(a) == p * p == ModularConfig(op=op, p=p).n_equations
    assert all(int(ci) == POWER_FORMULAS[op](int(x), int(y)) % p for x, y, ci in zip(a, b, c))


def test_div_or_sub_divides_for_odd_y_and_subtracts_for_even_y_including_zero():
    p = 11
    a, b, c = modular_equations("div_or_sub", p)
    assert len(a) == p * p  # y = 0 is even, so kept (openai/grok's mix1)
    odd = b % 2 == 1
    assert ((c[odd] * b[odd]) % p == a[odd]).all()
    assert (c[~odd] == (a[~odd] - b[~odd]) % p).all()
    with pytest.raises(ValueError, match="prime"):
        ModularConfig(op="div_or_sub", p=12)


def test_unknown_operation_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="x\\^3\\+xy\\^2\\+y"):
        ModularConfig(op="x^4")
