"""Sweeps: K runs that differ only in seeds or hyperparameters, trained as one batched model.

The K models' parameters are stacked along a new leading axis (``torch.func.stack_module_state``)
and the forward pass is ``torch.func.vmap`` over ``functional_call``, so one step of the one optimiser
(``step.Adam``) updates all K runs. Each run keeps its own learning rate, weight decay, seed, initial
scale, norm constraint and stopping point. ``train.fit`` drives it exactly as it drives a single run,
through the same update step, and each run gets its own ``History``.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from grokutils.config import RunConfig, resolve_device
from grokutils.history import History
from grokutils.step import make_optimizer
from grokutils.train import Runner, fit

# The fields in which runs of one batch may differ; all other fields must be equal.
PER_RUN_FIELDS = {"model": ("seed", "init_scale"),
                  "train": ("lr", "weight_decay", "seed", "fixed_norm", "stop_at_val_acc")}


def check_batchable(cfgs: list[RunConfig]) -> None:
    """Raise ValueError unless ``cfgs`` differ only in ``PER_RUN_FIELDS``."""
    if not cfgs:
        raise ValueError("cfgs is empty: a sweep needs at least one run")
    first = cfgs[0]
    same = {part: {f: getattr(getattr(first, part), f) for f in fields} for part, fields in PER_RUN_FIELDS.items()}
    for i, cfg in enumerate(cfgs[1:], start=1):
        aligned = RunConfig(cfg.task, dataclasses.replace(cfg.model, **same["model"]),
                            dataclasses.replace(cfg.train, **same["train"]))
        if aligned != first:
            raise ValueError(
                f"run {i} differs from run 0 outside the per-run fields {PER_RUN_FIELDS}; "
                "runs with different tasks, architectures or schedules cannot be batched"
            )


class _FinalLogits(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.final_logits(x)


class Ensemble(Runner):
    """K runs as one batched model: the sweep counterpart of ``train.SingleRun`` for ``fit``."""

    def __init__(self, cfgs: list[RunConfig], device: torch.device):
        check_batchable(cfgs)
        super().__init__(cfgs, device)
        models = [cfg.model.build().to(device) for cfg in cfgs]
        self.base = _FinalLogits(models[0])
        params, self.buffers = stack_module_state([_FinalLogits(m) for m in models])
        self.params = {k: v.detach().requires_grad_() for k, v in params.items()}
        self.opt = make_optimizer(list(self.params.values()), [c.train for c in cfgs], stacked=True)
        self._call = vmap(self._one, in_dims=(0, 0, 0))
        self._call_shared = vmap(self._one, in_dims=(0, 0, None))
        self._init_constraints()

    def _one(self, params, buffers, x):
        return functional_call(self.base, (params, buffers), (x,))

    def logits(self, x: torch.Tensor, shared: bool) -> torch.Tensor:
        """``[K, N, C]``: inputs ``x`` per run ``[K, N, ...]``, or one batch ``[N, ...]`` for all."""
        return (self._call_shared if shared else self._call)(self.params, self.buffers, x)

    def stacked_params(self) -> dict[str, torch.Tensor]:
        """The stacked parameters ``[K, ...]`` by their per-run (TransformerLens) names."""
        return {k.removeprefix("model."): v for k, v in self.params.items()}

    def states(self) -> list[dict[str, torch.Tensor]]:
        """Each run's weights (TransformerLens names), copied to the CPU."""
        merged = {**self.params, **self.buffers}
        return [{k.removeprefix("model."): v[i].detach().to("cpu", copy=True) for k, v in merged.items()}
                for i in range(len(self.configs))]


def train_many(cfgs: list[RunConfig], device: str | torch.device | None = None, progress: bool = True) -> list[History]:
    """Train ``cfgs`` together as one batched model; one ``History`` per run, in order.

    Each History's ``wall_seconds`` is the time of the whole batch.
    """
    return fit(Ensemble(cfgs, resolve_device(device)), progress)
