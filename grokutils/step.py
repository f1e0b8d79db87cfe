"""The one update step: loss -> backward -> gradient transforms -> optimiser -> constraints.

``update(runner, step)`` drives a single run (``train.SingleRun``) and a batched sweep
(``sweep.Ensemble``) alike. A runner hands out its runs' parameters stacked along a leading run axis
``[K, ...]`` (a single run as views with K = 1), so the losses, the optimiser and the norm constraint
are written once. Losses live in one table (``LOSSES``), gradient transforms in another
(``GRAD_TRANSFORMS``: small functions that edit the gradients in place, in the order a config lists
them, such as Grokfast's filter), and ``Adam`` is the optimiser (Adam or AdamW, one learning rate and weight decay
per run); ``muon.Muon`` builds on it (Muon on the hidden weight matrices, AdamW on the rest), and
``train.make_optimizer`` picks one for a run.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from grokutils import noise


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-example cross-entropy, ``[N]``."""
    return F.cross_entropy(logits, labels, reduction="none")


def cross_entropy_f64(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-example cross-entropy with the log-softmax in float64 (Nanda et al.: float32 gives loss spikes)."""
    return F.cross_entropy(logits.double(), labels, reduction="none")


def cross_entropy_f16(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-example cross-entropy with the log-softmax in float16 (Prieto et al.'s softmax precision 16), in float16."""
    return F.cross_entropy(logits.half(), labels, reduction="none")


def stablemax_probs(logits: torch.Tensor) -> torch.Tensor:
    """Prieto et al.'s StableMax: ``s(x) / sum_j s(x_j)`` with ``s(x) = x + 1`` for ``x >= 0`` and ``1 / (1 - x)`` for
    ``x < 0``, in the logits' dtype (their ``1e-30`` in ``1 - x`` changes nothing in float32 or float64, where
    ``1 - x >= 1``). Each branch reads only its own side of 0, so neither has an infinite gradient."""
    s = torch.where(logits < 0, 1 / (1 - logits.clamp(max=0)), logits.clamp(min=0) + 1)
    return s / s.sum(-1, keepdim=True)


def stablemax(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-example StableMax cross-entropy, ``-log StableMax(z)[label]``, computed in float64 (their
    ``stablemax_cross_entropy``)."""
    probs = stablemax_probs(logits.double())
    return -torch.log(probs.gather(-1, labels[:, None])[:, 0])


def mse(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-example squared error against one-hot targets, averaged over the classes (Omnigrok)."""
    targets = F.one_hot(labels, logits.shape[-1]).to(logits.dtype)
    return F.mse_loss(logits, targets, reduction="none").mean(-1)


def mse_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-example squared error against one-hot targets, summed over the classes (Omnigrok's landscape code)."""
    targets = F.one_hot(labels, logits.shape[-1]).to(logits.dtype)
    return F.mse_loss(logits, targets, reduction="none").sum(-1)


def template_mse(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-example squared error to the label's template, averaged over the output's dimensions (Liu et al.'s toy
    model): the model's logits are minus those errors for every class's template (``models.RepDecoder``), so the loss
    is minus the label's logit and the top logit is the nearest template."""
    return -logits.gather(-1, labels[:, None])[:, 0]


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cross_entropy": cross_entropy,
    "cross_entropy_f64": cross_entropy_f64,
    "cross_entropy_f16": cross_entropy_f16,
    "stablemax": stablemax,
    "mse": mse,
    "mse_sum": mse_sum,
    "template_mse": template_mse,
}
"""Loss name -> per-example loss of logits ``[N, C]`` against integer labels ``[N]``."""


def per_example_losses(kind: str | list[str], logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each run's per-example losses, ``[K, N]``, from logits ``[K, N, C]`` and labels ``[K, N]``; ``kind`` is one
    loss for every run, or one per run (runs of a sweep may differ in their loss).

    An example with several target positions (logits ``[K, N, T, C]``, labels ``[K, N, T]``: Power et al.'s
    ``c`` and closing ``<eos>``) has the mean of its positions' losses, as their code's cross-entropy does.
    """
    k = logits.shape[0]
    kinds = [kind] * k if isinstance(kind, str) else list(kind)
    if len(set(kinds)) == 1:
        losses = LOSSES[kinds[0]](logits.flatten(0, -2), labels.flatten()).view(labels.shape)
    else:
        losses = torch.stack([LOSSES[name](logits[i].flatten(0, -2), labels[i].flatten()).view(labels.shape[1:])
                              .to(logits.dtype) for i, name in enumerate(kinds)])
    return losses.flatten(2).mean(2) if labels.dim() > 2 else losses


def is_correct(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``[K, N]``: whether each example's top logit is its label, at every target position when there are
    several (``openai/grok`` counts an equation right only when ``c`` and ``<eos>`` both are)."""
    hit = logits.argmax(-1) == labels
    return hit.flatten(2).all(2) if hit.dim() > 2 else hit


def per_run_loss(kind: str | list[str], logits: torch.Tensor, labels: torch.Tensor,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
    """Each run's mean loss, ``[K]``; with ``mask [K, N]``, the mean over each run's own examples (padding
    left out: runs of one batch may have training sets of different sizes). Runs whose losses differ each take their
    mean in their own loss's dtype, as alone (then float64, ``[K]``), so a run trains the same in a batch as alone."""
    kinds = [kind] * logits.shape[0] if isinstance(kind, str) else list(kind)
    if len(set(kinds)) > 1:
        return torch.stack([per_run_loss(name, logits[i : i + 1], labels[i : i + 1],
                                         None if mask is None else mask[i : i + 1])[0].double()
                            for i, name in enumerate(kinds)])
    losses = per_example_losses(kinds[0], logits, labels)
    if mask is None:
        return losses.mean(1)
    return (losses * mask).sum(1) / mask.sum(1)


def run_values(values: list[float], like: torch.Tensor) -> torch.Tensor:
    """Per-run values as a tensor that broadcasts against the optimiser's parameters: 0-dimensional for one run
    (its parameters may be unstacked), ``[K, 1, ...]`` for K stacked runs; the same arithmetic either way."""
    t = torch.tensor(values, dtype=like.dtype, device=like.device)
    return t[0] if len(values) == 1 else t.view(-1, *([1] * (like.dim() - 1)))


@torch.no_grad()
def grokfast_ema(params: list[torch.Tensor], cfgs: list, state: dict) -> None:
    """Grokfast's EMA filter (Lee et al. 2024, their ``gradfilter_ema``): the slow component of each gradient,
    ``ema <- alpha * ema + (1 - alpha) * g`` (``ema`` starts at the first gradient), amplified: ``g <- g + lamb * ema``;
    ``alpha`` and ``lamb`` per run (``TrainConfig.grokfast_alpha``, ``grokfast_lamb``). ``state`` keeps the filter."""
    emas = state.get("grokfast_ema")
    if emas is None:
        emas = state["grokfast_ema"] = [p.grad.detach().clone() for p in params]
    else:
        for p, ema in zip(params, emas):
            ema.lerp_(p.grad, 1 - run_values([c.grokfast_alpha for c in cfgs], p))
    for p, ema in zip(params, emas):
        p.grad.add_(ema * run_values([c.grokfast_lamb for c in cfgs], p))


@torch.no_grad()
def orthograd(params: list[torch.Tensor], cfgs: list, state: dict) -> None:
    """Prieto et al.'s ⊥Grad: each parameter tensor's gradient without its component along the weights,
    ``g - (w . g) / (w . w + 1e-30) w``, rescaled to the gradient's norm (``/ (norm + 1e-30)``), per run (tensors
    stacked ``[K, ...]`` in a sweep); stateless."""
    k = len(cfgs)
    for p in params:
        w, g = p.reshape(k, -1), p.grad.reshape(k, -1)
        along = (w * g).sum(1, keepdim=True) / ((w * w).sum(1, keepdim=True) + 1e-30)
        orth = g - along * w
        scale = g.norm(dim=1, keepdim=True) / (orth.norm(dim=1, keepdim=True) + 1e-30)
        p.grad.copy_((orth * scale).view_as(p.grad))


GRAD_TRANSFORMS: dict[str, Callable[[list[torch.Tensor], list, dict], None]] = {"grokfast_ema": grokfast_ema,
                                                                              "orthograd": orthograd}
"""Gradient-transform name -> ``fn(params, train_cfgs, state)`` editing the optimiser's parameters' ``.grad`` in place
(stacked ``[K, ...]`` in a sweep; ``train_cfgs`` one per run; ``state`` a dict the runner keeps for the transforms
across updates)."""


def warmup_factor(step: int, warmup_steps: int) -> float:
    """The learning-rate multiplier at update ``step`` (from 0): ``min(step / warmup_steps, 1)``, 1 without warm-up."""
    return min(1.0, step / warmup_steps) if warmup_steps else 1.0


def _per_run(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A ``[K]`` tensor shaped to broadcast against a stacked ``[K, ...]`` tensor."""
    return values.view(-1, *([1] * (like.dim() - 1)))


def stacked_norms(stacked: list[torch.Tensor]) -> torch.Tensor:
    """Total L2 norm of each run's parameters, ``[K]``, from tensors stacked ``[K, ...]``."""
    with torch.no_grad():
        return torch.linalg.vector_norm(torch.stack([p.flatten(1).norm(dim=1) for p in stacked]), dim=0)


class Adam:
    """Adam (L2 decay added to the gradient) or AdamW (decoupled decay), one lr and weight decay per run.

    ``params`` are the tensors the optimiser owns: a single run's parameters, or a sweep's stacked
    ``[K, ...]`` ones (``stacked=True``; the per-run values broadcast along the first axis). When the
    runs share their learning rate, each run's weight decay is applied as ``torch.optim.AdamW`` / ``Adam``
    apply it and the moment update is ``torch.optim.Adam``'s own multi-tensor kernel (or, with ``fused``, its
    fused one), so a single run matches those optimisers exactly; runs with different learning rates take
    the same update per run. With ``anchors`` (one tensor per parameter, ``decay_anchors``), weight decay pulls
    ``W - anchor`` instead of ``W`` towards zero: decay towards the initial weights.
    """

    def __init__(self, params: list[torch.Tensor], lrs: list[float], weight_decays: list[float],
                 betas: tuple[float, float], decoupled: bool, stacked: bool, eps: float = 1e-8, fused: bool = False,
                 anchors: list[torch.Tensor] | None = None):
        self.params, self.betas, self.decoupled, self.eps, self.anchors = params, betas, decoupled, eps, anchors
        self.lrs, self.weight_decays = list(lrs), list(weight_decays)
        device = params[0].device
        self.lr_t = torch.tensor(self.lrs, device=device)
        self.wd_t = torch.tensor(self.weight_decays, device=device)
        self.shared_wd = len(set(self.weight_decays)) == 1
        kernel = dict(fused=True) if fused else dict(foreach=True)
        self.inner = (torch.optim.Adam(params, lr=self.lrs[0], betas=betas, eps=eps, **kernel)
                      if len(set(self.lrs)) == 1 else None)
        self.exp_avg = [] if self.inner else [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [] if self.inner else [torch.zeros_like(p) for p in params]
        self.t = 0

    def zero_grad(self) -> None:
        """Drop the gradients."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr_factor: float = 1.0) -> None:
        """One update from the parameters' ``.grad``; ``lr_factor`` scales every run's lr (warm-up)."""
        self.t += 1
        self._decay(lr_factor)
        if self.inner is None:
            self._step_per_run_lr(lr_factor)
            return
        self.inner.param_groups[0]["lr"] = self.lrs[0] * lr_factor
        self.inner.step()

    def _decay(self, lr_factor: float) -> None:
        """Weight decay, in place: decoupled ``W <- W - lr * wd * (W - anchor)``, or L2 ``grad += wd * (W - anchor)``
        (anchor 0 without ``anchors``); one foreach call when the runs share lr and decay, as torch applies it."""
        if not any(self.weight_decays):
            return
        anchors = self.anchors or [None] * len(self.params)
        if self.shared_wd and self.inner is not None:
            lr, wd = self.lrs[0] * lr_factor, self.weight_decays[0]
            target = self.params if self.decoupled else [p.grad for p in self.params]
            if self.decoupled:
                torch._foreach_mul_(self.params, 1 - lr * wd)
            else:
                torch._foreach_add_(target, self.params, alpha=wd)
            if self.anchors:
                torch._foreach_add_(target, self.anchors, alpha=lr * wd if self.decoupled else -wd)
            return
        for p, anchor in zip(self.params, anchors):
            lr, wd = _per_run(self.lr_t * lr_factor, p), _per_run(self.wd_t, p)
            if not self.decoupled:
                p.grad.add_((p if anchor is None else p - anchor) * wd)
                continue
            p.mul_(1 - lr * wd)
            if anchor is not None:
                p.add_(anchor * lr * wd)

    def _step_per_run_lr(self, lr_factor: float) -> None:
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq):
            lr = _per_run(self.lr_t * lr_factor, p)
            m.lerp_(p.grad, 1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            p.sub_(lr / bc1 * m / (v.sqrt() / math.sqrt(bc2) + self.eps))


class Groups:
    """Several optimisers stepped as one, each over its own parameters with its own learning rates and weight decays
    (Liu et al.'s representation and decoder: ``TrainConfig.embed_lr``); ``params`` is all of theirs, in order."""

    def __init__(self, parts: list):
        self.parts = parts
        self.params = [p for part in parts for p in part.params]

    def zero_grad(self) -> None:
        """Drop the gradients."""
        for part in self.parts:
            part.zero_grad()

    def step(self, lr_factor: float = 1.0) -> None:
        """One update of every part; ``lr_factor`` scales every learning rate (warm-up)."""
        for part in self.parts:
            part.step(lr_factor)


def decay_anchors(params: list[torch.Tensor], to_init: list[bool], stacked: bool) -> list[torch.Tensor] | None:
    """What each run's weight decay pulls towards, per parameter: a copy of its initial weights where ``to_init[k]``,
    zeros elsewhere; None when no run decays towards its initialisation."""
    if not any(to_init):
        return None
    if not stacked:
        return [p.detach().clone() for p in params]
    keep = torch.tensor(to_init, dtype=params[0].dtype, device=params[0].device)
    return [p.detach().clone() * _per_run(keep, p) for p in params]


def update(runner, step: int) -> None:
    """One optimiser update of every run of ``runner`` (a ``SingleRun`` or an ``Ensemble``).

    The loss is the sum of the runs' mean losses, so each run gets exactly its own gradient. Runs with
    ``weight_noise`` take it at noisy weights; runs with ``update_noise`` get noise added to their update.
    """
    tc = runner.configs[0].train
    x, y, shared, mask = runner.batch()
    stacked = list(runner.stacked_params().values())
    clean = add_weight_noise(stacked, runner)
    loss = per_run_loss([c.train.loss for c in runner.configs], runner.logits(x, shared), y, mask).sum()
    runner.opt.zero_grad()
    loss.backward()
    if clean is not None:
        with torch.no_grad():
            torch._foreach_copy_(stacked, clean)
    for name in tc.grad_transforms:
        GRAD_TRANSFORMS[name](runner.opt.params, [c.train for c in runner.configs], runner.transform_state)
    factor = warmup_factor(step, tc.warmup_steps)
    runner.opt.step(factor)
    add_update_noise(stacked, runner, factor)
    if runner.fixed.any():
        scale = torch.where(runner.fixed, runner.target_norm / stacked_norms(stacked), 1.0)
        with torch.no_grad():
            for p in stacked:
                p.mul_(_per_run(scale, p))


@torch.no_grad()
def add_weight_noise(stacked: list[torch.Tensor], runner) -> list[torch.Tensor] | None:
    """Add each run's ``weight_noise`` (Gaussian, that std) to its weights in place; return copies of the clean
    weights to restore after the backward pass (None, and nothing drawn, when no run has weight noise)."""
    stds = [c.train.weight_noise for c in runner.configs]
    if not any(stds):
        return None
    clean = [p.detach().clone() for p in stacked]
    for p in stacked:
        p.add_(noise.gaussian(p, stds, runner.generators))
    return clean


@torch.no_grad()
def add_update_noise(stacked: list[torch.Tensor], runner, lr_factor: float) -> None:
    """Add ``lr * update_noise * eps`` to each run's weights (its scheduled lr; nothing drawn when no run has it)."""
    stds = [c.train.update_noise * c.train.lr * lr_factor for c in runner.configs]
    if not any(stds):
        return
    for p in stacked:
        p.add_(noise.gaussian(p, stds, runner.generators))
