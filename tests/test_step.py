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
    assert set(step.LOSSES) == {"cross_entropy", "cross_entropy_f64", "cross_entropy_f16", "stablemax", "mse", "mse_sum",
                                "template_mse"}


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


def test_stablemax_on_hand_computed_cases():
    # s(2) = 3, s(-1) = 1/2, s(0) = 1: probabilities 3/4.5, 0.5/4.5, 1/4.5
    logits = torch.tensor([[2.0, -1.0, 0.0], [-3.0, -3.0, 1.0]])
    want = torch.tensor([[3 / 4.5, 0.5 / 4.5, 1 / 4.5], [0.25 / 2.5, 0.25 / 2.5, 2 / 2.5]], dtype=torch.float64)
    torch.testing.assert_close(step.stablemax_probs(logits.double()), want)
    loss = step.stablemax(logits, torch.tensor([1, 2]))
    assert loss.dtype == torch.float64
    torch.testing.assert_close(loss, -torch.log(torch.stack([want[0, 1], want[1, 2]])))


def test_stablemax_keeps_a_gradient_where_softmax_has_rounded_it_away():
    # a margin of 40: float32 softmax's loss and its correct logit's gradient are exactly 0 (the other classes keep
    # e^-40), StableMax's are not (its probabilities decay like 1/x)
    logits = torch.tensor([[40.0, 0.0, 0.0]], requires_grad=True)
    soft = step.cross_entropy(logits, torch.tensor([0]))
    assert soft.item() == 0.0
    soft.sum().backward()
    assert logits.grad[0, 0].item() == 0.0 and logits.grad[0, 1].item() == pytest.approx(math.exp(-40), rel=1e-4)
    logits.grad = None
    stable = step.stablemax(logits, torch.tensor([0]))
    assert stable.item() == pytest.approx(-math.log(41 / 43))
    stable.sum().backward()
    assert logits.grad[0, 0] < 0 and torch.isfinite(logits.grad).all()


def test_stablemax_gradient_is_finite_at_the_branch_points():
    for value in (0.0, 1.0, -1.0):
        logits = torch.tensor([[value, 0.5, -0.5]], dtype=torch.float64, requires_grad=True)
        step.stablemax(logits, torch.tensor([1])).sum().backward()
        assert torch.isfinite(logits.grad).all()


def test_float16_cross_entropy_rounds_away_sooner_than_float32():
    logits, labels = torch.tensor([[12.0, 0.0]]), torch.tensor([0])  # exp(-12) = 6e-6: below float16's resolution
    f16 = step.cross_entropy_f16(logits, labels)
    assert f16.dtype == torch.float16 and f16.item() == 0.0
    assert step.cross_entropy(logits, labels).item() == pytest.approx(math.exp(-12), rel=0.02)  # float32: 1 + 6e-6


def test_runs_of_different_losses_take_their_mean_each_in_its_own_dtype():
    logits = torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 4, (3, 5), generator=torch.Generator().manual_seed(1))
    kinds = ["cross_entropy", "stablemax", "cross_entropy_f16"]
    mixed = step.per_run_loss(kinds, logits, labels)
    assert mixed.dtype == torch.float64
    for k, kind in enumerate(kinds):
        alone = step.per_run_loss(kind, logits[k : k + 1], labels[k : k + 1])
        assert mixed[k].item() == alone.double().item()


def _orthograd_reference(w: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Their ``_orthogonalize_gradients`` for one tensor, written out."""
    w, g = w.flatten().double(), g.flatten().double()
    orth = g - (w @ g) / (w @ w) * w
    return orth * g.norm() / orth.norm()


def test_orthograd_removes_the_component_along_the_weights_and_keeps_the_norm():
    w, g = torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0]])
    w.grad = g.clone()
    step.orthograd([w], [TrainConfig()], {})
    # g - (3/25) w = (16/25, -12/25), norm 4/5, rescaled to norm 1: (4/5, -3/5)
    torch.testing.assert_close(w.grad, torch.tensor([[0.8, -0.6]]))
    assert (w * w.grad).sum().abs() < 1e-6
    gen = torch.Generator().manual_seed(0)
    p = torch.randn(4, 3, generator=gen)
    p.grad = torch.randn(4, 3, generator=gen)
    want = _orthograd_reference(p, p.grad)
    step.orthograd([p], [TrainConfig()], {})
    torch.testing.assert_close(p.grad.flatten().double(), want, rtol=1e-5, atol=1e-6)


def test_orthograd_stacked_is_each_run_alone():
    gen = torch.Generator().manual_seed(1)
    stacked = torch.randn(3, 4, 5, generator=gen)
    stacked.grad = torch.randn(3, 4, 5, generator=gen)
    alone = [stacked[k].clone() for k in range(3)]
    for k, p in enumerate(alone):
        p.grad = stacked.grad[k].clone()
        step.orthograd([p], [TrainConfig()], {})
    step.orthograd([stacked], [TrainConfig()] * 3, {})
    for k, p in enumerate(alone):
        assert torch.equal(stacked.grad[k], p.grad)


def test_orthograd_and_stablemax_runs_batched_equal_the_same_runs_alone(same_history):
    from grokutils.config import RunConfig
    from grokutils.models import MLPConfig
    from grokutils.sweep import train_many
    from grokutils.tasks import ModularConfig

    model = MLPConfig(widths=(22, 16, 11), bias=False, inputs="two_hot")
    cfgs = [RunConfig(ModularConfig(p=11, frac_train=0.5), dataclasses.replace(model, seed=s),
                      TrainConfig(steps=25, n_logs=4, lr=0.01, weight_decay=wd, loss=loss, grad_transforms=("orthograd",),
                                  probes=("softmax_collapse",)))
            for s, wd, loss in ((0, 0.0, "stablemax"), (1, 1.0, "cross_entropy"), (2, 0.0, "cross_entropy_f16"))]
    together = train_many(cfgs, progress=False)
    for cfg, h in zip(cfgs, together):
        same_history(h, train(cfg, progress=False))
    assert "collapse/f16" in together[0].metrics
