"""The one update step: the losses table, the optimiser, gradient transforms."""
import math

import pytest
import torch

from grokutils import step
from grokutils.train import train


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
    monkeypatch.setitem(step.GRAD_TRANSFORMS, "zero", lambda params: [p.grad.zero_() for p in params] and seen.append("zero"))
    monkeypatch.setitem(step.GRAD_TRANSFORMS, "count", lambda params: seen.append("count"))
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
        opt = step.make_optimizer([torch.zeros(3, requires_grad=True)], [cfg.train], stacked=False)
        assert bool(opt.inner.defaults["fused"]) is fused and bool(opt.inner.defaults["foreach"]) is not fused
