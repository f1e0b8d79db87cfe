"""The interventions of the one update step and of the model: update noise, weight noise, decay towards the
initialisation, dropout; each alone, with its config errors, and batched equal to alone."""
import dataclasses

import pytest
import torch

from grokutils import noise
from grokutils.config import TrainConfig
from grokutils.models import TransformerConfig, stack
from grokutils.step import Adam, decay_anchors, update
from grokutils.sweep import train_many
from grokutils.train import SingleRun, evaluate, train


def _one_update(cfg):
    runner = SingleRun(cfg, torch.device("cpu"))
    before = {k: v.clone() for k, v in runner.states()[0].items()}
    update(runner, 0)
    return before, runner.states()[0]


def test_update_noise_adds_lr_times_unit_gaussian_to_each_weight(tiny_run):
    base = tiny_run(warmup_steps=0, lr=1e-2)
    _, clean = _one_update(base)
    _, noisy = _one_update(base.replace(update_noise=2.0))
    diff = torch.cat([(noisy[k] - clean[k]).flatten() for k in clean if "W_" in k])
    assert diff.std().item() == pytest.approx(1e-2 * 2.0, rel=0.05)
    assert abs(diff.mean().item()) < 1e-3


def test_weight_noise_changes_the_gradient_but_never_stays_in_the_weights(tiny_run):
    base = tiny_run(warmup_steps=0, lr=1e-12, weight_decay=0.0)
    before, after = _one_update(base.replace(weight_noise=0.5))
    weights = [k for k in before if before[k].is_floating_point()]
    assert max((after[k] - before[k]).abs().max().item() for k in weights) < 1e-9  # restored, then a 1e-12 step
    grads = []
    for std in (0.0, 0.5):
        runner = SingleRun(base.replace(weight_noise=std), torch.device("cpu"))
        update(runner, 0)  # the gradient stays on the weights after the update
        grads.append(runner.model.unembed.W_U.grad.clone())
    assert not torch.allclose(grads[0], grads[1])


def test_decay_towards_init_pulls_the_weights_back_to_their_initial_values():
    w0 = torch.randn(3, 4)
    for decoupled in (True, False):
        p = torch.nn.Parameter(w0.clone())
        opt = Adam([p], [0.1], [0.5], (0.9, 0.98), decoupled=decoupled, stacked=False,
                   anchors=decay_anchors([p], [True], stacked=False))
        with torch.no_grad():
            p.add_(1.0)
        p.grad = torch.zeros_like(p)
        opt.step()
        moved = p.detach() - (w0 + 1.0)
        assert (moved < 0).all()  # towards w0, not towards 0 (w0 + 1 has entries of either sign)
        if decoupled:
            torch.testing.assert_close(p.detach(), w0 + 1.0 - 0.1 * 0.5 * 1.0)


def test_decay_anchors_are_zero_for_runs_that_decay_to_zero_and_batch_with_different_decays():
    stacked = [torch.nn.Parameter(torch.randn(2, 3))]
    anchors = decay_anchors(stacked, [False, True], stacked=True)
    assert torch.equal(anchors[0][0], torch.zeros(3)) and torch.equal(anchors[0][1], stacked[0][1].detach())
    assert decay_anchors(stacked, [False, False], stacked=True) is None
    opt = Adam(stacked, [0.1, 0.1], [0.5, 1.0], (0.9, 0.98), decoupled=True, stacked=True, anchors=anchors)
    start = stacked[0].detach().clone()
    stacked[0].grad = torch.zeros_like(stacked[0])
    opt.step()
    torch.testing.assert_close(stacked[0][0].detach(), start[0] * (1 - 0.05))
    torch.testing.assert_close(stacked[0][1].detach(), start[1])  # at its anchor: nothing to pull


def test_dropout_zeroes_about_rate_of_the_elements_and_scales_the_rest():
    x = torch.ones(4, 1000, 8)
    gens = noise.generators([0, 1, 2, 3], "cpu")
    out = noise.dropout(x, 0.25, gens, stacked=True)
    assert (out == 0).float().mean().item() == pytest.approx(0.25, abs=0.02)
    assert torch.equal(out[out != 0], torch.full_like(out[out != 0], 1 / 0.75))
    again = noise.dropout(x, 0.25, noise.generators([0, 1, 2, 3], "cpu"), stacked=True)
    assert torch.equal(out, again)  # drawn from the runs' seeds
    assert torch.equal(noise.dropout(x, 0.0, gens, stacked=True), x)


def test_a_dropout_model_drops_in_training_only():
    cfg = TransformerConfig(d_vocab=13, d_vocab_out=11, n_ctx=3, d_model=16, n_heads=2, d_head=8, d_mlp=32, dropout=0.5)
    model, plain = cfg.build(), dataclasses.replace(cfg, dropout=0.0).build()
    tokens = torch.randint(0, 11, (20, 3))
    model.eval()
    torch.testing.assert_close(model(tokens), plain(tokens))
    model.train()
    model.use_generators(noise.generators([0], "cpu"))
    assert not torch.allclose(model(tokens), plain(tokens))
    stacked = stack([cfg.build(), cfg.build()])
    stacked.use_generators(noise.generators([0, 1], "cpu"))
    out = stacked(tokens)
    assert out.shape == (2, 20, 3, 11) and not torch.allclose(out[0], out[1])


@pytest.mark.parametrize("fields", [dict(update_noise=1.0), dict(weight_noise=0.05), dict(decay_to="init")])
def test_noisy_and_decay_to_init_runs_batched_equal_the_same_runs_alone(tiny_run, same_history, fields):
    cfgs = [tiny_run(steps=20, seed=0, **fields), tiny_run(steps=20, seed=1),
            tiny_run(steps=20, seed=2, lr=1e-3, **fields)]
    for batched, cfg in zip(train_many(cfgs, device="cpu", progress=False), cfgs):
        same_history(batched, train(cfg, device="cpu", progress=False))


def test_dropout_runs_batched_equal_alone_and_their_metrics_see_no_dropout(tiny_run, same_history):
    cfgs = [tiny_run(steps=20, seed=s) for s in (0, 1)]
    cfgs = [dataclasses.replace(c, model=dataclasses.replace(c.model, dropout=0.3)) for c in cfgs]
    for batched, cfg in zip(train_many(cfgs, device="cpu", progress=False), cfgs):
        alone = train(cfg, device="cpu", progress=False)
        same_history(batched, alone)
        assert torch.equal(alone.steps, train(cfg, device="cpu", progress=False).steps)
    h = train(cfgs[0], device="cpu", progress=False)
    model = h.model()
    split = cfgs[0].task.build()
    assert evaluate(model, split.x_val, split.y_val)[1] == pytest.approx(h.val_acc[-1].item())


@pytest.mark.parametrize("field, value", [("update_noise", -1.0), ("weight_noise", float("nan")), ("decay_to", "one")])
def test_bad_intervention_settings_name_the_parameter(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_bad_dropout_names_the_parameter():
    with pytest.raises(ValueError, match="dropout"):
        TransformerConfig(d_vocab=5, d_vocab_out=5, n_ctx=3, dropout=1.0)
