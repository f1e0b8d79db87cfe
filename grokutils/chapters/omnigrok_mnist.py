"""Settings of the chapter ``book/omnigrok_mnist.ipynb`` (Liu, Michaud & Tegmark 2023) at each profile.

Omnigrok's MNIST notebook: the first 1,000 training images, a 784-200-200-10 ReLU MLP whose initial
parameters are multiplied by α = 8, MSE loss on one-hot targets, AdamW (lr 1e-3, weight decay 0.01,
PyTorch's default betas (0.9, 0.999), no warm-up), batch 200, 10^5 steps, accuracy on all 1,000
training and 10,000 test images. ``book`` and ``paper`` train the α = 8 run exactly so (measured on
one CPU thread: training accuracy 100% at step ~2,900, test accuracy 80% at ~35,000; about 6 ms a
step, so 10^5 steps take 10-11 minutes). ``book`` stops the α = 1 baseline at 5,000 steps (measured:
training accuracy 100% at step ~140, test accuracy flat at ~91% from step ~300); ``paper`` runs it for
10^5 too. ``smoke`` is a few hundred images and steps, for tests: it cannot show grokking.
"""
from __future__ import annotations

from dataclasses import dataclass

from grokutils.mnist import MNISTConfig
from grokutils.models import MLPConfig
from grokutils.profiles import resolve_profile
from grokutils.train import RunConfig, TrainConfig

WIDTHS = (784, 200, 200, 10)
RECIPE = "MSE on one-hot targets; AdamW, lr 1e-3, weight decay 0.01, betas (0.9, 0.999), no warm-up"


@dataclass(frozen=True)
class OmnigrokMNISTSettings:
    """The chapter's two runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        grokking: the run with the large initialisation (α = ``alpha``, 8 in the paper).
        baseline: the same model with PyTorch's standard initialisation (α = 1).
        recipe: a sentence naming the optimiser recipe, for the chapter's prose.
        general_acc: the test accuracy that counts as "generalised" (80%).
        min_delay_ratio: test accuracy must pass ``general_acc`` at least this many times later (in
            steps) than training accuracy reaches 100% in the grokking run; None where the profile
            cannot show grokking (then the grokking checks are skipped).
        min_final_test_acc: the grokking run's final test accuracy must reach this (None: skipped).
        baseline_max_ratio: the baseline's test accuracy must pass ``general_acc`` within this many
            times its step of 100% training accuracy (None: skipped).
        min_train_acc: every profile checks that the final training accuracy of both runs reaches this.
    """

    profile: str
    grokking: RunConfig
    baseline: RunConfig
    recipe: str
    general_acc: float
    min_delay_ratio: float | None
    min_final_test_acc: float | None
    baseline_max_ratio: float | None
    min_train_acc: float

    @property
    def checks_grokking(self) -> bool:
        """Whether this profile asserts the grokking claims (False at ``smoke``)."""
        return self.min_delay_ratio is not None


_PROFILES = {
    # profile: training images, test images, steps of the α run and of the baseline, logged steps
    "smoke": dict(train_points=200, test_points=1000, steps=300, baseline_steps=300, batch_size=50, n_logs=30),
    "book": dict(train_points=1000, test_points=10_000, steps=100_000, baseline_steps=5_000, batch_size=200,
                 n_logs=150),
    "paper": dict(train_points=1000, test_points=10_000, steps=100_000, baseline_steps=100_000, batch_size=200,
                  n_logs=300),
}


def run_config(alpha: float, steps: int, seed: int, train_points: int, test_points: int, batch_size: int,
               n_logs: int) -> RunConfig:
    """The MLP on the first ``train_points`` MNIST images with Omnigrok's recipe (see module doc)."""
    task = MNISTConfig(train_points=train_points, test_points=test_points)
    model = MLPConfig(widths=WIDTHS, init_scale=alpha, seed=seed)
    train = TrainConfig(
        steps=steps, batch_size=batch_size, lr=1e-3, weight_decay=0.01, betas=(0.9, 0.999), optimizer="adamw",
        warmup_steps=0, loss="mse", n_logs=n_logs, log_spacing="log", seed=seed,
    )
    return RunConfig(task, model, train)


def settings(profile: str | None = None, alpha: float = 8.0, steps: int | None = None,
             seed: int = 0) -> OmnigrokMNISTSettings:
    """The chapter's runs at ``profile``; ``steps=None`` takes the profile's value (10^5 at ``book``)."""
    profile = resolve_profile(profile)
    if not isinstance(alpha, (int, float)) or alpha <= 0:
        raise ValueError(f"alpha={alpha!r} must be a positive number (the paper's is 8.0)")
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise ValueError(f"steps={steps!r} must be a positive integer or None (the profile's value)")
    preset = dict(_PROFILES[profile])
    main_steps, baseline_steps = preset.pop("steps"), preset.pop("baseline_steps")
    main_steps = main_steps if steps is None else steps
    grokking = run_config(float(alpha), main_steps, seed, **preset)
    baseline = run_config(1.0, min(baseline_steps, main_steps), seed, **preset)
    claimed = profile != "smoke"
    return OmnigrokMNISTSettings(
        profile, grokking, baseline, RECIPE, general_acc=0.8,
        min_delay_ratio=10.0 if claimed else None,
        min_final_test_acc=0.85 if claimed else None,
        baseline_max_ratio=3.0 if claimed else None,
        min_train_acc=1.0 if claimed else 0.3,
    )
