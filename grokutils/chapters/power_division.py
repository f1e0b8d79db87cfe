"""The chapter ``book/power_division.ipynb`` (Power et al. 2022): its settings, its numbers and its Checks.

``book`` trains with the paper's AdamW recipe (lr 1e-3, weight decay 1, betas 0.9/0.98, 10 warm-up
steps, batch min(512, half the training set)) at training fraction 0.3, where grokking on x/y mod 97
is slow enough to see clearly and fast enough for 2 CPU cores (measured: training accuracy 99% at
step ~150, validation 99% at ~4,000). ``paper`` is the recipe of the paper's Figure 1: Adam without
weight decay for 10^6 steps at fraction 0.5 (a GPU is advisable). ``smoke`` is a tiny model for tests.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from grokutils.book import Checks, resolve_profile
from grokutils.config import RunConfig, check_float, check_int, resolve_device
from grokutils.history import History
from grokutils.recipes import power_run

ADAMW_RECIPE = "AdamW, lr 1e-3, weight decay 1, betas (0.9, 0.98), 10 warm-up steps, batch min(512, half the training set)"
ADAM_RECIPE = "Adam, lr 1e-3, no weight decay, betas (0.9, 0.98), 10 warm-up steps, batch min(512, half the training set)"

_PROFILES = {
    # profile: p, frac_train, steps, sweep fractions, and the rest of the recipe's arguments
    "smoke": dict(p=23, frac_train=0.5, steps=150, fractions=(0.5, 0.7),
                  run=dict(n_logs=30, d_model=32, n_heads=2, d_head=16, d_mlp=64, optimizer="adamw", weight_decay=1.0)),
    "book": dict(p=97, frac_train=0.3, steps=6000, fractions=(0.3, 0.4, 0.5, 0.6, 0.8),
                 run=dict(n_logs=150, optimizer="adamw", weight_decay=1.0)),
    "paper": dict(p=97, frac_train=0.5, steps=1_000_000, fractions=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
                  run=dict(n_logs=300, optimizer="adam", weight_decay=0.0)),
}


@dataclass(frozen=True)
class PowerSettings:
    """The chapter's runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: seed of the split, the initialisation and the batch order.
        main: the run behind the accuracy and loss figures.
        sweep: data-efficiency runs, one per training fraction, each stopping once validation
            accuracy reaches 99% (the run at ``main``'s fraction is ``main`` itself).
        recipe: a sentence naming the optimiser recipe, for the chapter's prose.
        claims: whether this profile asserts the chapter's findings (False at ``smoke``).
        min_delay_ratio: Checks: validation accuracy must reach 99% at least this many times later
            (in steps) than training accuracy does.
        loss_drop: Checks: after its peak the validation loss falls below this share of its start.
    """

    profile: str
    device: str | None
    seed: int
    main: RunConfig
    sweep: tuple[RunConfig, ...]
    recipe: str
    claims: bool
    min_delay_ratio: float = 10.0
    loss_drop: float = 0.1

    data_files = ()

    @property
    def fractions(self) -> tuple[float, ...]:
        """Training fractions of the data-efficiency sweep, ascending."""
        return tuple(cfg.task.frac_train for cfg in self.sweep)

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        task = self.main.task
        return [f"task: a {task.op} b mod {task.p}, {task.n_train:,} of {task.n_equations:,} equations for training",
                f"optimiser: {self.recipe}; {self.main.train.steps:,} steps",
                f"data-efficiency sweep: training fractions {', '.join(map(str, self.fractions))}"]


def settings(profile: str | None = None, op: str = "div", p: int | None = None, frac_train: float | None = None,
             steps: int | None = None, seed: int = 0, device: str | None = None) -> PowerSettings:
    """The chapter's settings at ``profile`` (the notebook's parameters); ``None`` takes the profile's value."""
    profile = resolve_profile(profile)
    check_int("p", p, 2, none_ok=True)
    check_float("frac_train", frac_train, 0, 1, open_low=True, open_high=True, none_ok=True)
    check_int("steps", steps, 1, none_ok=True)
    check_int("seed", seed)
    resolve_device(device)
    preset = _PROFILES[profile]
    p = preset["p"] if p is None else p
    frac_train = preset["frac_train"] if frac_train is None else frac_train
    steps = preset["steps"] if steps is None else steps
    main = power_run(op, p, frac_train, steps, seed, **preset["run"])
    sweep = tuple(main if f == frac_train else power_run(op, p, f, steps, seed, **preset["run"]).replace(stop_at_val_acc=0.99)
                  for f in sorted({frac_train, *preset["fractions"]}))
    recipe = ADAM_RECIPE if preset["run"]["optimizer"] == "adam" else ADAMW_RECIPE
    return PowerSettings(profile, device, seed, main, sweep, recipe, claims=profile != "smoke")


def measure(main: History, sweep: list[History]) -> dict:
    """The chapter's numbers: when the main run fit and generalised, its losses, and the sweep's steps."""
    val_99 = main.steps_to("val_acc", 0.99)
    after_99 = main.val_acc[main.steps >= val_99] if val_99 is not None else main.val_acc[-1:]
    peak = int(main.val_loss.argmax())
    return {
        "train_99_step": main.steps_to("train_acc", 0.99),
        "val_99_step": val_99,
        "grokking_delay": main.grokking_delay(),
        "final_val_acc": main.val_acc[-1].item(),
        "min_val_acc_after_99": after_99.min().item(),
        "max_train_acc": main.train_acc.max().item(),
        "val_loss_start": main.val_loss[0].item(),
        "val_loss_peak": main.val_loss[peak].item(),
        "val_loss_min_after_peak": main.val_loss[peak:].min().item(),
        "sweep_steps_99": [h.steps_to("val_acc", 0.99) for h in sweep],
        "finite": main.is_finite() and all(h.is_finite() for h in sweep),
    }


def check(results: dict, s: PowerSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``); print each with its measured value."""
    r, checks = results, Checks(s.claims)
    p = s.main.task.p
    checks.expect("every logged metric is finite", r["finite"], r["finite"])
    checks.expect("training accuracy rose above chance (2/p)", f"{r['max_train_acc']:.3f}", r["max_train_acc"] > 2 / p)
    train_99, val_99, ratio = r["train_99_step"], r["val_99_step"], s.min_delay_ratio
    checks.claim("training accuracy reached 99%", train_99, train_99 is not None)
    checks.claim("validation accuracy reached 99%", val_99, val_99 is not None)
    checks.claim(f"validation 99% at least {ratio:g}x later than training 99%", f"steps {train_99} and {val_99}",
                 lambda: None not in (train_99, val_99) and val_99 >= ratio * train_99)
    checks.claim("the validation loss first rose above its start", f"{r['val_loss_start']:.3g} -> peak {r['val_loss_peak']:.3g}",
                 r["val_loss_peak"] > r["val_loss_start"])
    checks.claim(f"then fell below {s.loss_drop:g} of its start", f"{r['val_loss_min_after_peak']:.3g}",
                 r["val_loss_min_after_peak"] < s.loss_drop * r["val_loss_start"])
    steps_99 = r["sweep_steps_99"]
    checks.claim("the largest training fraction generalised sooner than the smallest", steps_99,
                 lambda: steps_99[0] is not None and (steps_99[-1] or math.inf) < steps_99[0])
    return checks.report()
