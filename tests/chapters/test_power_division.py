import pytest

from grokutils.presets import power_division


def test_power_book_profile_is_the_measured_setting():
    s = power_division.settings("book")
    assert (s.main.task.op, s.main.task.p, s.main.task.frac_train) == ("div", 97, 0.3)
    assert (s.main.model.n_layers, s.main.model.d_model, s.main.model.n_heads) == (2, 128, 4)
    t = s.main.train
    assert (t.optimizer, t.lr, t.weight_decay, t.betas, t.warmup_steps, t.batch_size) == ("adamw", 1e-3, 1.0, (0.9, 0.98), 10, 512)
    assert s.sweep[0] is s.main and s.fractions == (0.3, 0.4, 0.5, 0.6, 0.8)
    assert all(c.train.stop_at_val_acc == 0.99 for c in s.sweep[1:]) and s.min_delay_ratio == 10.0


def test_power_paper_profile_is_figure_1_recipe():
    s = power_division.settings("paper")
    t = s.main.train
    assert (t.optimizer, t.weight_decay, t.steps, s.main.task.frac_train) == ("adam", 0.0, 1_000_000, 0.5)


def test_power_overrides_and_errors():
    s = power_division.settings("smoke", op="add", p=13, frac_train=0.6, steps=7, seed=3)
    assert (s.main.task.op, s.main.task.p, s.main.train.steps, s.main.model.seed) == ("add", 13, 7, 3)
    assert s.main.train.batch_size == min(512, s.main.task.n_train // 2) and s.min_delay_ratio is None
    with pytest.raises(ValueError, match="op='pow'"):
        power_division.settings("smoke", op="pow")
    with pytest.raises(ValueError, match="profile='quick'"):
        power_division.settings("quick")
