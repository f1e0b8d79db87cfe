"""The chapter ``book/lu_mechanism.ipynb`` (Liu, Michaud & Tegmark 2023): its settings, its numbers and its Checks.

The chapter has five parts, each a set of runs:

1. ``landscape``: Omnigrok's MNIST landscape (``mnist/landscape`` in the authors' code): the MNIST MLP
   on the first N training images, trained at a weight norm held fixed at α·w₀ (``fixed_norm=True``,
   no weight decay; AdamW lr 1e-3, batch 100, MSE averaged over the classes), one run per α of a
   log grid over [0.1, 10], for each training-set size N. Each run is evaluated every ``eval_every``
   steps on its training set and the first 2,000 test images; the landscape is the best accuracy and
   the lowest loss (MSE summed over the ten classes, as they report it) over training.
2. ``trajectory``: the unconstrained α = 8 run of ``book/omnigrok_mnist.ipynb`` (that chapter's
   settings, so at the same profile, seed and device it is that chapter's cached run), drawn on the
   landscape of its own training-set size (1,000).
3. ``wd_sweep``: the same α = 8 run, unconstrained, at several weight decays (batched), each run
   stopping once its test accuracy passes ``general_acc``.
4. ``modular``: Nanda et al.'s 1-layer transformer on a+b mod p, the ordinary run (weight decay 1)
   and the one started at 0.8 times the standard initial weights and held at that norm without
   weight decay; each stops once its test accuracy passes ``delay_acc`` (95%, the poster's grokking delay).
5. ``cost_probe``: the same pair at the paper's p = 113 and 30%, for a few epochs, to measure what the
   paper's setting would cost here (train them one by one, ``mode="sequential"``, so that each run's
   ``wall_seconds`` is its own: ``measure`` times the ordinary run).

``paper`` takes Omnigrok's settings (landscape: 21 values of α, their 28 training-set sizes, 10^4 steps,
evaluated every 50; modular addition: p = 113, 30% training data). ``book`` fits about 15 minutes on 2
CPU cores: 11 values of α (every other point of their grid) at three of their sizes (268, 1,000 and
7,196), 3,000 steps evaluated every 100; weight decays large enough that the slowest run generalises in
budget; and p = 97 with 50% training data for modular addition. ``smoke`` is tiny, for tests: it
cannot show the claims, so its Checks test only the mechanics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from grokutils.analysis import lu
from grokutils.book import Checks, asserts_findings, check_seed, fmt_step, resolve_profile
from grokutils.chapters import omnigrok_mnist
from grokutils.config import RunConfig, resolve_device
from grokutils.history import History, steps_to_each
from grokutils.recipes import nanda_run, omnigrok_mnist_run
from grokutils.tasks.mnist import MNIST_FILES

OMNIGROK_EPOCHS = 15_000  # the epochs of Omnigrok's modular-addition notebook (both runs)
CONSTRAINED_INIT = 0.8  # Omnigrok's modular-addition run without grokking: initial weights times 0.8, norm fixed
N_CLASSES = 10
"""MNIST's classes: the logged MSE is averaged over them; Omnigrok's landscape reports the sum (10 times as much)."""


def omnigrok_sizes() -> list[int]:
    """The 28 training-set sizes of Omnigrok's MNIST landscape: 22 log-spaced in [10, 10^4], 5 above, and 60,000."""
    low = [int(10 ** (1 + 3 * i / 21)) for i in range(22)]
    high = [int(10 ** (4 + i / 7)) for i in range(1, 6)]
    return low + high + [60_000]


_PROFILES = {
    "smoke": dict(
        landscape=dict(n_alphas=5, sizes=(100, 200), steps=60, batch_size=50, eval_every=20, test_points=500),
        wd=dict(weight_decays=(0.1, 0.2, 0.4, 0.7, 1.0), steps=60, n_logs=20, general_acc=0.3),
        modular=dict(p=23, frac_train=0.5, steps=60, d_model=32, n_heads=4, d_head=8, d_mlp=64),
        probe=dict(p=23, frac_train=0.3, steps=4, d_model=32, n_heads=4, d_head=8, d_mlp=64),
        trajectory_size=200,
    ),
    "book": dict(
        landscape=dict(n_alphas=11, sizes=(268, 1000, 7196), steps=3000, batch_size=100, eval_every=100,
                       test_points=2000),
        wd=dict(weight_decays=(0.1, 0.15, 0.2, 0.3, 0.5, 1.0), steps=15_000, n_logs=120, general_acc=0.8),
        modular=dict(p=97, frac_train=0.5, steps=3000, d_model=128, n_heads=4, d_head=32, d_mlp=512),
        probe=dict(p=113, frac_train=0.3, steps=20, d_model=128, n_heads=4, d_head=32, d_mlp=512),
        trajectory_size=1000,
    ),
    "paper": dict(
        landscape=dict(n_alphas=21, sizes=tuple(omnigrok_sizes()), steps=10_000, batch_size=100, eval_every=50,
                       test_points=2000),
        wd=dict(weight_decays=(0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3), steps=200_000, n_logs=300, general_acc=0.8),
        modular=dict(p=113, frac_train=0.3, steps=40_000, d_model=128, n_heads=4, d_head=32, d_mlp=512),
        probe=dict(p=113, frac_train=0.3, steps=20, d_model=128, n_heads=4, d_head=32, d_mlp=512),
        trajectory_size=1000,
    ),
}


@dataclass(frozen=True)
class LuMechanismSettings:
    """The chapter's runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: seed of the MNIST initialisations and batch order, and of the modular split and init.
        landscape: per training-set size (ascending), one norm-constrained MNIST run per α
            (ascending), no weight decay; each size's runs are batchable.
        trajectory: the unconstrained α = 8 MNIST run of the MNIST chapter (its cached run).
        trajectory_size: its training-set size, one of the landscape's sizes.
        wd_sweep: the unconstrained α = 8 run at each weight decay (ascending), each stopping at
            ``general_acc`` test accuracy; batchable.
        modular: (standard, constrained): the transformer on a+b mod p with weight decay 1, and the
            one started at ``CONSTRAINED_INIT`` times the standard weights, norm fixed, no decay.
        cost_probe: the same pair at the paper's p = 113 and 30%, a few epochs, timed.
        paper_epochs: the epochs of the paper's modular runs (the cost probe's projection).
        general_acc: test accuracy that counts as "generalised" in the weight-decay sweep.
        claims: whether this profile asserts the chapter's findings (False at ``smoke``).
        fit_tol: Checks: a landscape run "fits" when its best training error is at most this.
        min_lu_gap: Checks: at the smallest size, test minus training error averaged over α > 1 is at
            least this (an L under a U), and at the largest size it is smaller by at least this.
        traj_tol: Checks: the trajectory's final test error is more than this below the landscape's
            test error at its final α (it leaves the landscape; Omnigrok's picture has it on it).
        ci_level: the confidence level of the slope's interval.
        excluded_slope: Checks: the slope's confidence interval excludes this (-0.5: t ∝ 1/√γ).
        min_grok_ratio: Checks: the ordinary modular run's grokking delay is at least this many times
            its epoch of 95% training accuracy.
        max_delay_ratio: Checks: the constrained transformer's grokking delay is under this share of
            the standard one's.
        delay_acc: train and test accuracy that define the grokking delay (95%).
    """

    profile: str
    device: str | None
    seed: int
    landscape: tuple[tuple[RunConfig, ...], ...]
    trajectory: RunConfig
    trajectory_size: int
    wd_sweep: tuple[RunConfig, ...]
    modular: tuple[RunConfig, RunConfig]
    cost_probe: tuple[RunConfig, RunConfig]
    paper_epochs: int
    general_acc: float
    claims: bool
    fit_tol: float = 0.01
    min_lu_gap: float = 0.1
    traj_tol: float = 0.05
    ci_level: float = 0.95
    excluded_slope: float = -0.5
    min_grok_ratio: float = 3.0
    max_delay_ratio: float = 0.2
    delay_acc: float = 0.95

    data_files = tuple(MNIST_FILES.values())

    @property
    def alphas(self) -> list[float]:
        """The landscape's α values (initial norm over the standard init's)."""
        return [c.model.init_scale for c in self.landscape[0]]

    @property
    def sizes(self) -> list[int]:
        """The landscape's training-set sizes."""
        return [runs[0].task.train_points for runs in self.landscape]

    @property
    def weight_decays(self) -> list[float]:
        """The sweep's weight decays γ."""
        return [c.train.weight_decay for c in self.wd_sweep]

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        land, wd, mod = self.landscape[0][0].train, self.wd_sweep[0].train, self.modular[0]
        return [f"landscape: {len(self.alphas)} values of α in [{self.alphas[0]:g}, {self.alphas[-1]:g}] at "
                f"{len(self.sizes)} training-set sizes {self.sizes[:6]}{' ...' if len(self.sizes) > 6 else ''}, "
                f"{land.steps:,} steps, batch {land.batch_size}, evaluated every {eval_every(land):,}, "
                "norm fixed, no weight decay",
                f"trajectory: the MNIST chapter's α = {self.trajectory.model.init_scale:g} run, "
                f"{self.trajectory.train.steps:,} steps, weight decay {self.trajectory.train.weight_decay:g}",
                f"weight decays: {self.weight_decays}; at most {wd.steps:,} steps; "
                f"threshold {self.general_acc:.0%} test accuracy",
                f"modular addition: p = {mod.task.p}, {mod.task.frac_train:.0%} of pairs for training, "
                f"at most {mod.train.steps:,} epochs; cost probe: p = {self.cost_probe[0].task.p}, "
                f"{self.cost_probe[0].task.frac_train:.0%}, {self.cost_probe[0].train.steps} epochs"]


def fmt(value, spec: str = ".2f") -> str:
    """``value`` for the prose in format ``spec``; ``"n/a"`` for None or NaN (a threshold never reached)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec)


def fmt_band(band: tuple[float, float] | None) -> str:
    """A fitting band for the prose: ``"0.63 to 6.31"``, or ``"no value"`` when no run fit."""
    return "no value" if band is None else f"{band[0]:.2f} to {band[1]:.2f}"


def eval_every(train_cfg) -> int:
    """Steps between a landscape run's evaluations (its logs are linearly spaced from 0 to its last step)."""
    return train_cfg.steps // (train_cfg.n_logs - 1)


def alpha_grid(n: int, low: float = 0.1, high: float = 10.0) -> list[float]:
    """``n`` log-spaced α values from ``low`` to ``high``, both included."""
    step = math.log(high / low) / (n - 1)
    return [low * math.exp(i * step) for i in range(n)]


def landscape_runs(size: int, n_alphas: int, steps: int, batch_size: int, eval_every: int, test_points: int,
                   seed: int) -> tuple[RunConfig, ...]:
    """Omnigrok's MNIST run on the first ``size`` images at each α of the grid, norm fixed, no weight decay.

    Evaluated every ``eval_every`` steps (``steps`` must be a multiple) on the training set and the
    first ``test_points`` test images. Training sets smaller than ``batch_size`` train full batch, as
    the authors' data loader gives them.
    """
    if steps % eval_every:
        raise ValueError(f"steps={steps} must be a multiple of eval_every={eval_every}")
    base = omnigrok_mnist_run(1.0, steps, seed, train_points=size, test_points=test_points,
                              batch_size=min(batch_size, size), n_logs=steps // eval_every + 1)
    return tuple(base.replace(init_scale=a, fixed_norm=True, weight_decay=0.0, log_spacing="linear")
                 for a in alpha_grid(n_alphas))


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
    check_seed(seed)
    resolve_device(device)
    preset = _PROFILES[profile]
    land = dict(preset["landscape"])
    sizes = land.pop("sizes")
    trajectory = omnigrok_mnist.settings(profile, seed=seed).grokking
    if preset["trajectory_size"] not in sizes or trajectory.task.train_points != preset["trajectory_size"]:
        raise AssertionError(f"the trajectory's training-set size must be one of the landscape's {sizes}")
    paper_epochs = _PROFILES["paper"]["modular"]["steps"]
    return LuMechanismSettings(
        profile, device, seed,
        landscape=tuple(landscape_runs(n, seed=seed, **land) for n in sizes),
        trajectory=trajectory,
        trajectory_size=preset["trajectory_size"],
        wd_sweep=wd_runs(trajectory, **preset["wd"]),
        modular=modular_runs(seed=seed, delay_acc=LuMechanismSettings.delay_acc, **preset["modular"]),
        cost_probe=tuple(c.replace(n_logs=2, stop_at_val_acc=None) for c in
                         modular_runs(seed=seed, delay_acc=LuMechanismSettings.delay_acc, **preset["probe"])),
        paper_epochs=paper_epochs,
        general_acc=preset["wd"]["general_acc"],
        claims=asserts_findings(profile),
    )


def measure_landscape(landscape: list[list[History]], s: LuMechanismSettings) -> dict:
    """Per training-set size: the best errors and losses over training, α_c, the fitting band and the gap."""
    out = {}
    for size, runs in zip(s.sizes, landscape):
        best = lu.best_over_training(runs, loss_scale=N_CLASSES)
        band = lu.fitting_band(s.alphas, best.train_err, s.fit_tol)
        out[size] = {
            "train_err": best.train_err.tolist(), "test_err": best.test_err.tolist(),
            "train_loss": best.train_loss.tolist(), "test_loss": best.test_loss.tolist(),
            "alpha_c": lu.critical_alpha(s.alphas, best.test_err),
            "test_err_at_alpha_c": best.test_err.min().item(),
            "alpha_c_loss": lu.critical_alpha(s.alphas, best.test_loss),
            "fit_band": band, "fit_band_contiguous": lu.band_is_contiguous(s.alphas, best.train_err, s.fit_tol),
            "gap_right": lu.mean_gap(s.alphas, best.train_err, best.test_err, above=1.0),
            "train_loss_ratio_right": best.train_loss[-1].item() / best.train_loss.min().item(),
            "seconds": runs[0].wall_seconds,
        }
    return out


def measure(landscape: list[list[History]], trajectory: History, wd_sweep: list[History],
            modular: tuple[History, History], probe: tuple[History, History], s: LuMechanismSettings) -> dict:
    """The chapter's numbers: the landscapes, the trajectory's path, the sweep's fit, the delays, the probe's cost."""
    land = measure_landscape(landscape, s)
    at_size = land[s.trajectory_size]
    w0 = lu.unit_norm(s.trajectory.model)
    alpha_end = trajectory.weight_norm[-1].item() / w0
    traj_fit = trajectory.steps_to("train_acc", 1.0)
    alpha_fit = None if traj_fit is None else trajectory.value_at("weight_norm", traj_fit) / w0
    wd_steps = steps_to_each(wd_sweep, "val_acc", s.general_acc)
    reached = [(g, t) for g, t in zip(s.weight_decays, wd_steps) if t is not None]
    fit = lu.fit_power_law(*zip(*reached), level=s.ci_level) if len(reached) >= 2 else None
    standard, constrained = modular
    runs = {"landscape": [h for hs in landscape for h in hs], "trajectory": [trajectory],
            "weight-decay sweep": wd_sweep, "modular addition": [standard, constrained]}
    modular_numbers = {}
    for name, h in (("standard", standard), ("constrained", constrained)):
        fit_step = h.steps_to("train_acc", s.delay_acc)
        modular_numbers[name] = {
            "fit_step": fit_step, "general_step": h.steps_to("val_acc", s.delay_acc),
            "test_acc_at_fit": None if fit_step is None else h.value_at("val_acc", fit_step),
            "norm_start": h.weight_norm[0].item(), "norm_end": h.weight_norm[-1].item()}
    delay = standard.grokking_delay(s.delay_acc)
    std_fit = modular_numbers["standard"]["fit_step"]
    probe_epochs = s.cost_probe[0].train.steps
    probe_seconds = probe[0].wall_seconds / probe_epochs
    return {
        "alphas": s.alphas, "sizes": s.sizes, "landscape": land,
        "landscape_seconds": sum(v["seconds"] for v in land.values()),
        "w0": w0,
        "alpha_start": trajectory.weight_norm[0].item() / w0,
        "alpha_end": alpha_end,
        "traj_train_100_step": traj_fit,
        "alpha_at_fit": alpha_fit,
        "traj_test_err_at_fit": None if traj_fit is None else 1 - trajectory.value_at("val_acc", traj_fit),
        "land_test_err_at_fit": None if alpha_fit is None else lu.interpolate_log(s.alphas, at_size["test_err"],
                                                                                  alpha_fit),
        "traj_test_err_start": 1 - trajectory.val_acc[0].item(),
        "traj_test_err_end": 1 - trajectory.val_acc[-1].item(),
        "land_test_err_at_alpha_end": lu.interpolate_log(s.alphas, at_size["test_err"], alpha_end),
        "land_test_err_at_alpha_start": lu.interpolate_log(s.alphas, at_size["test_err"],
                                                           trajectory.weight_norm[0].item() / w0),
        "wd_steps": wd_steps,
        "wd_reached": reached,
        "wd_fit": fit,
        "wd_slope": math.nan if fit is None else fit.slope,
        "modular": modular_numbers,
        "delay_unconstrained": delay,
        "delay_constrained": constrained.grokking_delay(s.delay_acc),
        "grok_ratio": None if delay is None or not std_fit else delay / std_fit,
        "probe_seconds_per_epoch": probe_seconds,
        "probe_paper_hours": probe_seconds * s.paper_epochs / 3600,
        "probe_omnigrok_hours": probe_seconds * OMNIGROK_EPOCHS / 3600,
        "finite": {name: all(h.is_finite() for h in hs) for name, hs in runs.items()},
    }


def check(results: dict, s: LuMechanismSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``); print each with its measured value."""
    r, checks = results, Checks(s.claims)
    for name, finite in r["finite"].items():
        checks.expect(f"{name}: every logged metric is finite", "finite" if finite else "NaN or inf", finite)
    small, large = r["landscape"][s.sizes[0]], r["landscape"][s.sizes[-1]]
    for size in s.sizes:
        land = r["landscape"][size]
        test = land["test_err"]
        checks.claim(f"N = {size:,}: the test error is U-shaped in α (lowest inside the grid)",
                     f"{land['test_err_at_alpha_c']:.3f} at α_c = {land['alpha_c']:.2f}, ends {test[0]:.3f} and "
                     f"{test[-1]:.3f}", land["test_err_at_alpha_c"] < min(test[0], test[-1]))
    band = small["fit_band"]
    checks.claim(f"N = {s.sizes[0]:,}: the runs fit (training error <= {s.fit_tol:g}) on one band of α containing "
                 "α = 1, and not at the smallest α (the L's floor and its rise)",
                 f"band {fmt_band(band)}, contiguous {small['fit_band_contiguous']}, error at α = {s.alphas[0]:g}: "
                 f"{small['train_err'][0]:.3f}",
                 band is not None and small["fit_band_contiguous"] and band[0] <= 1.0 <= band[1]
                 and small["train_err"][0] > s.fit_tol)
    checks.claim(f"test minus training error over α > 1 is at least {s.min_lu_gap:g} at N = {s.sizes[0]:,} (LU) and "
                 f"at least {s.min_lu_gap:g} smaller at N = {s.sizes[-1]:,} (UU)",
                 f"{small['gap_right']:.3f} and {large['gap_right']:.3f}",
                 small["gap_right"] >= s.min_lu_gap and large["gap_right"] <= small["gap_right"] - s.min_lu_gap)
    ends = large["train_err"][0], large["train_err"][-1]
    checks.claim(f"N = {s.sizes[-1]:,}: the training error is above {s.fit_tol:g} at both ends of the grid and at "
                 "most that inside it (a second U)",
                 f"{ends[0]:.3f} and {ends[1]:.3f}, band {fmt_band(large['fit_band'])}",
                 large["fit_band"] is not None and min(ends) > s.fit_tol)
    end, land_end = r["traj_test_err_end"], r["land_test_err_at_alpha_end"]
    checks.claim(f"the α = 8 run ends left of where it started, its test error more than {s.traj_tol:g} below the "
                 "norm-fixed runs' at its final α (it does not end on the landscape)",
                 f"α {r['alpha_start']:.2f} -> {r['alpha_end']:.2f}; test error {end:.3f} against {land_end:.3f}",
                 r["alpha_end"] < r["alpha_start"] and end < land_end - s.traj_tol)
    wd_steps = r["wd_steps"]
    checks.claim(f"every weight decay reached {s.general_acc:.0%} test accuracy", [fmt_step(t) for t in wd_steps],
                 None not in wd_steps)
    fit = r["wd_fit"]
    checks.claim(f"the slope's {s.ci_level:.0%} confidence interval excludes {s.excluded_slope:g} (t ∝ 1/√γ)",
                 "no fit" if fit is None else f"{fit.slope:.2f}, interval [{fit.slope_low:.2f}, {fit.slope_high:.2f}]",
                 fit is not None and fit.excludes(s.excluded_slope))
    delays = r["delay_unconstrained"], r["delay_constrained"]
    checks.claim(f"both modular runs reached {s.delay_acc:.0%} train and test accuracy",
                 f"delays {[fmt_step(d) for d in delays]}", None not in delays)
    std = r["modular"]["standard"]
    checks.claim(f"the ordinary run groks: its delay is at least {s.min_grok_ratio:g} x its epoch of "
                 f"{s.delay_acc:.0%} training accuracy",
                 f"delay {fmt_step(delays[0])}, fit at epoch {fmt_step(std['fit_step'])}",
                 r["grok_ratio"] is not None and r["grok_ratio"] >= s.min_grok_ratio)
    checks.claim(f"the constrained delay is under {s.max_delay_ratio:g} x the standard one",
                 f"{fmt_step(delays[1])} against {fmt_step(delays[0])}",
                 lambda: None not in delays and delays[1] < s.max_delay_ratio * delays[0])
    return checks.report()
