"""The training loop: logging, determinism, warm-up, checkpoints, early stopping, probes, training indices."""
import pytest
import torch

from grokutils.train import SingleRun, batch_indices, evaluate, train


def test_training_fits_the_training_set_and_logs_at_chosen_steps(tiny_run):
    h = train(tiny_run(steps=300, weight_decay=0.1), progress=False)
    assert h.steps.tolist() == tiny_run(steps=300).train.log_steps()
    assert h.train_acc[-1] > 0.9 and h.train_loss[-1] < h.train_loss[0]
    for name in ("val_loss", "train_acc", "val_acc", "weight_norm"):
        assert getattr(h, name).shape == h.steps.shape
    assert h.device == "cpu" and h.wall_seconds > 0


def test_training_is_deterministic_for_a_seed(tiny_run):
    a, b = train(tiny_run(batch_size=16), progress=False), train(tiny_run(batch_size=16), progress=False)
    assert torch.equal(a.train_loss, b.train_loss)
    assert all(torch.equal(a.final_state[k], b.final_state[k]) for k in a.final_state)
    c = train(tiny_run(batch_size=16, seed=1), progress=False)
    assert not torch.equal(a.train_loss, c.train_loss)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "foreach"])
@pytest.mark.parametrize("optimizer", ["adamw", "adam"])
def test_one_full_batch_step_equals_torch_optim_by_hand(tiny_run, optimizer, fused):
    cfg = tiny_run(steps=3, warmup_steps=0, n_logs=2, optimizer=optimizer, fused_adam=fused)
    h = train(cfg, progress=False)
    model, data = cfg.model.build(), cfg.task.build()
    kind = torch.optim.AdamW if optimizer == "adamw" else torch.optim.Adam
    kernel = dict(fused=True) if fused else dict(foreach=True)
    opt = kind(model.parameters(), lr=cfg.train.lr, betas=cfg.train.betas, weight_decay=cfg.train.weight_decay, **kernel)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model.final_logits(data.x_train), data.y_train).backward()
        opt.step()
    for k, v in model.state_dict().items():
        torch.testing.assert_close(h.final_state[k], v, rtol=0, atol=0)


def test_warmup_starts_at_lr_zero_as_the_authors_schedules_do(tiny_run):
    init = tiny_run().model.build().state_dict()
    moved = lambda h: (h.final_state["embed.W_E"] - init["embed.W_E"]).abs().max().item()  # noqa: E731
    assert moved(train(tiny_run(steps=1, warmup_steps=10, n_logs=2), progress=False)) == 0.0
    assert moved(train(tiny_run(steps=2, warmup_steps=10, n_logs=2), progress=False)) > 0.0
    assert moved(train(tiny_run(steps=1, warmup_steps=0, n_logs=2), progress=False)) > 0.0


def test_checkpoints_and_model_reload(tiny_run):
    h = train(tiny_run(steps=20, checkpoint_every=10), progress=False)
    assert sorted(h.checkpoints) == [0, 10, 20]
    x = tiny_run().task.build().x_val
    torch.testing.assert_close(h.model()(x), h.model(20)(x))
    assert not torch.allclose(h.model(0)(x), h.model(20)(x))


def test_stop_at_val_acc_stops_at_the_first_logged_step_reaching_it(tiny_run):
    h = train(tiny_run(steps=400, stop_at_val_acc=0.0), progress=False)
    assert h.steps.tolist() == [0]
    init = tiny_run().model.build().state_dict()
    assert all(torch.equal(h.final_state[k], init[k]) for k in init)


def test_fixed_norm_keeps_the_total_weight_norm(tiny_run):
    h = train(tiny_run(steps=30, fixed_norm=True, weight_decay=0.0, n_logs=10), progress=False)
    torch.testing.assert_close(h.weight_norm, torch.full_like(h.weight_norm, h.weight_norm[0].item()), rtol=1e-5, atol=0)


def test_mse_loss_and_mlp_train_through_the_same_loop(blobs_run):
    assert train(blobs_run(), progress=False).val_acc[-1] > 0.9


def test_probes_log_named_columns_at_the_logged_steps(tiny_run):
    h = train(tiny_run(steps=10, n_logs=4, probes=("weight_norms", "attn_norms", "last_layer_norm")), progress=False)
    groups = {n for n in h.metrics if n.startswith("weight_norm/")}
    assert {"weight_norm/embed", "weight_norm/blocks.0.attn", "weight_norm/blocks.0.mlp", "weight_norm/unembed"} <= groups
    total = torch.stack([h.metrics[g] ** 2 for g in groups]).sum(0).sqrt()
    torch.testing.assert_close(total, h.weight_norm, rtol=1e-6, atol=1e-6)
    assert h.metrics["attn_norm/blocks.0"].shape == h.steps.shape
    assert (h.metrics["last_layer_norm"] <= h.metrics["weight_norm/unembed"] + 1e-9).all()


def test_matrix_norms_log_each_weight_matrix(tiny_run):
    h = train(tiny_run(steps=10, n_logs=4, probes=("matrix_norms", "attn_norms")), progress=False)
    names = {n.removeprefix("matrix_norm/") for n in h.metrics if n.startswith("matrix_norm/")}
    assert {"embed.W_E", "blocks.0.attn.W_Q", "blocks.0.attn.W_O", "blocks.0.mlp.W_in", "unembed.W_U"} <= names
    assert not any(n.rsplit(".", 1)[-1].startswith("b") or ".ln" in n for n in names)
    attn = sum(h.metrics[f"matrix_norm/blocks.0.attn.{w}"] ** 2 for w in ("W_Q", "W_K", "W_V", "W_O")).sqrt()
    assert (attn <= h.metrics["attn_norm/blocks.0"] * (1 + 1e-6)).all()
    final = h.final_state["blocks.0.attn.W_Q"].norm().item()
    assert h.metrics["matrix_norm/blocks.0.attn.W_Q"][-1].item() == pytest.approx(final, rel=1e-6)


def test_history_knows_its_training_examples(tiny_run):
    cfg = tiny_run(steps=2)
    h, split = train(cfg, progress=False), cfg.task.build()
    a, b = split.x_train[:, 0], split.x_train[:, 1]
    assert torch.equal(h.train_index, a * cfg.task.p + b)


def test_single_run_logits_have_a_run_axis(tiny_run):
    runner = SingleRun(tiny_run(), torch.device("cpu"))
    x, y, shared, mask = runner.batch()
    assert shared and mask is None and runner.logits(x, shared).shape == (1, len(y[0]), 11)


def test_batch_indices_cover_each_epoch_once():
    it = batch_indices(10, 5, torch.Generator().manual_seed(0), "cpu")
    first_epoch = torch.cat([next(it), next(it)])
    assert sorted(first_epoch.tolist()) == list(range(10))
    assert next(batch_indices(10, None, torch.Generator(), "cpu")) is None


def test_benchmark_prints_the_three_settings(capsys):
    from grokutils import bench
    bench.main(["--device", "cpu", "--steps", "1", "--repeats", "1", "--no-sweep"])
    out = capsys.readouterr().out
    assert "GFLOP/s" in out and out.count("\n") == 5
    for name in ("nanda", "power", "omnigrok"):
        assert name in out


def test_evaluate_one_model(tiny_run):
    cfg = tiny_run()
    model, data = cfg.model.build(), cfg.task.build()
    loss, acc = evaluate(model, data.x_val, data.y_val)
    logits = model.final_logits(data.x_val)
    assert loss == pytest.approx(torch.nn.functional.cross_entropy(logits, data.y_val).item(), rel=1e-5)
    assert acc == pytest.approx((logits.argmax(-1) == data.y_val).float().mean().item())


def test_max_eval_train_reads_the_first_training_examples_only(tiny_run):
    full = train(tiny_run(steps=20, n_logs=3), progress=False)
    capped = train(tiny_run(steps=20, n_logs=3, max_eval_train=7), progress=False)
    assert torch.equal(capped.val_acc, full.val_acc) and torch.equal(capped.val_loss, full.val_loss)  # training unchanged
    split = tiny_run().task.build()
    model = capped.model()
    loss, acc = evaluate(model, split.x_train[:7], split.y_train[:7])
    assert capped.train_acc[-1].item() == pytest.approx(acc) and capped.train_loss[-1].item() == pytest.approx(loss, rel=1e-5)
    assert train(tiny_run(steps=20, n_logs=3, max_eval_train=10_000), progress=False).train_acc.tolist() == full.train_acc.tolist()


def test_max_eval_train_in_a_batch_of_runs_with_their_own_splits(tiny_run):
    from grokutils.sweep import train_many
    cfgs = [tiny_run(steps=10, n_logs=2, max_eval_train=6), tiny_run(seed=1, steps=10, n_logs=2, max_eval_train=6)]
    cfgs[1] = cfgs[1].replace(frac_train=0.6)  # a larger training set: the batch holds padded, per-run data
    alone = [train(c, progress=False) for c in cfgs]
    together = train_many(cfgs, progress=False)
    for a, b in zip(alone, together):
        torch.testing.assert_close(a.train_acc, b.train_acc)
        torch.testing.assert_close(a.val_acc, b.val_acc)
