"""Settings of the chapter ``book/lu_mechanism.ipynb`` (Liu, Michaud & Tegmark 2023) at each profile.

The chapter has four parts, each a set of runs:

1. ``landscape``: the Omnigrok MNIST MLP (first 1,000 training images, MSE on one-hot targets,
   AdamW lr 1e-3 with betas (0.9, 0.999)) trained at a weight norm held fixed at α·w₀
   (``fixed_norm=True``, no weight decay), one run per α on a log grid over [0.1, 10], trained
   together as one batched model.
2. ``trajectory``: the unconstrained α = 8 run of ``book/omnigrok_mnist.ipynb`` (its presets, so
   at the same profile and device it is that chapter's cached run).
3. ``wd_sweep``: the same α = 8 run, unconstrained, at several weight decays (batched), stopped
   once every run's test accuracy has passed ``general_acc``.
4. ``modular``: Nanda et al.'s 1-layer transformer on a+b mod p, the ordinary run (weight decay 1)
   and the one started at 0.8 times the standard initial weights and held at that norm without
   weight decay.

``paper`` takes Omnigrok's settings (landscape: 10^4 steps per α, batch 100; modular addition: p =
113, 30% training data). ``book`` fits about 20 minutes on 2 CPU cores: shorter landscape runs at
batch 200, weight decays large enough that the slowest run generalises in budget, and a 50%
training fraction for modular addition. ``smoke`` is tiny, for tests: it cannot show the claims,
so its Checks test only the mechanics.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from grokutils.presets import fourier_circuits, omnigrok_mnist
from grokutils.profiles import resolve_profile
from grokutils.train import RunConfig

CONSTRAINED_INIT = 0.8  # Omnigrok's modular-addition run without grokking: initial weights times 0.8, norm fixed


@dataclass(frozen=True)
class LuMechanismSettings:
    """The chapter's runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        landscape: one norm-constrained MNIST run per α (ascending), no weight decay; batchable.
        trajectory: the unconstrained α = 8 MNIST run of the MNIST chapter (its cached run).
        wd_sweep: the unconstrained α = 8 run at each weight decay (ascending); batchable.
        modular: (standard, constrained): the transformer on a+b mod p with weight decay 1, and the
            one started at ``CONSTRAINED_INIT`` times the standard weights, norm fixed, no decay.
        general_acc: test accuracy that counts as "generalised" in the weight-decay sweep.
        slope_range: Checks: the fitted log-log slope of steps against weight decay lies in this
            closed interval; None where the profile cannot show the claims (then skipped).
        max_delay_ratio: Checks: the constrained transformer's grokking delay is under this share of
            the standard one's; None where skipped.
        delay_acc: train and test accuracy that define the grokking delay (95%).
    """

    profile: str
    landscape: tuple[RunConfig, ...]
    trajectory: RunConfig
    wd_sweep: tuple[RunConfig, ...]
    modular: tuple[RunConfig, RunConfig]
    general_acc: float
    slope_range: tuple[float, float] | None
    max_delay_ratio: float | None
    delay_acc: float = 0.95

    def __post_init__(self):
        if len(self.landscape) < 3 or len(self.wd_sweep) < 2 or len(self.modular) != 2:
            raise ValueError("need at least 3 landscape runs, 2 weight decays and exactly 2 modular runs")
        if list(self.alphas) != sorted(self.alphas) or list(self.weight_decays) != sorted(self.weight_decays):
            raise ValueError("landscape α values and sweep weight decays must be ascending")
        if not all(c.train.fixed_norm and c.train.weight_decay == 0 for c in self.landscape):
            raise ValueError("landscape runs must hold their norm fixed and use no weight decay")
        for name in ("general_acc", "delay_acc"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name}={getattr(self, name)!r} must lie in (0, 1)")

    @property
    def alphas(self) -> list[float]:
        """The landscape's α values (initial norm over the standard init's)."""
        return [c.model.init_scale for c in self.landscape]

    @property
    def weight_decays(self) -> list[float]:
        """The sweep's weight decays γ."""
        return [c.train.weight_decay for c in self.wd_sweep]

    @property
    def claims(self) -> bool:
        """Whether this profile asserts the chapter's claims (False at ``smoke``)."""
        return self.slope_range is not None


_PROFILES = {
    "smoke": dict(
        landscape=dict(n_alphas=12, steps=60, batch_size=50, n_logs=4),
        wd=dict(weight_decays=(0.1, 0.2, 0.4, 0.7, 1.0), steps=60, n_logs=20, general_acc=0.3),
        modular=dict(p=23, frac_train=0.5, steps=60, d_model=32, n_heads=4, d_head=8, d_mlp=64),
    ),
    "book": dict(
        landscape=dict(n_alphas=16, steps=3000, batch_size=200, n_logs=8),
        wd=dict(weight_decays=(0.1, 0.15, 0.2, 0.3, 0.5, 1.0), steps=15_000, n_logs=120, general_acc=0.8),
        modular=dict(p=97, frac_train=0.5, steps=3000, d_model=128, n_heads=4, d_head=32, d_mlp=512),
    ),
    "paper": dict(
        landscape=dict(n_alphas=16, steps=10_000, batch_size=100, n_logs=8),
        wd=dict(weight_decays=(0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3), steps=200_000, n_logs=300, general_acc=0.8),
        modular=dict(p=113, frac_train=0.3, steps=40_000, d_model=128, n_heads=4, d_head=32, d_mlp=512),
    ),
}


def alpha_grid(n: int, low: float = 0.1, high: float = 10.0) -> list[float]:
    """``n`` log-spaced α values from ``low`` to ``high``, both included."""
    step = math.log(high / low) / (n - 1)
    return [low * math.exp(i * step) for i in range(n)]


def landscape_runs(base: RunConfig, n_alphas: int, steps: int, batch_size: int, n_logs: int) -> tuple[RunConfig, ...]:
    """``base`` at each α of the grid, its norm fixed at α·w₀, without weight decay."""
    return tuple(base.replace(init_scale=a, fixed_norm=True, weight_decay=0.0, steps=steps, batch_size=batch_size,
                              n_logs=n_logs) for a in alpha_grid(n_alphas))


def wd_runs(base: RunConfig, weight_decays, steps: int, n_logs: int, general_acc: float) -> tuple[RunConfig, ...]:
    """``base`` (unconstrained) at each weight decay, stopped once all pass ``general_acc``."""
    return tuple(base.replace(weight_decay=wd, steps=steps, n_logs=n_logs, stop_at_val_acc=general_acc)
                 for wd in sorted(weight_decays))


def modular_runs(p: int, frac_train: float, steps: int, seed: int, delay_acc: float,
                 **widths) -> tuple[RunConfig, RunConfig]:
    """Nanda's transformer on a+b mod ``p``: weight decay 1, and the constrained run (see module doc).

    The Fourier chapter's run (full-batch AdamW, lr 1e-3, betas (0.9, 0.98)) without checkpoints,
    logged about 400 times; each run stops once its test accuracy passes ``delay_acc``, so the
    grokking delay is known as soon as possible.
    """
    log_every = max(1, steps // 400)
    standard = fourier_circuits.run_config(p, frac_train, steps, log_every, seed, **widths).replace(
        checkpoint_every=None, stop_at_val_acc=delay_acc)
    return standard, standard.replace(init_scale=CONSTRAINED_INIT, fixed_norm=True, weight_decay=0.0)


def settings(profile: str | None = None, seed: int = 0, **overrides) -> LuMechanismSettings:
    """The chapter's settings at ``profile``.

    ``seed`` seeds the MNIST initialisations and batch order, and the modular split and init.
    ``overrides`` replace fields of ``LuMechanismSettings`` (e.g. ``general_acc``, ``slope_range``);
    an unknown name raises TypeError.
    """
    profile = resolve_profile(profile)
    preset = _PROFILES[profile]
    own = {f.name for f in dataclasses.fields(LuMechanismSettings)} - {"profile"}
    unknown = set(overrides) - own
    if unknown:
        raise TypeError(f"unknown settings key(s) {sorted(unknown)}; allowed: {sorted(own)}")
    trajectory = omnigrok_mnist.settings(profile, alpha=8.0, seed=seed).grokking
    wd = dict(preset["wd"])
    general_acc = overrides.get("general_acc", wd.pop("general_acc"))
    delay_acc = overrides.get("delay_acc", LuMechanismSettings.delay_acc)
    claimed = profile != "smoke"
    fields = dict(
        landscape=landscape_runs(trajectory, **preset["landscape"]),
        trajectory=trajectory,
        wd_sweep=wd_runs(trajectory, general_acc=general_acc, **wd),
        modular=modular_runs(seed=seed, delay_acc=delay_acc, **preset["modular"]),
        general_acc=general_acc,
        slope_range=(-1.5, -0.5) if claimed else None,
        max_delay_ratio=0.2 if claimed else None,
        delay_acc=delay_acc,
    )
    fields.update(overrides)
    return LuMechanismSettings(profile=profile, **fields)
