"""The chapter ``book/omnigrok_mnist.ipynb`` (Liu, Michaud & Tegmark 2023): its settings, runs, numbers, findings
and glue.

Omnigrok's MNIST notebook: the first 1,000 training images, a 784-200-200-10 ReLU MLP whose initial
parameters are multiplied by α = 8, MSE loss on one-hot targets, AdamW (lr 1e-3, weight decay 0.01,
PyTorch's default betas (0.9, 0.999), no warm-up), batch 200, 10^5 steps, accuracy on all 1,000
training and 10,000 test images. ``book`` and ``paper`` train the α = 8 run exactly so (measured on
one CPU thread: training accuracy 100% at step ~2,900, test accuracy 80% at ~35,000; about 6 ms a
step, so 10^5 steps take 10-11 minutes). ``book`` stops the α = 1 baseline at 5,000 steps (measured:
training accuracy 100% at step ~140, test accuracy flat at ~91% from step ~300); ``paper`` runs it for
10^5 too. ``smoke`` is a few hundred images and steps, for tests: it cannot show grokking.

The findings (``FINDINGS``) are Omnigrok's about these two runs: with α = 8 the network fits while its test accuracy
is low, generalises long after it fits, only once its weight norm has fallen, and in the end; with α = 1 it
generalises as it fits.

``book/lu_mechanism.ipynb`` and ``book/mnist_ablations.ipynb`` reuse the cached α = 8 run:
``settings(profile, seed=seed).grokking``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from grokutils.book import (HOLDS, Checks, Evidence, Finding, asserts_findings, check_seed, fmt, fmt_pct,
                            fmt_step, judge_all, resolve_profile, verdict_glue)
from grokutils.config import RunConfig, check_float, check_int, resolve_device
from grokutils.history import History
from grokutils.recipes import omnigrok_mnist_run
from grokutils.tasks.mnist import MNIST_FILES

RECIPE = "MSE on one-hot targets; AdamW, lr 1e-3, weight decay 0.01, betas (0.9, 0.999), no warm-up"
PAPER_ALPHA = 8.0
GENERAL_ACC = 0.8
MIN_STEPS = 30
"""The shortest run allowed: metrics are logged at log-spaced steps (30 at ``smoke``), and fewer steps
would leave too few logged points for the curves and the steps the chapter reports."""
DELAY_RATIO = 10.0
"""A run generalises "long after" it fits when its test accuracy passes ``GENERAL_ACC`` at least this many times
later (in steps) than its training accuracy reaches 100%: the MNIST-ablation chapter's definition of a delay too."""
BASELINE_MAX_RATIO = 3.0
"""The α = 1 run generalises "as it fits" when its test accuracy passes ``GENERAL_ACC`` within this many times its
step of 100% training accuracy."""
MAX_TEST_ACC_AT_FIT = 0.5
"""The α = 8 run's test accuracy is "low" when it fits if it is at most this."""
MIN_FINAL_TEST_ACC = 0.85
"""The α = 8 run has generalised in the end when its final test accuracy reaches this."""

_FIT = "training accuracy first reaches 100%"
_PASS = f"test accuracy first passes {GENERAL_ACC:.0%}"
FINDINGS = (
    Finding("low_at_fit", "with α = 8 the network fits its training set while its test accuracy is still low",
            "liu2023omnigrok", f"the α = 8 run's test accuracy at the logged step where its {_FIT}, at most "
            f"{MAX_TEST_ACC_AT_FIT:.0%}", "the α = 8 run fitted its training set", margin=0.05),
    Finding("generalises_late", "with α = 8 the network generalises long after it fits its training set",
            "liu2023omnigrok", f"the α = 8 run's step where its {_PASS} (its budget's end, where it never does) over "
            f"its step where its {_FIT}, over {DELAY_RATIO:g}, as log(ratio), above 0",
            f"the α = 8 run fitted its training set, and generalised or ran at least {DELAY_RATIO:g} times its fit "
            "step", margin=math.log(1.25)),
    Finding("norm_falls_first", "the α = 8 network generalises only after weight decay has shrunk its weights",
            "liu2023omnigrok", f"the α = 8 run's weight norm where its {_FIT} over its norm where its {_PASS}, as "
            "log(ratio), above 0 (the norm fell in between)",
            f"the α = 8 run fitted its training set and its test accuracy passed {GENERAL_ACC:.0%}",
            margin=math.log(1.1)),
    Finding("generalises_in_the_end", "with α = 8 the network does generalise in the end", "liu2023omnigrok",
            f"the α = 8 run's final test accuracy, at least {MIN_FINAL_TEST_ACC:.0%}",
            "the α = 8 run fitted its training set", margin=0.02),
    Finding("standard_init_no_delay", "with the standard initialisation (α = 1) the same network generalises as it "
            "fits", "liu2023omnigrok", f"the α = 1 run's step where its {_PASS} (its budget's end, where it never "
            f"does) over its step where its {_FIT}, at most {BASELINE_MAX_RATIO:g}, as log({BASELINE_MAX_RATIO:g} / "
            "ratio), above 0", f"the α = 1 run fitted its training set, and generalised or ran at least "
            f"{BASELINE_MAX_RATIO:g} times its fit step", margin=math.log(1.25)),
)
"""Omnigrok's findings on its MNIST runs, in our words. The thresholds are the chapter's earlier Checks (issue 10;
the norm's, 0.9 of the norm at the fit, became "it fell" with a margin of 10%); the margins were set in issue 27,
after earlier ``book`` runs were known (on one CPU thread, seed 0: the α = 8 run fitted at step ~2,900 and passed
80% test accuracy at ~35,000, about 12 times later; the α = 1 run fitted at ~140, test accuracy ~91% from ~300).
The log-ratio margins also cover the logging grid: past step 1,000, consecutive logged steps lie up to 8% apart at
``book``."""
PAPER = dict.fromkeys((f.name for f in FINDINGS), HOLDS)
"""What Omnigrok states: every finding holds."""
BOOK_FINDINGS = dict(PAPER)
"""What the ``book`` runs show on seeds 0 and 1 (issue 27's closing note): every finding holds; the α = 8 run passes 80%
test accuracy 14.1 and 16.5 times after its fit step."""


@dataclass(frozen=True)
class OmnigrokProfile:
    """What a profile sets: the data, the two runs' budgets and logging, and the verdicts it declares.

    Attributes:
        train_points: MNIST training images.
        test_points: MNIST test images.
        steps: the α run's budget.
        baseline_steps: the α = 1 baseline's budget (at most ``steps``).
        batch_size: the minibatch.
        n_logs: logged steps (log-spaced).
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``).
        findings: each finding's name -> the verdict this profile's runs give, which the Checks assert.
    """

    train_points: int
    test_points: int
    steps: int
    baseline_steps: int
    batch_size: int
    n_logs: int
    mode: str | None
    findings: dict


PROFILES = {
    "smoke": OmnigrokProfile(train_points=200, test_points=1000, steps=300, baseline_steps=300, batch_size=50, n_logs=30,
                             mode=None, findings=PAPER),
    "book": OmnigrokProfile(train_points=1000, test_points=10_000, steps=100_000, baseline_steps=5_000, batch_size=200,
                            n_logs=150, mode=None, findings=BOOK_FINDINGS),
    "paper": OmnigrokProfile(train_points=1000, test_points=10_000, steps=100_000, baseline_steps=100_000, batch_size=200,
                             n_logs=300, mode=None, findings=PAPER),
}


@dataclass(frozen=True)
class OmnigrokMNISTSettings:
    """The chapter's two runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: seed of the initialisation and the batch order of both runs.
        grokking: the run with the large initialisation (α = ``alpha``, 8 in the paper).
        baseline: the same model with PyTorch's standard initialisation (α = 1), for at most as
            many steps as ``grokking``.
        recipe: a sentence naming the optimiser recipe, for the chapter's prose.
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``).
        claims: whether this profile asserts the chapter's findings (False at ``smoke``, too small
            to grok: then only the mechanics are checked).
        findings: each finding's name (``FINDINGS``) -> the verdict this profile's runs give
            (``book.VERDICTS``), which the Checks assert: ``PAPER`` at ``smoke`` (not asserted) and
            ``paper``, ``BOOK_FINDINGS`` at ``book`` (None: ``alpha`` or ``steps`` differs from the profile's, and
            the verdicts are printed, not asserted).
        min_train_acc: Checks, every profile: the final training accuracy of both runs reaches this
            (100%; 30% at ``smoke``).
        general_acc: the test accuracy that counts as "generalised" (80%).
        min_delay_ratio: finding ``generalises_late``: test accuracy passes ``general_acc`` at least
            this many times later (in steps) than training accuracy reaches 100% (``DELAY_RATIO``).
        min_final_test_acc: finding ``generalises_in_the_end``: the α run's final test accuracy
            reaches this (``MIN_FINAL_TEST_ACC``).
        baseline_max_ratio: finding ``standard_init_no_delay``: the baseline's test accuracy passes
            ``general_acc`` within this many times its step of 100% training accuracy
            (``BASELINE_MAX_RATIO``).
        max_test_acc_at_fit: finding ``low_at_fit``: the α run's test accuracy at the logged step where
            its training accuracy first reaches 100% is at most this (``MAX_TEST_ACC_AT_FIT``).
    """

    profile: str
    device: str | None
    seed: int
    grokking: RunConfig
    baseline: RunConfig
    recipe: str
    mode: str | None
    claims: bool
    findings: dict | None
    min_train_acc: float
    general_acc: float = GENERAL_ACC
    min_delay_ratio: float = DELAY_RATIO
    min_final_test_acc: float = MIN_FINAL_TEST_ACC
    baseline_max_ratio: float = BASELINE_MAX_RATIO
    max_test_acc_at_fit: float = MAX_TEST_ACC_AT_FIT

    data_files = tuple(MNIST_FILES.values())

    def runs(self) -> dict[str, RunConfig]:
        """Both runs (``book.run_all``): ``{"grokking": the α run, "baseline": the α = 1 run}``."""
        return {"grokking": self.grokking, "baseline": self.baseline}

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        task, model, train = self.grokking.task, self.grokking.model, self.grokking.train
        return [f"data: the first {task.train_points:,} MNIST training images; {task.test_points:,} test images",
                f"model: MLP {'-'.join(map(str, model.widths))}, α = {model.init_scale:g}",
                f"optimiser: {self.recipe}; batch {train.batch_size}",
                f"budget: {train.steps:,} steps (the α = 1 baseline: {self.baseline.train.steps:,})"]


def settings(profile: str | None = None, alpha: float = PAPER_ALPHA, steps: int | None = None, seed: int = 0,
             device: str | None = None) -> OmnigrokMNISTSettings:
    """The chapter's runs at ``profile`` (the notebook's parameters); ``steps=None``: the profile's (10^5 at
    ``book``)."""
    profile = resolve_profile(profile)
    try:
        check_float("alpha", alpha, 0, open_low=True)
    except ValueError as err:
        raise ValueError(f"{err} (the paper's is {PAPER_ALPHA})") from None
    try:
        check_int("steps", steps, MIN_STEPS, none_ok=True)
    except ValueError as err:
        raise ValueError(f"{err}: the chapter logs its metrics at log-spaced steps and needs at least "
                         f"{MIN_STEPS} of them; None takes the profile's") from None
    check_seed(seed)
    resolve_device(device)
    preset = PROFILES[profile]
    findings, mode = preset.findings, preset.mode
    data = dict(train_points=preset.train_points, test_points=preset.test_points, batch_size=preset.batch_size,
                n_logs=preset.n_logs)
    main_steps = preset.steps if steps is None else steps
    turned = float(alpha) != PAPER_ALPHA or main_steps != preset.steps
    grokking = omnigrok_mnist_run(float(alpha), main_steps, seed, **data)
    baseline = omnigrok_mnist_run(1.0, min(preset.baseline_steps, main_steps), seed, **data)
    claims = asserts_findings(profile)
    return OmnigrokMNISTSettings(profile, device, seed, grokking, baseline, RECIPE, mode, claims=claims,
                                 findings=None if turned else findings, min_train_acc=1.0 if claims else 0.3)


def measure(run: History, baseline: History, general_acc: float = GENERAL_ACC) -> dict:
    """The chapter's numbers: when each run fit and generalised (test accuracy ``general_acc``), accuracies, norms."""
    train_100, test_80 = run.steps_to("train_acc", 1.0), run.steps_to("val_acc", general_acc)
    base_train_100, base_test_80 = baseline.steps_to("train_acc", 1.0), baseline.steps_to("val_acc", general_acc)
    return {
        "train_100_step": train_100,
        "test_80_step": test_80,
        "last_step": int(run.steps[-1]),
        "test_acc_at_train_100": None if train_100 is None else run.value_at("val_acc", train_100),
        "norm_at_train_100": None if train_100 is None else run.value_at("weight_norm", train_100),
        "norm_at_test_80": None if test_80 is None else run.value_at("weight_norm", test_80),
        "delay_ratio": None if None in (train_100, test_80) else test_80 / max(train_100, 1),
        "fit_ratio": None if None in (train_100, base_train_100) else train_100 / max(base_train_100, 1),
        "initial_train_acc": run.train_acc[0].item(),
        "final_train_acc": run.train_acc[-1].item(),
        "final_test_acc": run.val_acc[-1].item(),
        "norm_start": run.weight_norm[0].item(),
        "norm_peak": run.weight_norm.max().item(),
        "norm_end": run.weight_norm[-1].item(),
        "finite": run.is_finite(),
        "loss_fell": bool(run.train_loss[-1] < run.train_loss[0]),
        "base_train_100_step": base_train_100,
        "base_test_80_step": base_test_80,
        "base_last_step": int(baseline.steps[-1]),
        "base_delay_ratio": None if None in (base_train_100, base_test_80) else base_test_80 / max(base_train_100, 1),
        "base_initial_train_acc": baseline.train_acc[0].item(),
        "base_final_train_acc": baseline.train_acc[-1].item(),
        "base_final_test_acc": baseline.val_acc[-1].item(),
        "base_norm_start": baseline.weight_norm[0].item(),
        "base_norm_end": baseline.weight_norm[-1].item(),
        "base_finite": baseline.is_finite(),
        "base_loss_fell": bool(baseline.train_loss[-1] < baseline.train_loss[0]),
    }


def _lag(fit: int | None, general: int | None, last: int, ratio: float, name: str, general_acc: float):
    """How many times its fit step a run took to pass ``general_acc`` (its budget's end, where it never did), its
    power (it fitted, and generalised or ran at least ``ratio`` times its fit step), the measurement in words and
    why it has no power."""
    if fit is None:
        return None, False, "did not fit its training set", f"the {name} run did not fit its training set"
    lag = (last if general is None else general) / max(fit, 1)
    words = (f"fit at step {fit:,}, test {general_acc:.0%} at step {general:,}: {lag:.1f}x" if general is not None
             else f"fit at step {fit:,}, test {general_acc:.0%} not reached by step {last:,}: more than {lag:.1f}x")
    why = (f"the {name} run's test accuracy had not passed {general_acc:.0%} when its budget ended, "
           f"{lag:.1f} times its fit step (under {ratio:g})")
    return lag, general is not None or lag >= ratio, words, why


def evidence(r: dict, s: OmnigrokMNISTSettings) -> dict[str, list[Evidence]]:
    """Each finding's measurement in ``r`` (from ``measure``): one seed, so one Evidence each."""
    fit, general, at_fit = r["train_100_step"], r["test_80_step"], r["test_acc_at_train_100"]
    unfit = "the α run did not fit its training set"
    lag, powered, words, why = _lag(fit, general, r["last_step"], s.min_delay_ratio, "α", s.general_acc)
    base_lag, base_powered, base_words, base_why = _lag(r["base_train_100_step"], r["base_test_80_step"],
                                                        r["base_last_step"], s.baseline_max_ratio, "baseline",
                                                        s.general_acc)
    norms = (r["norm_at_train_100"], r["norm_at_test_80"])
    return {
        "low_at_fit": [Evidence(None if at_fit is None else s.max_test_acc_at_fit - at_fit, fmt_pct(at_fit),
                                fit is not None, unfit)],
        "generalises_late": [Evidence(None if lag is None else math.log(lag / s.min_delay_ratio), words, powered,
                                      why)],
        "norm_falls_first": [Evidence(None if None in norms else math.log(norms[0] / norms[1]),
                                      "n/a" if None in norms else f"{norms[0]:.1f} -> {norms[1]:.1f}",
                                      None not in norms,
                                      unfit if fit is None else f"the α run's test accuracy never passed "
                                      f"{s.general_acc:.0%}")],
        "generalises_in_the_end": [Evidence(r["final_test_acc"] - s.min_final_test_acc, fmt_pct(r["final_test_acc"]),
                                            fit is not None, unfit)],
        "standard_init_no_delay": [Evidence(None if base_lag is None else math.log(s.baseline_max_ratio / base_lag),
                                            base_words, base_powered, base_why)],
    }


def judged(r: dict, s: OmnigrokMNISTSettings) -> list:
    """Every finding's verdict on ``r`` (``book.judge``)."""
    return judge_all(FINDINGS, evidence(r, s))


def check(results: dict, s: OmnigrokMNISTSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``): the mechanics of both runs, and each finding's
    verdict as ``s.findings`` declares it; print each with its measured value."""
    r, checks = results, Checks(s.claims)
    for name, prefix in (("α run", ""), ("baseline", "base_")):
        first, final = r[f"{prefix}initial_train_acc"], r[f"{prefix}final_train_acc"]
        checks.expect(f"{name}: every logged metric is finite", r[f"{prefix}finite"], r[f"{prefix}finite"])
        checks.expect(f"{name}: final training accuracy reached {s.min_train_acc:.0%}", f"{final:.3f}",
                      final >= s.min_train_acc)
        checks.expect(f"{name}: training accuracy rose", f"{first:.3f} -> {final:.3f}", final > first)
        checks.expect(f"{name}: training loss ended below where it started", r[f"{prefix}loss_fell"],
                      r[f"{prefix}loss_fell"])
    if s.claims:
        checks.findings(judged(r, s), s.findings)
    return checks.report()


def glued(r: dict, s: OmnigrokMNISTSettings) -> dict[str, str]:
    """The chapter's numbers as the prose quotes them (``book.glue`` each): steps, accuracies, norms and ratios of
    both runs, the findings' thresholds, and the verdicts (``verdict_<name>``)."""
    out = {name: fmt_step(r[name]) for name in ("train_100_step", "test_80_step", "base_train_100_step",
                                                "base_test_80_step")}
    out["test_acc_at_train_100"] = fmt_pct(r["test_acc_at_train_100"])
    out.update({name: fmt_pct(r[name]) for name in ("final_test_acc", "final_train_acc", "base_final_test_acc")})
    out.update({name: fmt(r[name], ".1f") for name in ("norm_at_train_100", "norm_at_test_80", "norm_start",
                                                       "norm_peak", "norm_end", "base_norm_start", "base_norm_end",
                                                       "delay_ratio", "base_delay_ratio")})
    out["fit_ratio"] = fmt(r["fit_ratio"], ".0f")
    out.update(general_acc=f"{s.general_acc:.0%}", min_delay_ratio=f"{s.min_delay_ratio:g}",
               baseline_max_ratio=f"{s.baseline_max_ratio:g}", max_test_acc_at_fit=f"{s.max_test_acc_at_fit:.0%}",
               min_final_test_acc=f"{s.min_final_test_acc:.0%}")
    return {**out, **verdict_glue(judged(r, s))}
