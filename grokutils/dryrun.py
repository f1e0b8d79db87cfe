"""The dry run: every run a chapter asks for answered by a synthetic History, so a chapter executes end to end at any
profile in seconds.

With ``$GROKUTILS_DRY_RUN=1`` the run cache (``runs.load_or_train``, ``runs.load_or_train_many``) trains nothing and
reads and writes nothing: each config gets ``synthetic(cfg)``, a History with the shapes its real run would have (the
logged steps of its schedule, cut where it would stop early; every metric and probe column; its checkpoints; its
model's initial weights as the final ones) and made-up curves that rise and fall (training accuracy rises, then
validation accuracy; the validation loss rises, then falls), so that every figure, table, glue call, the Checks and
the download of a chapter run. Which curves reach which level is drawn from a hash of the config, so some runs of a
sweep generalise late or never. The tests execute every chapter at ``book`` and ``paper`` this way; nothing it makes
is a result: the page says so (``book.start``, the "Run this chapter" box), its Checks assert only the mechanics,
its runs carry ``DEVICE`` as their device, and no cost is recorded. Two things are smaller than in a real run, so
that the analyses stay fast at ``paper``: a synthetic run keeps at most ``MAX_CHECKPOINTS`` of its checkpoints, and a
chapter bounds an analysis's own size with ``at_most`` (the landscape chapter's grid and examples).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from functools import lru_cache

import torch

from grokutils.config import RunConfig
from grokutils.history import LOGIT_PROBES, PROBES, History
from grokutils.step import stacked_norms

DRY_RUN_ENV = "GROKUTILS_DRY_RUN"
DEVICE = "dry run (synthetic, not trained)"
"""The ``device`` of every synthetic History: an exported dry run says what it is."""
BANNER = ("DRY RUN ($GROKUTILS_DRY_RUN=1): every run on this page is synthetic, not trained; its numbers, figures and "
          "verdicts are not results")
STEEPNESS = 25.0
"""How sharply the synthetic accuracies rise, per unit of the run's (log or linear) schedule."""
MAX_CHECKPOINTS = 6
"""A synthetic run keeps at most this many of its schedule's checkpoint steps (evenly spread, the first and the last
always), so the analyses that read every checkpoint take seconds at ``paper`` too."""
ACC_RESOLUTION = 1e-3
"""Synthetic accuracies are multiples of this, as real ones are counts over a set: they reach 0 and 1 exactly."""


MODES = ("", "0", "1", "null")
"""``$GROKUTILS_DRY_RUN``'s values: off ("" or "0"), the dry run ("1"), and the null fixture ("null")."""
NULL_BANNER = ("NULL FIXTURE ($GROKUTILS_DRY_RUN=null): every run on this page is synthetic and learns nothing "
               "(accuracy at chance, the loss falling by 0.001); the chapter's Checks must fail")


def _mode() -> str:
    value = os.environ.get(DRY_RUN_ENV, "")
    if value not in MODES:
        raise ValueError(f"{DRY_RUN_ENV}={value!r} is not supported; allowed values: {MODES}")
    return value


def enabled() -> bool:
    """True when runs are synthetic: ``$GROKUTILS_DRY_RUN`` is ``"1"`` (the dry run) or ``"null"`` (the null fixture);
    ``""``, unset or ``"0"`` is off, anything else is an error."""
    return _mode() in ("1", "null")


def null() -> bool:
    """True for the null fixture (``$GROKUTILS_DRY_RUN=null``): every synthetic run learns nothing, and the Checks
    assert the chapter's findings on it, so that a chapter whose Checks pass there has a check that cannot fail."""
    return _mode() == "null"


def banner() -> str:
    """What the page says of its synthetic runs: ``BANNER``, or ``NULL_BANNER`` for the null fixture."""
    return NULL_BANNER if null() else BANNER


def synthetic(cfg: RunConfig) -> History:
    """A made-up History of ``cfg``'s run: its log steps, metrics, probes, checkpoints and weights (see the module)."""
    state, params = _initial(cfg.model)
    stacked = {name: p[None] for name, p in params.items()}
    fit_at, general_at = _timing(cfg)
    steps = torch.tensor(cfg.train.log_steps(), dtype=torch.long)
    u = _position(steps, cfg.train)
    chance = 1 / getattr(cfg.task, "p", 10)
    train_acc = _accuracy(chance + (1 - chance) * torch.sigmoid(STEEPNESS * (u - fit_at)))
    val_acc = _accuracy(chance + (1 - chance) * torch.sigmoid(STEEPNESS * (u - general_at)))
    steps, u, train_acc, val_acc = _stop_early(cfg, steps, u, train_acc, val_acc)
    bump = torch.exp(-(((u - fit_at) / 0.1) ** 2))
    start_loss = -math.log(chance)
    scale = 1 + 0.5 * bump - 0.3 * (val_acc - chance) / (1 - chance)
    metrics = {"train_loss": start_loss * (1 - train_acc) + 1e-4,
               "val_loss": start_loss * (1 + bump) * (1 - val_acc) + 1e-4,
               "train_acc": train_acc, "val_acc": val_acc,
               "weight_norm": float(stacked_norms(list(stacked.values()))[0]) * scale}
    if null():
        metrics, scale = _nothing_learned(u, chance, start_loss, metrics["weight_norm"][0]), torch.ones_like(u)
    for probe in cfg.train.probes:
        if probe in LOGIT_PROBES:  # a share of the training examples: made up as half the training accuracy
            metrics.update({name: 0.5 * metrics["train_acc"] for name in _logit_columns(probe)})
        else:
            metrics.update({name: float(col[0]) * scale for name, col in PROBES[probe](stacked).items()})
    stopped = cfg.train.stop_at_val_acc is not None and bool(val_acc[-1] >= cfg.train.stop_at_val_acc)
    return History(cfg, steps, {k: v.double() for k, v in metrics.items()}, _train_index(cfg.task), dict(state), 0.0,
                   DEVICE, _checkpoints=_checkpoints(cfg, int(steps[-1]) if stopped else None, dict(state)))


def _logit_columns(probe: str) -> list[str]:
    """The columns ``history.LOGIT_PROBES[probe]`` gives (read off one made-up example)."""
    return list(LOGIT_PROBES[probe](torch.zeros(1, 1, 2), torch.zeros(1, 1, dtype=torch.long)))


def _nothing_learned(u: torch.Tensor, chance: float, start_loss: float, norm: float) -> dict[str, torch.Tensor]:
    """The null fixture's metrics: both accuracies at chance throughout, both losses falling by 0.001 over the run,
    the weight norm flat."""
    at_chance = _accuracy(torch.full_like(u, chance))
    loss = start_loss - 0.001 * u
    return {"train_loss": loss, "val_loss": loss.clone(), "train_acc": at_chance, "val_acc": at_chance.clone(),
            "weight_norm": torch.full_like(u, float(norm))}


def at_most(value: int | None, dry_limit: int) -> int | None:
    """``value`` (None: unbounded), or ``dry_limit`` where that is smaller and this is a dry run: bounds the size of an
    analysis a chapter runs on its runs (grid points, examples), so that a dry run takes seconds at every profile."""
    if not enabled():
        return value
    return dry_limit if value is None else min(value, dry_limit)


def _accuracy(values: torch.Tensor) -> torch.Tensor:
    return (values / ACC_RESOLUTION).round() * ACC_RESOLUTION


def _timing(cfg: RunConfig) -> tuple[float, float]:
    """Where (in the schedule's 0..1 position) training and validation accuracy rise, drawn from the config's hash:
    validation rises 0.2 to 0.7 after training, so some runs generalise after their budget ends."""
    digest = hashlib.sha256(json.dumps(cfg.describe(), sort_keys=True, default=str).encode()).digest()
    r1, r2 = digest[0] / 255, digest[1] / 255
    fit_at = 0.15 + 0.2 * r1
    return fit_at, fit_at + 0.2 + 0.5 * r2


def _position(steps: torch.Tensor, train) -> torch.Tensor:
    """Each logged step's place in the schedule, 0 to 1, on the axis its figures use (log or linear)."""
    s = steps.double()
    if train.log_spacing == "log":
        return torch.log1p(s) / math.log1p(train.steps)
    return s / train.steps


def _stop_early(cfg: RunConfig, steps, u, train_acc, val_acc):
    """The logs cut after the first step reaching ``stop_at_val_acc``, as the training loop stops there."""
    target = cfg.train.stop_at_val_acc
    hits = (val_acc >= target).nonzero() if target is not None else []
    if not len(hits):
        return steps, u, train_acc, val_acc
    end = int(hits[0, 0]) + 1
    return steps[:end], u[:end], train_acc[:end], val_acc[:end]


@lru_cache(maxsize=256)
def _initial(model_cfg) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The model's initial weights (its state_dict) and its parameters by name, built once per model config (the runs
    of a sweep share them; their tensors are never written to)."""
    model = model_cfg.build()
    state = {k: v.detach() for k, v in model.state_dict().items()}
    return state, {name: state[name] for name, _ in model.named_parameters()}


@lru_cache(maxsize=256)
def _train_index(task):
    """The task's training indices, as its real run stores them (built once per task: MNIST's build reads files)."""
    return task.build("cpu").train_index


def _checkpoints(cfg: RunConfig, stopped_at: int | None, state: dict) -> dict[int, dict[str, torch.Tensor]]:
    """Checkpoints at steps the training loop would keep them (every ``checkpoint_every`` steps before the step the run
    stopped at, or through ``steps``), at most ``MAX_CHECKPOINTS`` of them, each holding the same weights: the steps
    and shapes are real, the weights are not."""
    every = cfg.train.checkpoint_every
    if not every:
        return {}
    steps = list(range(0, cfg.train.steps + 1 if stopped_at is None else stopped_at, every))
    if len(steps) > MAX_CHECKPOINTS:
        picks = torch.linspace(0, len(steps) - 1, MAX_CHECKPOINTS).round().long().unique().tolist()
        steps = [steps[i] for i in picks]
    return {step: state for step in steps}
