"""The chapter ``book/omnigrok_mnist.ipynb`` (Liu, Michaud & Tegmark 2023): its settings, its numbers and its Checks.

Omnigrok's MNIST notebook: the first 1,000 training images, a 784-200-200-10 ReLU MLP whose initial
parameters are multiplied by α = 8, MSE loss on one-hot targets, AdamW (lr 1e-3, weight decay 0.01,
PyTorch's default betas (0.9, 0.999), no warm-up), batch 200, 10^5 steps, accuracy on all 1,000
training and 10,000 test images. ``book`` and ``paper`` train the α = 8 run exactly so (measured on
one CPU thread: training accuracy 100% at step ~2,900, test accuracy 80% at ~35,000; about 6 ms a
step, so 10^5 steps take 10-11 minutes). ``book`` stops the α = 1 baseline at 5,000 steps (measured:
training accuracy 100% at step ~140, test accuracy flat at ~91% from step ~300); ``paper`` runs it for
10^5 too. ``smoke`` is a few hundred images and steps, for tests: it cannot show grokking.

``book/lu_mechanism.ipynb`` and ``book/mnist_ablations.ipynb`` reuse the cached α = 8 run:
``settings(profile, seed=seed).grokking``.
"""
from __future__ import annotations

from dataclasses import dataclass

from grokutils.book import Checks, asserts_findings, check_seed, resolve_profile
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

_PROFILES = {
    # profile: training images, test images, steps of the α run and of the baseline, logged steps
    "smoke": dict(train_points=200, test_points=1000, steps=300, baseline_steps=300, batch_size=50, n_logs=30),
    "book": dict(train_points=1000, test_points=10_000, steps=100_000, baseline_steps=5_000, batch_size=200,
                 n_logs=150),
    "paper": dict(train_points=1000, test_points=10_000, steps=100_000, baseline_steps=100_000, batch_size=200,
                  n_logs=300),
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
        claims: whether this profile asserts the chapter's findings (False at ``smoke``, too small
            to grok: then only the mechanics are checked).
        min_train_acc: Checks, every profile: the final training accuracy of both runs reaches this
            (100%; 30% at ``smoke``).
        general_acc: the test accuracy that counts as "generalised" (80%).
        min_delay_ratio: Checks: in the grokking run, test accuracy passes ``general_acc`` at least
            this many times later (in steps) than training accuracy reaches 100%.
        min_final_test_acc: Checks: the grokking run's final test accuracy reaches this.
        baseline_max_ratio: Checks: the baseline's test accuracy passes ``general_acc`` within this
            many times its step of 100% training accuracy.
        max_test_acc_at_fit: Checks: the grokking run's test accuracy at the logged step where its
            training accuracy first reaches 100% is at most this (the prose calls it low).
        max_norm_ratio: Checks: the grokking run's weight norm when its test accuracy passes
            ``general_acc`` is at most this share of its norm when it fit (the norm fell in between).
    """

    profile: str
    device: str | None
    seed: int
    grokking: RunConfig
    baseline: RunConfig
    recipe: str
    claims: bool
    min_train_acc: float
    general_acc: float = GENERAL_ACC
    min_delay_ratio: float = 10.0
    min_final_test_acc: float = 0.85
    baseline_max_ratio: float = 3.0
    max_test_acc_at_fit: float = 0.5
    max_norm_ratio: float = 0.9

    data_files = tuple(MNIST_FILES.values())

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        task, model, train = self.grokking.task, self.grokking.model, self.grokking.train
        return [f"data: the first {task.train_points:,} MNIST training images; {task.test_points:,} test images",
                f"model: MLP {'-'.join(map(str, model.widths))}, α = {model.init_scale:g}",
                f"optimiser: {self.recipe}; batch {train.batch_size}",
                f"budget: {train.steps:,} steps (the α = 1 baseline: {self.baseline.train.steps:,})"]


def settings(profile: str | None = None, alpha: float = PAPER_ALPHA, steps: int | None = None, seed: int = 0,
             device: str | None = None) -> OmnigrokMNISTSettings:
    """The chapter's runs at ``profile`` (the notebook's parameters); ``steps=None``: the profile's (10^5 at ``book``)."""
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
    preset = dict(_PROFILES[profile])
    main_steps, baseline_steps = preset.pop("steps"), preset.pop("baseline_steps")
    main_steps = main_steps if steps is None else steps
    grokking = omnigrok_mnist_run(float(alpha), main_steps, seed, **preset)
    baseline = omnigrok_mnist_run(1.0, min(baseline_steps, main_steps), seed, **preset)
    claims = asserts_findings(profile)
    return OmnigrokMNISTSettings(profile, device, seed, grokking, baseline, RECIPE, claims=claims,
                                 min_train_acc=1.0 if claims else 0.3)


def fmt(value: float | None, spec: str = ".0f") -> str:
    """``value`` for the prose in format ``spec``, or ``"n/a"`` for None (a run that never reached a threshold)."""
    return "n/a" if value is None else format(value, spec)


def measure(run: History, baseline: History, general_acc: float = GENERAL_ACC) -> dict:
    """The chapter's numbers: when each run fit and generalised (test accuracy ``general_acc``), accuracies, norms."""
    train_100, test_80 = run.steps_to("train_acc", 1.0), run.steps_to("val_acc", general_acc)
    base_train_100 = baseline.steps_to("train_acc", 1.0)
    return {
        "train_100_step": train_100,
        "test_80_step": test_80,
        "test_acc_at_train_100": None if train_100 is None else run.value_at("val_acc", train_100),
        "norm_at_train_100": None if train_100 is None else run.value_at("weight_norm", train_100),
        "norm_at_test_80": None if test_80 is None else run.value_at("weight_norm", test_80),
        "delay_ratio": None if None in (train_100, test_80) else test_80 / train_100,
        "fit_ratio": None if None in (train_100, base_train_100) else train_100 / base_train_100,
        "initial_train_acc": run.train_acc[0].item(),
        "final_train_acc": run.train_acc[-1].item(),
        "final_test_acc": run.val_acc[-1].item(),
        "norm_start": run.weight_norm[0].item(),
        "norm_peak": run.weight_norm.max().item(),
        "norm_end": run.weight_norm[-1].item(),
        "finite": run.is_finite(),
        "base_train_100_step": base_train_100,
        "base_test_80_step": baseline.steps_to("val_acc", general_acc),
        "base_initial_train_acc": baseline.train_acc[0].item(),
        "base_final_train_acc": baseline.train_acc[-1].item(),
        "base_final_test_acc": baseline.val_acc[-1].item(),
        "base_norm_start": baseline.weight_norm[0].item(),
        "base_norm_end": baseline.weight_norm[-1].item(),
        "base_finite": baseline.is_finite(),
    }


def check(results: dict, s: OmnigrokMNISTSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``); print each with its measured value."""
    r, checks = results, Checks(s.claims)
    for name, prefix in (("α run", ""), ("baseline", "base_")):
        first, final = r[f"{prefix}initial_train_acc"], r[f"{prefix}final_train_acc"]
        checks.expect(f"{name}: every logged metric is finite", r[f"{prefix}finite"], r[f"{prefix}finite"])
        checks.expect(f"{name}: final training accuracy reached {s.min_train_acc:.0%}", f"{final:.3f}",
                      final >= s.min_train_acc)
        checks.expect(f"{name}: training accuracy rose", f"{first:.3f} -> {final:.3f}", final > first)
    general, train_100, test_80 = f"{s.general_acc:.0%}", r["train_100_step"], r["test_80_step"]
    checks.claim("α run: training accuracy reached 100%", train_100, train_100 is not None)
    checks.claim(f"α run: test accuracy passed {general}", test_80, test_80 is not None)
    checks.claim(f"α run: test {general} at least {s.min_delay_ratio:g}x later than training 100%",
                 f"steps {train_100} and {test_80}",
                 lambda: None not in (train_100, test_80) and test_80 >= s.min_delay_ratio * train_100)
    at_fit = r["test_acc_at_train_100"]
    checks.claim(f"α run: test accuracy at most {s.max_test_acc_at_fit:.0%} when training accuracy reaches 100%",
                 "n/a" if at_fit is None else f"{at_fit:.3f}", at_fit is not None and at_fit <= s.max_test_acc_at_fit)
    fit_norm, general_norm = r["norm_at_train_100"], r["norm_at_test_80"]
    checks.claim(f"α run: weight norm at test {general} at most {s.max_norm_ratio:g} x its norm at training 100%",
                 "n/a" if None in (fit_norm, general_norm) else f"{fit_norm:.1f} -> {general_norm:.1f}",
                 lambda: None not in (fit_norm, general_norm) and general_norm <= s.max_norm_ratio * fit_norm)
    checks.claim(f"α run: final test accuracy at least {s.min_final_test_acc:.0%}", f"{r['final_test_acc']:.3f}",
                 r["final_test_acc"] >= s.min_final_test_acc)
    checks.claim("α run: the weight norm ended below its peak", f"{r['norm_peak']:.1f} -> {r['norm_end']:.1f}",
                 r["norm_end"] < r["norm_peak"])
    base_train, base_test = r["base_train_100_step"], r["base_test_80_step"]
    checks.claim("baseline: training accuracy reached 100%", base_train, base_train is not None)
    checks.claim(f"baseline: test accuracy passed {general}", base_test, base_test is not None)
    checks.claim(f"baseline: test {general} within {s.baseline_max_ratio:g}x its training 100% step",
                 f"steps {base_train} and {base_test}",
                 lambda: None not in (base_train, base_test) and base_test <= s.baseline_max_ratio * base_train)
    return checks.report()
