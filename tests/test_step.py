"""The one update step: the losses table, the optimiser, gradient transforms."""
import dataclasses
import math

import pytest
import torch

from grokutils import step
from grokutils.config import TrainConfig
from grokutils.train import make_optimizer, train


def test_losses_per_example():
    logits, labels = torch.tensor([[2.0, 0.0], [0.0, 3.0]]), torch.tensor([0, 1])
    assert step.mse(logits, labels).tolist() == pytest.approx([(1 + 0) / 2, (0 + 4) / 2])
    assert step.mse_sum(logits, labels).tolist() == pytest.approx([1 + 0, 0 + 4])
    ce = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    torch.testing.assert_close(step.cross_entropy(logits, labels), ce)
    f64 = step.cross_entropy_f64(logits, labels)
    assert f64.dtype == torch.float64 and torch.allclose(f64.float(), ce)
    assert set(step.LOSSES) == {"cross_entropy", "cross_entropy_f64", "mse", "mse_sum"}


def test_float64_cross_entropy_resolves_what_float32_rounds_to_zero():
    logits, labels = torch.tensor([[20.0, 0.0]]), torch.tensor([0])
    assert step.cross_entropy(logits, labels).item() == 0.0
    assert step.cross_entropy_f64(logits, labels).item() == pytest.approx(math.exp(-20), rel=1e-6)


def test_per_run_loss_is_each_runs_mean():
    logits = torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 4, (3, 5), generator=torch.Generator().manual_seed(1))
    per_run = step.per_run_loss("cross_entropy", logits, labels)
    for k in range(3):
        torch.testing.assert_close(per_run[k], torch.nn.functional.cross_entropy(logits[k], labels[k]))


def test_warmup_factor():
    assert [step.warmup_factor(s, 4) for s in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert step.warmup_factor(0, 0) == 1.0


@pytest.mark.parametrize("lrs", [(1e-2, 3e-3), (1e-2, 1e-2)])  # per-run lr, and the shared-lr path
@pytest.mark.parametrize("wds", [(1.0, 0.1), (0.5, 0.5)])  # per-run and shared weight decay
@pytest.mark.parametrize("decoupled", [True, False])
@pytest.mark.parametrize("fused", [False, True])  # torch's multi-tensor and fused Adam kernels
def test_stacked_adam_equals_torch_adamw_and_adam_per_run(lrs, wds, decoupled, fused):
    torch.manual_seed(0)
    w = torch.randn(2, 5, 3)
    stacked = w.clone().requires_grad_()
    opt = step.Adam([stacked], list(lrs), list(wds), (0.9, 0.98), decoupled=decoupled, stacked=True, fused=fused)
    alone = [w[i].clone().requires_grad_() for i in range(2)]
    kind = torch.optim.AdamW if decoupled else torch.optim.Adam
    refs = [kind([alone[i]], lr=lr, weight_decay=wd, betas=(0.9, 0.98), fused=fused or None)
            for i, (lr, wd) in enumerate(zip(lrs, wds))]
    for _ in range(5):
        (stacked ** 3).sum().backward()
        opt.step()
        opt.zero_grad()
        for p, ref in zip(alone, refs):
            (p ** 3).sum().backward()
            ref.step()
            ref.zero_grad()
    torch.testing.assert_close(stacked.detach(), torch.stack(alone).detach())


def test_gradient_transforms_run_in_order_between_backward_and_optimiser(tiny_run, monkeypatch):
    seen = []
    monkeypatch.setitem(step.GRAD_TRANSFORMS, "zero",
                        lambda params, cfgs, state: [p.grad.zero_() for p in params] and seen.append("zero"))
    monkeypatch.setitem(step.GRAD_TRANSFORMS, "count", lambda params, cfgs, state: seen.append("count"))
    h = train(tiny_run(steps=3, n_logs=2, weight_decay=0.0, grad_transforms=("zero", "count")), progress=False)
    assert seen == ["zero", "count"] * 3
    init = tiny_run().model.build().state_dict()
    assert all(torch.equal(h.final_state[k], init[k]) for k in init)  # zero gradients and no decay: nothing moves
    assert math.isfinite(h.train_loss[-1])


def test_several_target_positions_average_their_losses_and_count_only_all_correct():
    logits = torch.randn(2, 5, 2, 7, generator=torch.Generator().manual_seed(0))
    labels = logits.argmax(-1)
    labels[0, 0, 1] = (labels[0, 0, 1] + 1) % 7
    losses = step.per_example_losses("cross_entropy", logits, labels)
    expected = torch.nn.functional.cross_entropy(logits.flatten(0, 2), labels.flatten(), reduction="none").view(2, 5, 2)
    torch.testing.assert_close(losses, expected.mean(-1))
    correct = step.is_correct(logits, labels)
    assert correct.shape == (2, 5) and correct.sum().item() == 9 and not correct[0, 0]


def test_adam_eps_reaches_the_optimiser(tiny_run):
    from grokutils.train import SingleRun
    runner = SingleRun(tiny_run(adam_eps=1e-5), torch.device("cpu"))
    assert runner.opt.inner.param_groups[0]["eps"] == 1e-5
    with pytest.raises(ValueError, match="adam_eps"):
        tiny_run(adam_eps=0.0)


def test_fused_adam_setting_picks_torch_fused_kernel(tiny_run):
    for fused in (False, True):
        cfg = tiny_run().replace(fused_adam=fused)
        opt = make_optimizer({"w": torch.zeros(3, requires_grad=True)}, [cfg.train], stacked=False)
        assert bool(opt.inner.defaults["fused"]) is fused and bool(opt.inner.defaults["foreach"]) is not fused


def _grokfast_reference(grads: list[dict[str, torch.Tensor]], alpha: float, lamb: float) -> list[dict[str, torch.Tensor]]:
    """Grokfast's ``gradfilter_ema`` as their paper states it, written out: the filter starts at the first gradient,
    then ``ema = alpha * ema + (1 - alpha) * g`` and the gradient becomes ``g + lamb * ema``."""
    out, ema = [], None
    for g in grads:
        ema = {n: v.clone() for n, v in g.items()} if ema is None else {n: ema[n] * alpha + g[n] * (1 - alpha) for n in g}
        out.append({n: g[n] + lamb * ema[n] for n in g})
    return out


def test_grokfast_ema_filters_a_fixed_gradient_sequence_as_the_authors_do():
    gen = torch.Generator().manual_seed(0)
    grads = [{"w": torch.randn(3, 4, generator=gen), "b": torch.randn(4, generator=gen)} for _ in range(5)]
    cfg = TrainConfig(grad_transforms=("grokfast_ema",), grokfast_alpha=0.9, grokfast_lamb=3.0)
    params, state = [torch.zeros(3, 4), torch.zeros(4)], {}
    for g, want in zip(grads, _grokfast_reference(grads, 0.9, 3.0)):
        params[0].grad, params[1].grad = g["w"].clone(), g["b"].clone()
        step.GRAD_TRANSFORMS["grokfast_ema"](params, [cfg], state)
        torch.testing.assert_close(params[0].grad, want["w"])
        torch.testing.assert_close(params[1].grad, want["b"])
    params[0].grad = torch.ones(3, 4)  # lamb 0 leaves the gradient as it is
    step.grokfast_ema(params[:1], [dataclasses.replace(cfg, grokfast_lamb=0.0)], {})
    assert torch.equal(params[0].grad, torch.ones(3, 4))


def test_grokfast_runs_batched_with_their_own_filters_equal_the_same_runs_alone(tiny_run, same_history):
    from grokutils.sweep import train_many

    cfgs = [tiny_run(steps=30, n_logs=4, grad_transforms=("grokfast_ema",), grokfast_alpha=a, grokfast_lamb=lamb)
            for a, lamb in ((0.98, 2.0), (0.8, 5.0))]
    together = train_many(cfgs, progress=False)
    for cfg, h in zip(cfgs, together):
        same_history(h, train(cfg, progress=False))
    assert not torch.equal(together[0].val_loss, together[1].val_loss)
    plain = train(tiny_run(steps=30, n_logs=4), progress=False)
    assert not torch.equal(plain.final_state["blocks.0.mlp.W_in"], together[0].final_state["blocks.0.mlp.W_in"])
