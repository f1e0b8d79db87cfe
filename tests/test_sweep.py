"""Batched sweeps: the same histories as the runs trained alone, per-run stopping, constraints, checkpoints."""
import dataclasses

import pytest
import torch

from grokutils.bench import RandomImages
from grokutils.config import RunConfig, TrainConfig
from grokutils.models import MLPConfig
from grokutils.step import stacked_norms, update
from grokutils.sweep import Ensemble, check_batchable, train_many
from grokutils.train import train


@pytest.mark.parametrize("batch_size", [None, 16])
def test_batched_runs_equal_the_same_runs_alone(tiny_run, batch_size, same_history):
    cfgs = [tiny_run(steps=25, batch_size=batch_size, seed=s, weight_decay=wd, lr=lr, init_scale=a)
            for s, wd, lr, a in [(0, 1.0, 3e-3, 1.0), (1, 0.1, 1e-3, 2.0), (2, 0.0, 2e-3, 0.5)]]
    together = train_many(cfgs, device="cpu", progress=False)
    for cfg, batched in zip(cfgs, together):
        assert batched.config is cfg
        same_history(batched, train(cfg, device="cpu", progress=False))


def test_each_run_of_a_batch_stops_on_its_own_as_it_would_alone(blobs_run, same_history):
    cfgs = [blobs_run(seed=0, lr=1e-2, stop_at_val_acc=0.6, n_logs=40), blobs_run(seed=1, lr=3e-3, stop_at_val_acc=0.9, n_logs=40),
            blobs_run(seed=2, lr=1e-2, n_logs=40)]
    together = train_many(cfgs, progress=False)
    alone = [train(c, progress=False) for c in cfgs]
    assert len(together[0].steps) < len(together[2].steps)  # the first stopped early, the last ran to the end
    for a, b in zip(together, alone):
        same_history(a, b)


def test_batched_adam_and_mse_mlp_equal_alone(same_history):
    cfgs = [RunConfig(RandomImages(n_train=64, n_features=8, n_classes=3), MLPConfig(widths=(8, 16, 3), seed=s, init_scale=a),
                      TrainConfig(steps=20, batch_size=16, loss="mse", optimizer="adam", weight_decay=wd, lr=1e-2, seed=s))
            for s, a, wd in [(0, 1.0, 0.0), (1, 4.0, 0.01)]]
    for cfg, batched in zip(cfgs, train_many(cfgs, progress=False)):
        same_history(batched, train(cfg, progress=False))


def test_batched_probes_equal_alone(tiny_run, same_history):
    cfgs = [tiny_run(steps=10, seed=s, probes=("weight_norms", "attn_norms", "last_layer_norm")) for s in (0, 1)]
    for cfg, batched in zip(cfgs, train_many(cfgs, progress=False)):
        same_history(batched, train(cfg, progress=False))


def test_norm_constraint_holds_after_every_step_only_where_asked(tiny_run):
    cfgs = [tiny_run(steps=15, weight_decay=0.0, fixed_norm=True, init_scale=0.8),
            tiny_run(steps=15, weight_decay=1.0, fixed_norm=False)]
    ens = Ensemble(cfgs, torch.device("cpu"))
    norms = lambda: stacked_norms(list(ens.stacked_params().values()))  # noqa: E731
    start = norms().clone()
    for step in range(15):
        update(ens, step)
        torch.testing.assert_close(norms()[0], start[0], rtol=1e-5, atol=0)
    assert not torch.isclose(norms()[1], start[1], rtol=1e-3)


def test_runs_that_cannot_be_batched_are_rejected(tiny_run):
    with pytest.raises(ValueError, match="run 1 differs from run 0"):
        check_batchable([tiny_run(), tiny_run(steps=99)])
    with pytest.raises(ValueError, match="run 1 differs"):
        check_batchable([tiny_run(), tiny_run().replace(p=13)])
    with pytest.raises(ValueError, match="empty"):
        check_batchable([])
    check_batchable([tiny_run(), tiny_run(seed=3, lr=1e-2, weight_decay=0.5, fixed_norm=True, init_scale=3.0,
                                          stop_at_val_acc=0.5)])


def test_checkpoints_per_run_and_states_use_model_names(tiny_run):
    cfgs = [tiny_run(steps=10, checkpoint_every=5), tiny_run(steps=10, checkpoint_every=5, seed=1)]
    hs = train_many(cfgs, progress=False)
    assert sorted(hs[1].checkpoints) == [0, 5, 10]
    assert "embed.W_E" in hs[0].final_state and hs[0].final_state["embed.W_E"].shape == (12, 16)
    x = cfgs[0].task.build().x_val
    torch.testing.assert_close(hs[1].model()(x), hs[1].model(10)(x))


def test_sweep_benchmark_times_a_batched_step(tiny_run):
    from grokutils.bench import seeds, sweep_rates
    from grokutils.dispatch import time_steps
    cfgs = seeds(tiny_run(batch_size=8), 2)
    assert [c.model.seed for c in cfgs] == [0, 1] and time_steps(cfgs, torch.device("cpu"), steps=2) > 0
    assert set(sweep_rates(cfgs, torch.device("cpu"), steps=2)) == {"sequential", "batched"}


def test_runs_with_their_own_split_batch_together_and_equal_alone(tiny_run, same_history):
    for batch_size in (None, 16):
        cfgs = [tiny_run(steps=20, seed=s, batch_size=batch_size).replace(frac_train=0.5) for s in range(2)]
        cfgs = [RunConfig(dataclasses.replace(c.task, seed=s), c.model, c.train) for s, c in enumerate(cfgs)]
        together = train_many(cfgs, progress=False)
        assert not torch.equal(together[0].train_index, together[1].train_index)
        for cfg, h in zip(cfgs, together):
            same_history(h, train(cfg, progress=False))
            assert torch.equal(h.train_index, cfg.task.build().train_index)
    with pytest.raises(ValueError, match="run 1 differs"):
        check_batchable([tiny_run(), tiny_run().replace(op="sub")])


@pytest.mark.parametrize("batch_size", [None, 8])
def test_runs_with_training_sets_of_different_sizes_batch_by_padding(tiny_run, same_history, batch_size):
    cfgs = [tiny_run(steps=20, seed=s, batch_size=batch_size).replace(frac_train=f) for s, f in ((0, 0.3), (1, 0.6), (2, 0.45))]
    together = train_many(cfgs, progress=False)
    assert [len(h.train_index) for h in together] == [c.task.n_train for c in cfgs]
    for cfg, h in zip(cfgs, together):
        same_history(h, train(cfg, progress=False))


def test_runs_with_different_losses_batch_together_and_equal_alone(blobs_run, same_history):
    cfgs = [blobs_run(seed=0, loss="mse", steps=30), blobs_run(seed=1, loss="cross_entropy", steps=30),
            blobs_run(seed=2, loss="cross_entropy_f64", steps=30)]
    check_batchable(cfgs)
    for cfg, h in zip(cfgs, train_many(cfgs, progress=False)):
        same_history(h, train(cfg, progress=False))
