"""Sweeps: K runs that differ only in seeds or hyperparameters, trained as one batched model.

The K models' parameters are stacked along a new leading axis under their own names
(``models.stack``), and the models' forward passes run all K at once with batched matrix products, so
one step of the one optimiser (``step.Adam``) updates all K runs. Each run keeps its own learning rate, weight decay, seed, initial
scale, norm constraint and stopping point. ``train.fit`` drives it exactly as it drives a single run,
through the same update step, and each run gets its own ``History``.
"""
from __future__ import annotations

import dataclasses

import torch

from grokutils.config import RunConfig, resolve_device
from grokutils.history import History
from grokutils.models import stack, unstack
from grokutils.train import Runner, fit, initial_model, make_optimizer

# The fields in which runs of one batch may differ (where a part has them); all other fields must be equal.
PER_RUN_FIELDS = {"task": ("seed", "frac_train", "n_train", "train_points", "test_points"),
                  "model": ("seed", "init_scale"),
                  "train": ("lr", "weight_decay", "embed_lr", "embed_weight_decay", "seed", "fixed_norm",
                            "stop_at_val_acc", "loss", "update_noise", "weight_noise", "decay_to", "grokfast_alpha",
                            "grokfast_lamb")}


def check_batchable(cfgs: list[RunConfig]) -> None:
    """Raise ValueError unless ``cfgs`` differ only in ``PER_RUN_FIELDS``."""
    if not cfgs:
        raise ValueError("cfgs is empty: a sweep needs at least one run")
    first = cfgs[0]
    for i, cfg in enumerate(cfgs[1:], start=1):
        if cfg.init_from != first.init_from:
            raise ValueError(f"run {i} starts from other weights than run 0 (init_from); allowed in one batch: "
                             "runs of one init_from")
        aligned = RunConfig(*(_align(getattr(cfg, part), getattr(first, part), PER_RUN_FIELDS[part])
                              for part in ("task", "model", "train")), init_from=first.init_from)
        if aligned != first:
            raise ValueError(
                f"run {i} differs from run 0 outside the per-run fields {PER_RUN_FIELDS}; "
                "runs with different tasks, architectures or schedules cannot be batched"
            )


def _align(part, like, fields):
    """``part`` with the per-run ``fields`` (those it has) copied from ``like``."""
    names = {f.name for f in dataclasses.fields(part)} if dataclasses.is_dataclass(part) else set()
    return dataclasses.replace(part, **{f: getattr(like, f) for f in fields if f in names and hasattr(like, f)}) if names else part


class Ensemble(Runner):
    """K runs as one batched model (``models.stack``): the sweep counterpart of ``train.SingleRun`` for ``fit``."""

    def __init__(self, cfgs: list[RunConfig], device: torch.device):
        check_batchable(cfgs)
        super().__init__(cfgs, device)
        self.model = stack([initial_model(cfg, device) for cfg in cfgs]).to(device)
        self.opt = make_optimizer(dict(self.model.named_parameters()), [c.train for c in cfgs], stacked=True)
        self._init_constraints()

    def logits(self, x: torch.Tensor, shared: bool) -> torch.Tensor:
        """``[K, N, C]``: inputs ``x`` per run ``[K, N, ...]``, or one batch ``[N, ...]`` for all."""
        return self.model.final_logits(x)

    def stacked_params(self) -> dict[str, torch.Tensor]:
        """The stacked parameters ``[K, ...]`` by their per-run (TransformerLens) names."""
        return dict(self.model.named_parameters())

    def states(self) -> list[dict[str, torch.Tensor]]:
        """Each run's weights (TransformerLens names), copied to the CPU."""
        return [unstack(self.model, k) for k in range(len(self.configs))]


def train_many(cfgs: list[RunConfig], device: str | torch.device | None = None, progress: bool = True) -> list[History]:
    """Train ``cfgs`` together as one batched model; one ``History`` per run, in order.

    Each History's ``wall_seconds`` is the time of the whole batch.
    """
    return fit(Ensemble(cfgs, resolve_device(device)), progress)
