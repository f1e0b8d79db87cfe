"""The chapter ``book/lu_mechanism.ipynb`` (Liu, Michaud & Tegmark 2023): its settings, its numbers and its Checks.

The chapter has four parts, each a set of runs:

1. ``landscape``: the Omnigrok MNIST MLP (first 1,000 training images, MSE on one-hot targets,
   AdamW lr 1e-3 with betas (0.9, 0.999)) trained at a weight norm held fixed at α·w₀
   (``fixed_norm=True``, no weight decay), one run per α on a log grid over [0.1, 10], trained
   together as one batched model.
2. ``trajectory``: the unconstrained α = 8 run of ``book/omnigrok_mnist.ipynb`` (that chapter's
   settings, so at the same profile, seed and device it is that chapter's cached run).
3. ``wd_sweep``: the same α = 8 run, unconstrained, at several weight decays (batched), each run
   stopping once its test accuracy passes ``general_acc``.
4. ``modular``: Nanda et al.'s 1-layer transformer on a+b mod p, the ordinary run (weight decay 1)
   and the one started at 0.8 times the standard initial weights and held at that norm without
   weight decay; each stops once its test accuracy passes ``delay_acc``.

``paper`` takes Omnigrok's settings (landscape: 10^4 steps per α, batch 100; modular addition: p =
113, 30% training data). ``book`` fits about 20 minutes on 2 CPU cores: shorter landscape runs at
batch 200, weight decays large enough that the slowest run generalises in budget, and a 50%
training fraction for modular addition. ``smoke`` is tiny, for tests: it cannot show the claims,
so its Checks test only the mechanics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from grokutils.analysis import lu
from grokutils.book import Checks, fmt_step, resolve_profile
from grokutils.chapters import omnigrok_mnist
from grokutils.config import RunConfig, check_int, resolve_device
from grokutils.history import History, steps_to_each
from grokutils.recipes import nanda_run
from grokutils.tasks.mnist import MNIST_FILES

CONSTRAINED_INIT = 0.8  # Omnigrok's modular-addition run without grokking: initial weights times 0.8, norm fixed
MAX_SEED = 2**63 - 1  # the largest seed torch's generators take

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


@dataclass(frozen=True)
class LuMechanismSettings:
    """The chapter's runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: seed of the MNIST initialisations and batch order, and of the modular split and init.
        landscape: one norm-constrained MNIST run per α (ascending), no weight decay; batchable.
        trajectory: the unconstrained α = 8 MNIST run of the MNIST chapter (its cached run).
        wd_sweep: the unconstrained α = 8 run at each weight decay (ascending), each stopping at
            ``general_acc`` test accuracy; batchable.
        modular: (standard, constrained): the transformer on a+b mod p with weight decay 1, and the
            one started at ``CONSTRAINED_INIT`` times the standard weights, norm fixed, no decay.
        general_acc: test accuracy that counts as "generalised" in the weight-decay sweep.
        claims: whether this profile asserts the chapter's findings (False at ``smoke``).
        slope_range: Checks: the fitted log-log slope of steps against weight decay lies in this
            closed interval.
        max_delay_ratio: Checks: the constrained transformer's grokking delay is under this share of
            the standard one's.
        delay_acc: train and test accuracy that define the grokking delay (95%).
        norm_tol: Checks: each landscape run's final weight norm is within this relative distance
            of its initial one.
    """

    profile: str
    device: str | None
    seed: int
    landscape: tuple[RunConfig, ...]
    trajectory: RunConfig
    wd_sweep: tuple[RunConfig, ...]
    modular: tuple[RunConfig, RunConfig]
    general_acc: float
    claims: bool
    slope_range: tuple[float, float] = (-1.5, -0.5)
    max_delay_ratio: float = 0.2
    delay_acc: float = 0.95
    norm_tol: float = 1e-3

    data_files = tuple(MNIST_FILES.values())

    @property
    def alphas(self) -> list[float]:
        """The landscape's α values (initial norm over the standard init's)."""
        return [c.model.init_scale for c in self.landscape]

    @property
    def weight_decays(self) -> list[float]:
        """The sweep's weight decays γ."""
        return [c.train.weight_decay for c in self.wd_sweep]

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        land, wd, mod = self.landscape[0].train, self.wd_sweep[0].train, self.modular[0]
        return [f"landscape: {len(self.alphas)} values of α in [{self.alphas[0]:g}, {self.alphas[-1]:g}], "
                f"{land.steps:,} steps, batch {land.batch_size}, norm fixed, no weight decay",
                f"trajectory: the MNIST chapter's α = {self.trajectory.model.init_scale:g} run, "
                f"{self.trajectory.train.steps:,} steps, weight decay {self.trajectory.train.weight_decay:g}",
                f"weight decays: {self.weight_decays}; at most {wd.steps:,} steps; "
                f"threshold {self.general_acc:.0%} test accuracy",
                f"modular addition: p = {mod.task.p}, {mod.task.frac_train:.0%} of pairs for training, "
                f"at most {mod.train.steps:,} epochs"]


def alpha_grid(n: int, low: float = 0.1, high: float = 10.0) -> list[float]:
    """``n`` log-spaced α values from ``low`` to ``high``, both included."""
    step = math.log(high / low) / (n - 1)
    return [low * math.exp(i * step) for i in range(n)]


def landscape_runs(base: RunConfig, n_alphas: int, steps: int, batch_size: int, n_logs: int) -> tuple[RunConfig, ...]:
    """``base`` at each α of the grid, its norm fixed at α·w₀, without weight decay."""
    return tuple(base.replace(init_scale=a, fixed_norm=True, weight_decay=0.0, steps=steps, batch_size=batch_size,
                              n_logs=n_logs) for a in alpha_grid(n_alphas))


def wd_runs(base: RunConfig, weight_decays, steps: int, n_logs: int, general_acc: float) -> tuple[RunConfig, ...]:
    """``base`` (unconstrained) at each weight decay, each stopping once it passes ``general_acc``."""
    return tuple(base.replace(weight_decay=wd, steps=steps, n_logs=n_logs, stop_at_val_acc=general_acc)
                 for wd in sorted(weight_decays))


def modular_runs(p: int, frac_train: float, steps: int, seed: int, delay_acc: float,
                 **widths) -> tuple[RunConfig, RunConfig]:
    """Nanda's run on a+b mod ``p`` (weight decay 1), and the constrained run (see module doc).

    Logged about 400 times, no checkpoints; each stops once its test accuracy passes ``delay_acc``,
    so the grokking delay is known as soon as possible.
    """
    standard = nanda_run(p, frac_train, steps, log_every=max(1, steps // 400), seed=seed, **widths).replace(
        stop_at_val_acc=delay_acc)
    return standard, standard.replace(init_scale=CONSTRAINED_INIT, fixed_norm=True, weight_decay=0.0)


def settings(profile: str | None = None, seed: int = 0, device: str | None = None) -> LuMechanismSettings:
    """The chapter's settings at ``profile`` (the notebook's parameters).

    ``seed`` seeds the MNIST initialisations and batch order, and the modular split and init.
    """
    profile = resolve_profile(profile)
    check_int("seed", seed, 0, MAX_SEED)
    resolve_device(device)
    preset = _PROFILES[profile]
    trajectory = omnigrok_mnist.settings(profile, seed=seed).grokking
    return LuMechanismSettings(
        profile, device, seed,
        landscape=landscape_runs(trajectory, **preset["landscape"]),
        trajectory=trajectory,
        wd_sweep=wd_runs(trajectory, **preset["wd"]),
        modular=modular_runs(seed=seed, delay_acc=LuMechanismSettings.delay_acc, **preset["modular"]),
        general_acc=preset["wd"]["general_acc"],
        claims=profile != "smoke",
    )


def measure(landscape: list[History], trajectory: History, wd_sweep: list[History],
            modular: tuple[History, History], s: LuMechanismSettings) -> dict:
    """The chapter's numbers: the landscape's losses and α_c, the trajectory's path, the sweep's fit, the delays."""
    train_loss, test_loss = lu.final_losses(landscape)
    w0 = lu.unit_norm(s.trajectory.model)
    wd_steps = steps_to_each(wd_sweep, "val_acc", s.general_acc)
    reached = [(g, t) for g, t in zip(s.weight_decays, wd_steps) if t is not None]
    slope, intercept = lu.fit_power_law(*zip(*reached)) if len(reached) >= 2 else (math.nan, math.nan)
    standard, constrained = modular
    runs = {"landscape": landscape, "trajectory": [trajectory], "weight-decay sweep": wd_sweep,
            "modular addition": [standard, constrained]}
    return {
        "alphas": s.alphas,
        "train_loss": train_loss.tolist(),
        "test_loss": test_loss.tolist(),
        "alpha_c": lu.critical_alpha(s.alphas, test_loss),
        "test_loss_at_alpha_c": test_loss.min().item(),
        "test_loss_low_end": test_loss[0].item(),
        "test_loss_high_end": test_loss[-1].item(),
        "landscape_seconds": landscape[0].wall_seconds,
        "landscape_norm_drift": [abs(h.weight_norm[-1].item() / h.weight_norm[0].item() - 1) for h in landscape],
        "w0": w0,
        "alpha_start": trajectory.weight_norm[0].item() / w0,
        "alpha_end": trajectory.weight_norm[-1].item() / w0,
        "traj_test_loss_start": trajectory.val_loss[0].item(),
        "traj_test_loss_end": trajectory.val_loss[-1].item(),
        "traj_train_100_step": trajectory.steps_to("train_acc", 1.0),
        "wd_steps": wd_steps,
        "wd_reached": reached,
        "wd_slope": slope,
        "wd_intercept": intercept,
        "modular": {name: {"fit_step": h.steps_to("train_acc", s.delay_acc),
                           "general_step": h.steps_to("val_acc", s.delay_acc),
                           "norm_start": h.weight_norm[0].item(), "norm_end": h.weight_norm[-1].item()}
                    for name, h in (("standard", standard), ("constrained", constrained))},
        "delay_unconstrained": standard.grokking_delay(s.delay_acc),
        "delay_constrained": constrained.grokking_delay(s.delay_acc),
        "finite": {name: all(h.is_finite() for h in hs) for name, hs in runs.items()},
    }


def check(results: dict, s: LuMechanismSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``); print each with its measured value."""
    r, checks = results, Checks(s.claims)
    for name, finite in r["finite"].items():
        checks.expect(f"{name}: every logged metric is finite", "finite" if finite else "NaN or inf", finite)
    drift = max(r["landscape_norm_drift"])
    checks.expect(f"every landscape run kept its weight norm (relative change under {s.norm_tol:g})",
                  f"largest change {drift:.2g}", drift < s.norm_tol)
    test, train = r["test_loss"], r["train_loss"]
    checks.claim("the test loss is U-shaped in α (lowest inside the grid)",
                 f"{r['test_loss_at_alpha_c']:.4f} at α_c = {r['alpha_c']:.2f}, ends {test[0]:.4f} and {test[-1]:.4f}",
                 r["test_loss_at_alpha_c"] < min(test[0], test[-1]))
    checks.claim("the training loss is L-shaped in α (the three largest α below the smallest)",
                 f"{[round(v, 4) for v in train[-3:]]} against {train[0]:.4f}", all(v < train[0] for v in train[-3:]))
    wd_steps = r["wd_steps"]
    checks.claim(f"every weight decay reached {s.general_acc:.0%} test accuracy", [fmt_step(t) for t in wd_steps],
                 None not in wd_steps)
    low, high = s.slope_range
    checks.claim(f"the log-log slope of steps against weight decay lies in [{low:g}, {high:g}]",
                 f"{r['wd_slope']:.2f}", low <= r["wd_slope"] <= high)
    delays = r["delay_unconstrained"], r["delay_constrained"]
    checks.claim(f"both modular runs reached {s.delay_acc:.0%} train and test accuracy",
                 f"delays {[fmt_step(d) for d in delays]}", None not in delays)
    checks.claim(f"the constrained delay is under {s.max_delay_ratio:g} x the standard one",
                 f"{fmt_step(delays[1])} against {fmt_step(delays[0])}",
                 lambda: None not in delays and delays[1] < s.max_delay_ratio * delays[0])
    return checks.report()
