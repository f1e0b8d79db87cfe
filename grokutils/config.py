"""What determines a run: ``RunConfig`` = a task, a model and a ``TrainConfig``; plus the checks of values.

A task config has ``build(device) -> Split`` and ``n_train``; a model config has ``build() -> nn.Module``
(a module with ``final_logits``), ``init_scale`` and ``seed``. Every config is a frozen dataclass whose
fields are checked in ``__post_init__``; the ``check_*`` helpers here give every message the same form:
the parameter, the value and the allowed values.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from grokutils.step import GRAD_TRANSFORMS, LOSSES

OPTIMIZERS = ("adamw", "adam", "muon")
LOG_SPACINGS = ("log", "linear")
PROBES = ("weight_norms", "attn_norms", "matrix_norms", "last_layer_norm", "softmax_collapse", "embedding")
DEVICES = ("cpu", "cuda", None)
DECAY_TARGETS = ("zero", "init")


def check_choice(name: str, value, allowed) -> None:
    """Raise ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; allowed values: {tuple(allowed)}")


def check_int(name: str, value, low: int | None = None, high: int | None = None, none_ok: bool = False) -> None:
    """Raise ValueError unless ``value`` is an integer (not a bool or float) in ``[low, high]`` (or None if allowed)."""
    if value is None and none_ok:
        return
    allowed = f"an integer in [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
    allowed += " or None" if none_ok else ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}={value!r} must be {allowed}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}={value!r} must be {allowed}")


def check_float(name: str, value, low: float | None = None, high: float | None = None, *, open_low: bool = False,
                open_high: bool = False, none_ok: bool = False) -> None:
    """Raise ValueError unless ``value`` is a finite real number in the interval (ints accepted)."""
    if value is None and none_ok:
        return
    interval = (f"{'(' if open_low or low is None else '['}{'-inf' if low is None else low}, "
                f"{'inf' if high is None else high}{')' if open_high or high is None else ']'}")
    allowed = f"a finite number in {interval}"
    allowed += " or None" if none_ok else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be {allowed}")
    if low is not None and (value < low or (open_low and value == low)):
        raise ValueError(f"{name}={value!r} must be {allowed}")
    if high is not None and (value > high or (open_high and value == high)):
        raise ValueError(f"{name}={value!r} must be {allowed}")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` checked: ``"cpu"``, ``"cuda"`` (only where CUDA is available) or None (CUDA if available)."""
    if isinstance(device, torch.device):
        device = device.type
    check_choice("device", device, DEVICES)
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda': CUDA is not available here; use 'cpu' or None")
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Task(Protocol):
    """What the training loop needs of a task config."""

    n_train: int

    def build(self, device: torch.device | str = "cpu") -> Any: ...


class Model(Protocol):
    """What the training loop needs of a model config."""

    init_scale: float
    seed: int

    def build(self) -> torch.nn.Module: ...


@dataclass(frozen=True)
class TrainConfig:
    """How to optimise.

    Attributes:
        steps: number of optimiser updates.
        batch_size: examples per update; ``None`` is full batch (one update per epoch).
        lr: peak learning rate.
        weight_decay: decoupled (AdamW) or L2 (Adam) weight decay.
        betas: Adam's moment decay rates.
        embed_lr: the learning rate of the embedding, the parameters named ``embed.*`` (a transformer's ``W_E``, the
            representation of Liu et al.'s toy model), which Liu et al. optimise apart from the decoder (None: ``lr``;
            ``update_noise`` still scales with ``lr``).
        embed_weight_decay: the embedding's weight decay (None: ``weight_decay``; Liu et al.: 0).
        adam_eps: Adam's epsilon, added to the root of the second moment (1e-8 in every source's code;
            Thilak et al. report that 1e-5 removes slingshot spikes).
        optimizer: ``"adamw"``, ``"adam"`` or ``"muon"``: Muon (``muon.Muon``: orthogonalised momentum, torch's
            defaults, its update scaled to AdamW's size so that ``lr`` and ``weight_decay`` mean what they mean for
            AdamW) on the hidden weight matrices, AdamW with ``betas`` and ``adam_eps`` on the other parameters.
        fused_adam: take the moment update from torch's fused Adam kernel (the default) instead of its multi-tensor
            one: one pass over the parameters, 1.07x to 1.29x faster steps for the book's small models on this book's
            CPU (issue 30; no change for the Power chapter's model), and equal to the multi-tensor update only to
            rounding (so a run differs from one without it after a few hundred steps).
        warmup_steps: the learning rate at update ``t`` (counted from 0) is ``lr * min(t / warmup_steps, 1)``,
            as both ``openai/grok`` and Nanda et al.'s code schedule it (the first update has lr 0).
        loss: ``"cross_entropy"`` on integer labels, ``"cross_entropy_f64"`` (the same, its log-softmax
            in float64, as Nanda et al. compute it), ``"cross_entropy_f16"`` (in float16, Prieto et al.'s lowest
            softmax precision), ``"stablemax"`` (Prieto et al.'s StableMax cross-entropy, in float64), ``"mse"``
            against one-hot targets, averaged over the classes (Omnigrok's MNIST run), ``"mse_sum"``, summed over
            them (Omnigrok's landscape code), or ``"template_mse"``, the squared error to the label's template of a
            model whose logits are minus those errors (Liu et al.'s toy model, ``models.RepDecoder``).
        grad_transforms: names of gradient transforms (``step.GRAD_TRANSFORMS``) applied in order
            between the backward pass and the optimiser: ``"grokfast_ema"`` (Grokfast's EMA filter), ``"orthograd"``
            (Prieto et al.'s ⊥Grad: each weight tensor's gradient without its component along the weights).
        grokfast_alpha: the decay of Grokfast's EMA filter (their ``alpha``; used with ``"grokfast_ema"``).
        grokfast_lamb: how much of the filtered gradient Grokfast adds to the gradient (their ``lamb``).
        probes: extra metrics logged at the logged steps, by name (see ``history.PROBES``):
            ``"weight_norms"`` (per parameter group), ``"attn_norms"`` (per layer), ``"matrix_norms"`` (per weight
            matrix), ``"last_layer_norm"``, ``"softmax_collapse"`` (the shares of training examples whose softmax
            has collapsed, and whose loss is exactly 0, with the softmax in float16, float32 and float64;
            ``history.LOGIT_PROBES``), ``"embedding"`` (every entry of a small embedding ``embed.W_E``: Liu et al.'s
            representation over training).
        n_logs: number of steps at which metrics are computed (always including 0 and ``steps``).
        max_eval_train: compute the training-set metrics on at most this many training examples, the first of the
            training set (a random sample where the task's split is shuffled; None: all). Logging costs a forward
            pass over both sets at every logged step; a cap makes it cheaper for large training sets.
        log_spacing: ``"log"`` (for log-axis figures) or ``"linear"``.
        checkpoint_every: keep a copy of the weights every this many steps (``None``: none).
        stop_at_val_acc: a run stops at its first logged step whose validation accuracy reaches this
            (in a batched sweep each run stops on its own; ``None``: never stop early).
        fixed_norm: after every update, rescale all parameters so their total L2 norm stays at its
            initial value (Omnigrok's constrained training).
        update_noise: standard deviation of Gaussian noise added to every update, in units of the learning rate:
            ``W <- W + lr * (dW + update_noise * eps)`` with ``dW`` the optimiser's step and ``eps ~ N(0, 1)`` per
            weight (Hu, Zhou and Yu: 1; 0: none).
        weight_noise: standard deviation of Gaussian noise added to every weight for each training forward and
            backward pass; the gradient is taken at the noisy weights and the update applied to the clean ones
            (Hu, Zhou and Yu: 0.01; 0: none). Metrics are computed without it.
        decay_to: what weight decay pulls the weights towards: ``"zero"`` (AdamW, Adam's L2) or ``"init"``, the run's
            initial weights (Power et al.'s "weight decay towards the initialization": decay of ``W - W_0``).
        seed: seed of the minibatch order (and, offset, of the run's noise and dropout: ``noise.generators``).
    """

    steps: int = 1000
    batch_size: int | None = None
    lr: float = 1e-3
    weight_decay: float = 1.0
    embed_lr: float | None = None
    embed_weight_decay: float | None = None
    betas: tuple[float, float] = (0.9, 0.98)
    adam_eps: float = 1e-8
    optimizer: str = "adamw"
    fused_adam: bool = True
    warmup_steps: int = 10
    loss: str = "cross_entropy"
    grad_transforms: tuple[str, ...] = ()
    grokfast_alpha: float = 0.98
    grokfast_lamb: float = 2.0
    probes: tuple[str, ...] = ()
    n_logs: int = 200
    max_eval_train: int | None = None
    log_spacing: str = "log"
    checkpoint_every: int | None = None
    stop_at_val_acc: float | None = None
    fixed_norm: bool = False
    update_noise: float = 0.0
    weight_noise: float = 0.0
    decay_to: str = "zero"
    seed: int = 0

    def __post_init__(self):
        for name, allowed in (("optimizer", OPTIMIZERS), ("loss", LOSSES), ("log_spacing", LOG_SPACINGS),
                              ("decay_to", DECAY_TARGETS)):
            check_choice(name, getattr(self, name), allowed)
        for probe in self.probes:
            check_choice("probes", probe, PROBES)
        for name in self.grad_transforms:
            check_choice("grad_transforms", name, tuple(GRAD_TRANSFORMS))
        if self.optimizer == "muon" and self.decay_to != "zero":
            raise ValueError(f"decay_to={self.decay_to!r} is not supported with optimizer='muon'; allowed values: 'zero'")
        if not isinstance(self.fused_adam, bool):
            raise ValueError(f"fused_adam={self.fused_adam!r} must be True or False")
        check_int("steps", self.steps, 1)
        check_int("batch_size", self.batch_size, 1, none_ok=True)
        check_float("lr", self.lr, 0, open_low=True)
        check_float("weight_decay", self.weight_decay, 0)
        check_float("embed_lr", self.embed_lr, 0, open_low=True, none_ok=True)
        check_float("embed_weight_decay", self.embed_weight_decay, 0, none_ok=True)
        check_float("grokfast_alpha", self.grokfast_alpha, 0, 1, open_high=True)
        check_float("grokfast_lamb", self.grokfast_lamb, 0)
        check_float("adam_eps", self.adam_eps, 0, open_low=True)
        check_int("warmup_steps", self.warmup_steps, 0)
        check_int("n_logs", self.n_logs, 2)
        check_int("max_eval_train", self.max_eval_train, 1, none_ok=True)
        check_int("checkpoint_every", self.checkpoint_every, 1, none_ok=True)
        check_float("stop_at_val_acc", self.stop_at_val_acc, 0, 1, none_ok=True)
        check_float("update_noise", self.update_noise, 0)
        check_float("weight_noise", self.weight_noise, 0)
        check_int("seed", self.seed)

    def log_steps(self) -> list[int]:
        """The sorted, distinct steps at which metrics are computed: 0 and ``steps`` included."""
        if self.log_spacing == "log":
            grid = torch.logspace(0, math.log10(self.steps), self.n_logs - 1).round().long().tolist()
        else:
            grid = torch.linspace(0, self.steps, self.n_logs).round().long().tolist()
        return sorted({0, self.steps, *grid})


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run: the task, the model and the optimisation.

    Attributes:
        task: a task config (``tasks.ModularConfig``, ``tasks.MNISTConfig``): ``build(device) -> Split``.
        model: a model config (``models.TransformerConfig``, ``models.MLPConfig``): ``build() -> nn.Module``.
        train: the optimisation (``TrainConfig``).
        init_from: a run whose final weights this run starts from instead of ``model``'s initialisation (None:
            none): Varma et al.'s continued training of a grokked network. Its model config must equal ``model``;
            it is part of this run's key, so a changed parent gives a new child.
    """

    task: Task
    model: Model
    train: TrainConfig = field(default_factory=TrainConfig)
    init_from: "RunConfig | None" = None

    def __post_init__(self):
        if self.init_from is not None:
            if not isinstance(self.init_from, RunConfig):
                raise ValueError(f"init_from={self.init_from!r} must be a RunConfig or None")
            if self.init_from.model != self.model:
                raise ValueError("init_from's model config differs from model; allowed: the same model config "
                                 f"(got {self.init_from.model!r} and {self.model!r})")
        n_train = getattr(self.task, "n_train", None)
        bs = self.train.batch_size
        if n_train is not None and bs is not None and bs > n_train:
            raise ValueError(f"batch_size={bs} is larger than the training set ({n_train} examples); "
                             f"allowed values: 1..{n_train} or None (full batch)")

    def replace(self, **overrides) -> "RunConfig":
        """A copy with fields of ``task``, ``model`` or ``train`` replaced.

        Unknown names raise TypeError, and so do names that several parts share (``seed``): replace
        those in their part with ``dataclasses.replace``.
        """
        parts = {"task": {}, "model": {}, "train": {}}
        for key, value in overrides.items():
            owners = [name for name in parts if key in {f.name for f in dataclasses.fields(getattr(self, name))}]
            if len(owners) != 1:
                raise TypeError(f"unknown config key {key!r}" if not owners else
                                f"{key!r} is a field of {' and '.join(owners)}: replace it in one part")
            parts[owners[0]][key] = value
        return RunConfig(**{name: dataclasses.replace(getattr(self, name), **kw) for name, kw in parts.items()},
                         init_from=self.init_from)

    def describe(self) -> dict:
        """The config as plain data (class names and fields), as the run cache stores and hashes it; ``init_from``
        (only when set) as its own ``describe()``."""
        out = {name: [type(part).__name__, dataclasses.asdict(part)] for name, part in
               (("task", self.task), ("model", self.model), ("train", self.train))}
        if self.init_from is not None:
            out["init_from"] = ["RunConfig", self.init_from.describe()]
        return out
