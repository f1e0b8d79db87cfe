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
cannot show the findings, so its Checks test only the mechanics.

The findings (``FINDINGS``) are Omnigrok's claims in our words, each judged on these runs with the book's three
verdicts (``grokutils.book.findings``); a profile's ``findings`` declares the verdict its runs give.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from grokutils import book
from grokutils.analysis import lu
from grokutils.book import (DOES_NOT_HOLD, HOLDS, UNDECIDED, Checks, Evidence, Finding, asserts_findings, check_odd_knob,
                            check_seed, fmt_pct, fmt_step, judge_all, resolve_profile, turn, verdict_glue)
from grokutils.chapters import omnigrok_mnist
from grokutils.config import RunConfig, check_int, resolve_device
from grokutils.history import History, steps_to_each
from grokutils.recipes import nanda_run, omnigrok_mnist_run
from grokutils.tasks.mnist import MNIST_FILES

OMNIGROK_EPOCHS = 15_000  # the epochs of Omnigrok's modular-addition notebook (both runs)
CONSTRAINED_INIT = 0.8  # Omnigrok's modular-addition run without grokking: initial weights times 0.8, norm fixed
N_CLASSES = 10
"""MNIST's classes: the logged MSE is averaged over them; Omnigrok's landscape reports the sum (10 times as much)."""

FIT_TOL = 0.01
"""A landscape run fits its training set when its best training error is at most this (1%)."""
L_FLOOR, L_RISE = 0.05, 0.1
"""The L at the smallest N: training error at most ``L_FLOOR`` at every α >= 1, and at least ``L_RISE`` at the
smallest α."""
U_RISE = 0.05
"""The U of the training error at the largest N: at both ends of the grid at least this above its lowest value."""
MIN_LU_GAP = 0.1
"""Test minus training error over α > 1: at least this at the smallest N (room to grok), and at least this smaller at
the largest (the room closes)."""
TRAJ_TOL = 0.05
"""The α = 8 run ends on the landscape when its final test error lies within this of the landscape's at its final α."""
CLAIMED_SLOPE, SLOPE_TOL, EXCLUDED_SLOPE = -1.0, 0.25, -0.5
"""t ∝ 1/γ: the fitted slope of log t on log γ within ``SLOPE_TOL`` of -1 (nearer it than -0.5), and its confidence
interval excluding -0.5 (t ∝ 1/√γ)."""
MIN_GROK_RATIO = 3.0
"""The ordinary modular run groks when its grokking delay is at least this many times its epoch of 95% training
accuracy."""
MAX_DELAY_RATIO = 0.2
"""Holding the norm fixed removes the delay when the constrained run's delay is under this share of the ordinary's."""
DELAY_ACC = 0.95
MIN_MODULAR_STEPS = 50  # the least budget ``modular_steps`` takes (the smoke profile trains 60 epochs)
"""Training and test accuracy that define the grokking delay (95%, as Li and Sakib's poster defines it)."""
SOURCE = "liu2023omnigrok"
_FITTED = f"some run at that size fitted its training set (best training error at most {FIT_TOL:.0%})"
_LOG_RATIO = math.log(1.25)
FINDINGS = (
    Finding("test_u", "the test error is a U in the weight norm: lowest at a finite α_c, higher on both sides", SOURCE,
            "at every training-set size, the lower of the test errors at the grid's two ends minus the lowest test "
            "error inside the grid, above 0 (the smallest over the sizes)", f"at every size, {_FITTED}", margin=0.02),
    Finding("training_l", "with little data the training error is an L: the network fits at every norm from the "
            "standard one up, and not at small norms", SOURCE,
            f"at the smallest N, the training error at most {L_FLOOR:.0%} at every α >= 1 and at least {L_RISE:.0%} at "
            "the smallest α; the score is the smaller of the two distances to those thresholds",
            f"at the smallest N, {_FITTED}", margin=0.02),
    Finding("lu_to_uu", "with more data the room for grokking closes: at large norms the test error comes down to the "
            "training error", SOURCE,
            f"test minus training error averaged over α > 1: at least {MIN_LU_GAP:g} at the smallest N, and at least "
            f"{MIN_LU_GAP:g} smaller at the largest; the score is the smaller of the two distances",
            f"at the smallest and the largest N, {_FITTED}", margin=0.02),
    Finding("uu_training", "with much data the training error is a U too: the largest norms fit badly as well", SOURCE,
            f"at the largest N, the lower of the training errors at the grid's two ends minus its lowest value on the "
            f"grid, above {U_RISE:g}",
            f"at the largest N, {_FITTED} (the U has a floor)", margin=0.02),
    Finding("trajectory_on_landscape", "the α = 8 run generalises by sliding down the landscape: at its final norm its "
            "test error is the norm-fixed runs' test error there", SOURCE,
            f"{TRAJ_TOL:g} minus the distance between the run's final test error and the landscape's at its final α "
            "(linear in log α between the grid's points), above 0",
            "the run fitted its training set (100%) and its norm fell (it ends left of where it started)", margin=0.02),
    Finding("wd_inverse", "the time to generalise scales as 1/γ with weight decay γ", SOURCE,
            f"the slope of log(steps to the test-accuracy threshold) on log γ: the smaller of {SLOPE_TOL:g} minus its "
            f"distance from {CLAIMED_SLOPE:g} and {EXCLUDED_SLOPE:g} minus its 95% interval's upper end (an interval "
            f"excluding {EXCLUDED_SLOPE:g}, t ∝ 1/√γ), above 0",
            "every weight decay's run reached the threshold within its budget, and at least 3 did (an interval)",
            margin=0.05),
    Finding("ordinary_groks", "the ordinary transformer on a+b mod p groks: it generalises long after it fits", SOURCE,
            f"its grokking delay over its epoch of {DELAY_ACC:.0%} training accuracy, as "
            f"log(ratio / {MIN_GROK_RATIO:g}), above 0",
            f"the run reached {DELAY_ACC:.0%} training and test accuracy within its budget", margin=_LOG_RATIO),
    Finding("constrained_no_delay", "held at a fixed norm near α_c from the start, the transformer does not grok: its "
            "delay all but disappears", SOURCE,
            f"log({MAX_DELAY_RATIO:g} × the ordinary run's delay / the constrained run's), above 0 (a delay under one "
            "epoch counts as one)", f"both runs reached {DELAY_ACC:.0%} training and test accuracy, and the ordinary "
            f"run grokked (its delay at least {MIN_GROK_RATIO:g} times its fitting time)", margin=_LOG_RATIO),
)
"""Omnigrok's findings, as this chapter measures them. The fitting threshold, the gaps, the trajectory's tolerance, the
excluded slope and the delay ratios are the thresholds the Checks asserted since issue 10, set after that issue's
``book`` runs were known; the margins, the L's floor and rise, the training U's rise and the slope's tolerance were set
in issue 27, before the ``book`` runs of seeds 0 and 1 were known."""
PAPER = dict.fromkeys((f.name for f in FINDINGS), HOLDS)
"""What Omnigrok states: every finding holds."""
BOOK_FINDINGS = dict(PAPER, trajectory_on_landscape=DOES_NOT_HOLD, constrained_no_delay=UNDECIDED)
"""What the ``book`` runs of seeds 0 and 1 show (issue 27's closing note): Omnigrok's findings hold on both, except
that the α = 8 run ends well below the landscape's test error at its final norm (0.109 against 0.407, and 0.115 against
0.439). ``constrained_no_delay`` is undecided (issue 30): the constrained run near α_c turns on rounding. At seed 1 it
reached 95% test accuracy at epoch 379 with torch's multi-tensor Adam and the plain attention, at 364 with the
multi-tensor Adam and the token table, and not within its 3,000 epochs with the fused Adam and the table (83.5%
training and 71.5% test accuracy at the end); at seed 0 it reaches at epoch 182 (holds)."""


def omnigrok_sizes() -> list[int]:
    """The 28 training-set sizes of Omnigrok's MNIST landscape: 22 log-spaced in [10, 10^4], 5 above, and 60,000."""
    low = [int(10 ** (1 + 3 * i / 21)) for i in range(22)]
    high = [int(10 ** (4 + i / 7)) for i in range(1, 6)]
    return low + high + [60_000]


@dataclass(frozen=True)
class LandscapeGroup:
    """The landscape's runs (``landscape_runs``'s arguments) and the training-set sizes, one landscape each.

    Attributes:
        n_alphas: the number of values of α on the log grid over [0.1, 10] (odd, so that α = 1 is on it).
        sizes: the training-set sizes, ascending.
        steps: each run's training steps (a multiple of ``eval_every``).
        batch_size: the minibatch size (smaller training sets train full batch).
        eval_every: steps between evaluations.
        test_points: the test images each evaluation uses (the first of the test set).
    """

    n_alphas: int
    sizes: tuple
    steps: int
    batch_size: int
    eval_every: int
    test_points: int


@dataclass(frozen=True)
class WdGroup:
    """The weight-decay sweep (``wd_runs``'s arguments).

    Attributes:
        weight_decays: the weight decays, one run each.
        steps: each run's budget (it stops earlier once it passes ``general_acc``).
        n_logs: the number of evaluations over the budget.
        general_acc: the test accuracy that counts as generalised.
    """

    weight_decays: tuple
    steps: int
    n_logs: int
    general_acc: float


@dataclass(frozen=True)
class ModularGroup:
    """The modular-addition pair (``modular_runs``'s arguments): Nanda et al.'s 1-layer transformer.

    Attributes:
        p: the modulus.
        frac_train: the share of the p² pairs in the training set.
        steps: the full-batch epochs of each run's budget.
        d_model, n_heads, d_head, d_mlp: the transformer's widths.
    """

    p: int
    frac_train: float
    steps: int
    d_model: int = 128
    n_heads: int = 4
    d_head: int = 32
    d_mlp: int = 512


@dataclass(frozen=True)
class LuProfile:
    """What a profile sets: each group of runs, and the verdicts it declares.

    Attributes:
        landscape: the landscape's runs and training-set sizes.
        wd: the weight-decay sweep.
        modular: the ordinary and the constrained transformer.
        probe: the cost probe (a few steps of the paper's setting, timed).
        trajectory_size: the training-set size of the trajectory (the MNIST chapter's run); one of the landscape's.
        findings: each finding's name -> the verdict this profile's runs give, which the Checks assert.
    """

    landscape: LandscapeGroup
    wd: WdGroup
    modular: ModularGroup
    probe: ModularGroup
    trajectory_size: int
    findings: dict


PROBE = ModularGroup(p=113, frac_train=0.3, steps=20)
"""The cost probe at ``book`` and ``paper``: 20 epochs of the paper's setting."""
PROFILES = {
    "smoke": LuProfile(
        landscape=LandscapeGroup(n_alphas=5, sizes=(100, 200), steps=60, batch_size=50, eval_every=20, test_points=500),
        wd=WdGroup(weight_decays=(0.1, 0.2, 0.4, 0.7, 1.0), steps=60, n_logs=20, general_acc=0.3),
        modular=ModularGroup(p=23, frac_train=0.5, steps=60, d_model=32, n_heads=4, d_head=8, d_mlp=64),
        probe=ModularGroup(p=23, frac_train=0.3, steps=4, d_model=32, n_heads=4, d_head=8, d_mlp=64),
        trajectory_size=200,
        findings=PAPER,
    ),
    "book": LuProfile(
        landscape=LandscapeGroup(n_alphas=11, sizes=(268, 1000, 7196), steps=3000, batch_size=100, eval_every=100,
                                 test_points=2000),
        wd=WdGroup(weight_decays=(0.1, 0.15, 0.2, 0.3, 0.5, 1.0), steps=15_000, n_logs=120, general_acc=0.8),
        modular=ModularGroup(p=97, frac_train=0.5, steps=3000),
        probe=PROBE,
        trajectory_size=1000,
        findings=BOOK_FINDINGS,
    ),
    "paper": LuProfile(
        landscape=LandscapeGroup(n_alphas=21, sizes=tuple(omnigrok_sizes()), steps=10_000, batch_size=100,
                                 eval_every=50, test_points=2000),
        wd=WdGroup(weight_decays=(0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3), steps=200_000, n_logs=300,
                   general_acc=0.8),
        modular=ModularGroup(p=113, frac_train=0.3, steps=40_000),
        probe=PROBE,
        trajectory_size=1000,
        findings=PAPER,
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
        findings: each finding's name (``FINDINGS``) -> the verdict this profile's runs give (``book.VERDICTS``),
            which the Checks assert: ``PAPER`` at ``smoke`` and ``paper``, ``BOOK_FINDINGS`` at ``book``; None when a
            knob was turned (nothing declared).
        claims: whether this profile asserts the chapter's findings (False at ``smoke``).
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``); the
            cost probe always trains one run at a time, since it is timed.
        fit_tol: a landscape run "fits" when its best training error is at most this (``FIT_TOL``).
        l_floor, l_rise: the L at the smallest size: training error at most ``l_floor`` at every α >= 1, and at
            least ``l_rise`` at the smallest α.
        u_rise: the U of the training error at the largest size: at both ends at least this above its lowest value.
        min_lu_gap: at the smallest size, test minus training error averaged over α > 1 is at least this (an L
            under a U), and at the largest size it is smaller by at least this.
        traj_tol: the trajectory ends on the landscape when its final test error lies within this of the
            landscape's test error at its final α (Omnigrok's picture has it on it).
        ci_level: the confidence level of the slope's interval.
        claimed_slope, slope_tol: t ∝ 1/γ: the fitted slope within ``slope_tol`` of ``claimed_slope`` (-1) ...
        excluded_slope: ... and its confidence interval excluding this (-0.5: t ∝ 1/√γ).
        min_grok_ratio: the ordinary modular run groks when its grokking delay is at least this many times its
            epoch of 95% training accuracy.
        max_delay_ratio: the constrained transformer's grokking delay is under this share of the standard one's.
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
    findings: dict | None
    claims: bool
    mode: str | None = None
    fit_tol: float = FIT_TOL
    l_floor: float = L_FLOOR
    l_rise: float = L_RISE
    u_rise: float = U_RISE
    min_lu_gap: float = MIN_LU_GAP
    traj_tol: float = TRAJ_TOL
    ci_level: float = 0.95
    claimed_slope: float = CLAIMED_SLOPE
    slope_tol: float = SLOPE_TOL
    excluded_slope: float = EXCLUDED_SLOPE
    min_grok_ratio: float = MIN_GROK_RATIO
    max_delay_ratio: float = MAX_DELAY_RATIO
    delay_acc: float = DELAY_ACC

    data_files = tuple(MNIST_FILES.values())

    def runs(self) -> dict:
        """The runs ``measure`` reads (``book.run_all``): the landscapes (one tuple of runs per size), the trajectory,
        the weight-decay sweep and the two modular runs; the cost probe is loaded on its own (it is timed)."""
        return {"landscape": self.landscape, "trajectory": self.trajectory, "wd_sweep": self.wd_sweep,
                "modular": self.modular}

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
    """``value`` for the prose in format ``spec`` (``book.fmt``); ``"n/a"`` for None or NaN (a threshold never
    reached)."""
    return book.fmt(None if isinstance(value, float) and math.isnan(value) else value, spec)


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


def landscape_runs(size: int, group: LandscapeGroup, seed: int) -> tuple[RunConfig, ...]:
    """Omnigrok's MNIST run on the first ``size`` images at each α of ``group``'s grid, norm fixed, no weight decay.

    Evaluated every ``group.eval_every`` steps (``group.steps`` must be a multiple) on the training set and the
    first ``group.test_points`` test images. Training sets smaller than the batch size train full batch, as
    the authors' data loader gives them.
    """
    steps, every = group.steps, group.eval_every
    if steps % every:
        raise ValueError(f"steps={steps} must be a multiple of eval_every={every}")
    base = omnigrok_mnist_run(1.0, steps, seed, train_points=size, test_points=group.test_points,
                              batch_size=min(group.batch_size, size), n_logs=steps // every + 1)
    return tuple(base.replace(init_scale=a, fixed_norm=True, weight_decay=0.0, log_spacing="linear")
                 for a in alpha_grid(group.n_alphas))


def wd_runs(base: RunConfig, group: WdGroup) -> tuple[RunConfig, ...]:
    """``base`` (unconstrained) at each of ``group``'s weight decays, each stopping once it passes its
    ``general_acc``."""
    return tuple(base.replace(weight_decay=wd, steps=group.steps, n_logs=group.n_logs,
                              stop_at_val_acc=group.general_acc) for wd in sorted(group.weight_decays))


def modular_runs(group: ModularGroup, seed: int, delay_acc: float) -> tuple[RunConfig, RunConfig]:
    """Nanda's run on a+b mod p (weight decay 1), and the constrained run (see module doc), as ``group`` sets them.

    Logged about 400 times, no checkpoints; each stops once its test accuracy passes ``delay_acc``,
    so the grokking delay is known as soon as possible.
    """
    g = group
    standard = nanda_run(g.p, g.frac_train, g.steps, log_every=max(1, g.steps // 400), seed=seed, d_model=g.d_model,
                         n_heads=g.n_heads, d_head=g.d_head, d_mlp=g.d_mlp).replace(stop_at_val_acc=delay_acc)
    return standard, standard.replace(init_scale=CONSTRAINED_INIT, fixed_norm=True, weight_decay=0.0)


def _check_knobs(n_alphas, modular_steps) -> None:
    """Raise ValueError naming the knob and its allowed values unless each is None or allowed."""
    check_odd_knob("n_alphas", n_alphas, 5, 41, "α = 1 on the grid; at least 5, so that a U has inner points")
    check_int("modular_steps", modular_steps, MIN_MODULAR_STEPS, 10**6, none_ok=True)


def settings(profile: str | None = None, n_alphas: int | None = None, modular_steps: int | None = None,
             seed: int = 0, device: str | None = None) -> LuMechanismSettings:
    """The chapter's settings at ``profile`` (the notebook's parameters).

    ``n_alphas`` replaces the landscape's number of α values and ``modular_steps`` the modular pair's budget in
    epochs (None: the profile's); a turned knob means the profile's declared verdicts do not apply. ``seed`` seeds
    the MNIST initialisations and batch order, and the modular split and init.
    """
    profile = resolve_profile(profile)
    _check_knobs(n_alphas, modular_steps)
    check_seed(seed)
    resolve_device(device)
    preset = PROFILES[profile]
    land, land_turned = turn(preset.landscape, n_alphas=n_alphas)
    mod, mod_turned = turn(preset.modular, steps=modular_steps)
    trajectory = omnigrok_mnist.settings(profile, seed=seed).grokking
    if preset.trajectory_size not in land.sizes or trajectory.task.train_points != preset.trajectory_size:
        raise AssertionError(f"the trajectory's training-set size must be one of the landscape's {land.sizes}")
    delay_acc = LuMechanismSettings.delay_acc
    return LuMechanismSettings(
        profile, device, seed,
        landscape=tuple(landscape_runs(n, land, seed) for n in land.sizes),
        trajectory=trajectory,
        trajectory_size=preset.trajectory_size,
        wd_sweep=wd_runs(trajectory, preset.wd),
        modular=modular_runs(mod, seed, delay_acc),
        cost_probe=tuple(c.replace(n_logs=2, stop_at_val_acc=None)
                         for c in modular_runs(preset.probe, seed, delay_acc)),
        paper_epochs=PROFILES["paper"].modular.steps,
        general_acc=preset.wd.general_acc,
        findings=None if land_turned or mod_turned else preset.findings,
        claims=asserts_findings(profile),
    )


def measure_landscape(landscape: list[list[History]], s: LuMechanismSettings) -> dict:
    """Per training-set size: the best errors and losses over training, α_c, the fitting band and the gap, the U's depth
    (the lower end of the test error minus its lowest value inside the grid: negative where an end is lowest) and the
    L's floor (the largest training error at α >= 1)."""
    out = {}
    from_one = [a >= 1 - 1e-9 for a in s.alphas]
    for size, runs in zip(s.sizes, landscape):
        best = lu.best_over_training(runs, loss_scale=N_CLASSES)
        band = lu.fitting_band(s.alphas, best.train_err, s.fit_tol)
        test = best.test_err
        out[size] = {
            "train_err": best.train_err.tolist(), "test_err": best.test_err.tolist(),
            "train_loss": best.train_loss.tolist(), "test_loss": best.test_loss.tolist(),
            "alpha_c": lu.critical_alpha(s.alphas, best.test_err),
            "test_err_at_alpha_c": best.test_err.min().item(),
            "alpha_c_loss": lu.critical_alpha(s.alphas, best.test_loss),
            "fit_band": band, "fit_band_contiguous": lu.band_is_contiguous(s.alphas, best.train_err, s.fit_tol),
            "gap_right": lu.mean_gap(s.alphas, best.train_err, best.test_err, above=1.0),
            "train_loss_ratio_right": best.train_loss[-1].item() / best.train_loss.min().item(),
            "u_depth": min(test[0].item(), test[-1].item()) - test[1:-1].min().item(),
            "train_err_floor": max(e for e, keep in zip(best.train_err.tolist(), from_one) if keep),
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
        "loss_fell": {name: all(h.train_loss[-1] < h.train_loss[0] for h in hs) for name, hs in runs.items()},
    }


def _fitted(r: dict, sizes: list[int], s: LuMechanismSettings) -> tuple[bool, str]:
    """Whether some landscape run fitted its training set at each of ``sizes``, and the sizes where none did."""
    unfit = [n for n in sizes if r["landscape"][n]["fit_band"] is None]
    return not unfit, (f"no run at N = {', '.join(f'{n:,}' for n in unfit)} fitted its training set (best training "
                       f"error at most {s.fit_tol:.0%})")


def _landscape_evidence(r: dict, s: LuMechanismSettings) -> dict[str, list[Evidence]]:
    """The four landscape findings' measurements."""
    small, large = r["landscape"][s.sizes[0]], r["landscape"][s.sizes[-1]]
    u = [f"N = {n:,}: {land['test_err_at_alpha_c']:.3f} at α_c = {land['alpha_c']:.2f}, ends {land['test_err'][0]:.3f} "
         f"and {land['test_err'][-1]:.3f}" for n, land in r["landscape"].items()]
    ends = large["train_err"][0], large["train_err"][-1]
    floor = min(large["train_err"])
    gaps = small["gap_right"], large["gap_right"]
    return {
        "test_u": [Evidence(min(land["u_depth"] for land in r["landscape"].values()), "; ".join(u),
                            *_fitted(r, s.sizes, s))],
        "training_l": [Evidence(min(small["train_err"][0] - s.l_rise, s.l_floor - small["train_err_floor"]),
                                f"training error {small['train_err'][0]:.3f} at α = {s.alphas[0]:g}, at most "
                                f"{small['train_err_floor']:.3f} at α >= 1 (N = {s.sizes[0]:,})",
                                *_fitted(r, s.sizes[:1], s))],
        "lu_to_uu": [Evidence(min(gaps[0] - s.min_lu_gap, gaps[0] - gaps[1] - s.min_lu_gap),
                              f"gap {gaps[0]:.3f} at N = {s.sizes[0]:,}, {gaps[1]:.3f} at N = {s.sizes[-1]:,}",
                              *_fitted(r, [s.sizes[0], s.sizes[-1]], s))],
        "uu_training": [Evidence(min(ends) - floor - s.u_rise, f"training error {ends[0]:.3f} at α = {s.alphas[0]:g} "
                                 f"and {ends[1]:.3f} at α = {s.alphas[-1]:g}, lowest {floor:.3f}, fitting band "
                                 f"{fmt_band(large['fit_band'])} (N = {s.sizes[-1]:,})", *_fitted(r, s.sizes[-1:], s))],
    }


def _trajectory_evidence(r: dict, s: LuMechanismSettings) -> Evidence:
    """The α = 8 run's final test error against the landscape's at its final α; powered where it fitted and its norm
    fell."""
    end, land_end = r["traj_test_err_end"], r["land_test_err_at_alpha_end"]
    fitted, fell = r["traj_train_100_step"] is not None, r["alpha_end"] < r["alpha_start"]
    why = "the run did not fit its training set" if not fitted else "its norm did not fall"
    return Evidence(s.traj_tol - abs(end - land_end),
                    f"α {r['alpha_start']:.2f} -> {r['alpha_end']:.2f}; test error {end:.3f} against the landscape's "
                    f"{land_end:.3f}", fitted and fell, why)


def _slope_evidence(r: dict, s: LuMechanismSettings) -> Evidence:
    """The weight-decay sweep's slope against -1 and its interval against -0.5; powered where every run reached the
    threshold and at least 3 did."""
    fit, steps = r["wd_fit"], r["wd_steps"]
    reached = len(steps) - steps.count(None)
    score = None if fit is None or math.isnan(fit.slope_high) else \
        min(s.slope_tol - abs(fit.slope - s.claimed_slope), s.excluded_slope - fit.slope_high)
    measured = ("no fit" if fit is None else
                f"slope {fit.slope:.2f}, interval [{fit.slope_low:.2f}, {fit.slope_high:.2f}]")
    return Evidence(score, f"{measured}; {reached} of {len(steps)} weight decays reached {s.general_acc:.0%}",
                    None not in steps and reached >= 3,
                    f"{reached} of {len(steps)} weight decays reached {s.general_acc:.0%} test accuracy within "
                    f"{s.wd_sweep[0].train.steps:,} steps")


def _modular_evidence(r: dict, s: LuMechanismSettings) -> dict[str, list[Evidence]]:
    """The ordinary run's delay over its fitting time, and the constrained run's delay against the ordinary one's."""
    std, con = r["delay_unconstrained"], r["delay_constrained"]
    ratio, fit = r["grok_ratio"], r["modular"]["standard"]["fit_step"]
    reached = f"the ordinary run did not reach {s.delay_acc:.0%} training and test accuracy within its budget"
    grokked = ratio is not None and ratio >= s.min_grok_ratio
    why = (reached if ratio is None else f"the constrained run did not reach {s.delay_acc:.0%} training and test "
           "accuracy within its budget" if grokked else f"the ordinary run did not grok (delay {fmt(ratio, '.1f')} "
           f"times its fitting time, under {s.min_grok_ratio:g})")
    return {
        "ordinary_groks": [Evidence(None if ratio is None else math.log(max(ratio, 1e-9) / s.min_grok_ratio),
                                    f"delay {fmt_step(std)} epochs, fit at epoch {fmt_step(fit)}: {fmt(ratio, '.1f')}x",
                                    ratio is not None, reached)],
        "constrained_no_delay": [Evidence(None if None in (std, con) else
                                          math.log(s.max_delay_ratio * max(std, 1) / max(con, 1)),
                                          f"{fmt_step(con)} epochs against {fmt_step(std)}",
                                          grokked and con is not None, why)],
    }


def evidence(r: dict, s: LuMechanismSettings) -> dict[str, list[Evidence]]:
    """Each finding's measurement in ``r`` (from ``measure``): one seed's runs, so one Evidence each."""
    return {**_landscape_evidence(r, s), "trajectory_on_landscape": [_trajectory_evidence(r, s)],
            "wd_inverse": [_slope_evidence(r, s)], **_modular_evidence(r, s)}


def judged(r: dict, s: LuMechanismSettings) -> list:
    """Every finding's verdict on ``r`` (``book.judge``)."""
    return judge_all(FINDINGS, evidence(r, s))


def check(results: dict, s: LuMechanismSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``): the mechanics, and each finding's verdict as
    ``s.findings`` declares it for the profile; print each with its measured value."""
    r, checks = results, Checks(s.claims)
    for name, finite in r["finite"].items():
        checks.expect(f"{name}: every logged metric is finite", "finite" if finite else "NaN or inf", finite)
    for name, fell in r["loss_fell"].items():
        checks.expect(f"{name}: every run's training loss ended below where it started", fell, fell)
    if s.claims:
        checks.findings(judged(r, s), s.findings)
    return checks.report()


def glued(r: dict, s: LuMechanismSettings) -> dict[str, str]:
    """The chapter's numbers as the prose quotes them (``book.glue`` each), verdicts included: per landscape panel
    (``role``: small, traj, large) ``size_<role>``, ``alpha_c_<role>``, ``test_err_at_alpha_c_<role>``,
    ``test_err_right_<role>``, ``train_err_left_<role>``, ``train_err_right_<role>``, ``fit_band_<role>`` and
    ``gap_<role>``; the trajectory's path, the sweep's slope, the modular delays and the probe's cost."""
    out = {}
    for role, n in (("small", s.sizes[0]), ("traj", s.trajectory_size), ("large", s.sizes[-1])):
        land = r["landscape"][n]
        out.update({f"size_{role}": f"{n:,}", f"alpha_c_{role}": fmt(land["alpha_c"]),
                    f"test_err_at_alpha_c_{role}": fmt(land["test_err_at_alpha_c"], ".3f"),
                    f"test_err_right_{role}": fmt(land["test_err"][-1], ".3f"),
                    f"train_err_left_{role}": fmt(land["train_err"][0], ".2f"),
                    f"train_err_right_{role}": fmt(land["train_err"][-1], ".3f"),
                    f"fit_band_{role}": fmt_band(land["fit_band"]), f"gap_{role}": fmt(land["gap_right"], ".2f")})
    small, traj = r["landscape"][s.sizes[0]], r["landscape"][s.trajectory_size]
    out.update(train_err_floor_small=fmt(small["train_err_floor"], ".3f"),
               alpha_low=fmt(s.alphas[0], "g"), alpha_high=fmt(s.alphas[-1], "g"),
               landscape_seconds=f"{round(r['landscape_seconds'])}",
               landscape_steps=f"{s.landscape[0][0].train.steps:,}",
               train_loss_ratio_small=fmt(small["train_loss_ratio_right"], ",.1f"),
               train_loss_ratio_traj=fmt(traj["train_loss_ratio_right"], ",.0f"),
               alpha_c_loss_small=fmt(small["alpha_c_loss"]))
    for name, spec in (("w0", ".1f"), ("alpha_start", ".1f"), ("alpha_end", ".2f"), ("traj_test_err_start", ".2f"),
                       ("traj_test_err_end", ".3f"), ("land_test_err_at_alpha_end", ".3f"), ("alpha_at_fit", ".2f"),
                       ("traj_test_err_at_fit", ".2f"), ("land_test_err_at_fit", ".2f")):
        out[name] = fmt(r[name], spec)
    out.update(traj_train_100_step=fmt_step(r["traj_train_100_step"]), traj_steps=f"{s.trajectory.train.steps:,}")
    out.update(_sweep_glue(r, s), **_modular_glue(r, s))
    return {**out, **verdict_glue(judged(r, s))}


def _sweep_glue(r: dict, s: LuMechanismSettings) -> dict[str, str]:
    fit, steps = r["wd_fit"], r["wd_steps"]
    return {"wd_slope": fmt(r["wd_slope"]), "wd_slope_low": fmt(None if fit is None else fit.slope_low),
            "wd_slope_high": fmt(None if fit is None else fit.slope_high),
            "wd_minus_one": "n/a" if fit is None else ("excludes" if fit.excludes(s.claimed_slope) else "includes"),
            "general_acc": fmt_pct(s.general_acc, 0), "wd_steps_slowest": fmt_step(steps[0]),
            "wd_steps_fastest": fmt_step(steps[-1]), "wd_budget": f"{s.wd_sweep[0].train.steps:,}",
            "wd_reached": str(len(steps) - steps.count(None)), "wd_count": str(len(steps))}


def _modular_glue(r: dict, s: LuMechanismSettings) -> dict[str, str]:
    std, probe = r["modular"]["standard"], s.cost_probe[0].task
    return {"delay_unconstrained": fmt_step(r["delay_unconstrained"]),
            "delay_constrained": fmt_step(r["delay_constrained"]), "grok_ratio": fmt(r["grok_ratio"], ".1f"),
            "mod_p": str(s.modular[0].task.p), "mod_frac": fmt_pct(s.modular[0].task.frac_train, 0),
            "std_fit_step": fmt_step(std["fit_step"]), "std_test_acc_at_fit": fmt_pct(std["test_acc_at_fit"], 0),
            "probe_p": str(probe.p), "probe_frac": fmt_pct(probe.frac_train, 0),
            "probe_ms_per_epoch": fmt(1000 * r["probe_seconds_per_epoch"], ",.0f"),
            "probe_paper_hours": fmt(r["probe_paper_hours"], ".1f"),
            "probe_omnigrok_hours": fmt(r["probe_omnigrok_hours"], ".1f"), "paper_epochs": f"{s.paper_epochs:,}"}


def wd_summary(r: dict, s: LuMechanismSettings) -> str:
    """The weight-decay sweep, one line per weight decay: the step its test accuracy passed the threshold."""
    return "\n".join(f"weight decay {g:g}: test accuracy {s.general_acc:.0%} at step {fmt_step(t)}"
                     for g, t in zip(s.weight_decays, r["wd_steps"]))


def modular_summary(r: dict, s: LuMechanismSettings) -> str:
    """The two modular-addition runs, one line each: when they fitted and generalised, and their weight norms."""
    return "\n".join(f"{name}: train {s.delay_acc:.0%} at epoch {fmt_step(run['fit_step'])} (test accuracy then "
                     f"{fmt_pct(run['test_acc_at_fit'], 0)}), test {s.delay_acc:.0%} at epoch "
                     f"{fmt_step(run['general_step'])}, weight norm {run['norm_start']:.1f} -> {run['norm_end']:.1f}"
                     for name, run in r["modular"].items())
