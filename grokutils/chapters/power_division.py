"""The chapter ``book/power_division.ipynb`` (Power et al. 2022): its settings, its numbers and its Checks.

Runs per profile (``settings``):

- ``main``: AdamW with weight decay 1 on x/y mod 97 (the paper's default recipe, its Appendix A.1.2),
  log-spaced metrics, for the accuracy and loss figures; ``seeds``: the same run with other seeds, each
  stopping at 99% validation accuracy, for the headline numbers' median and range.
- ``no_decay``: the main run with weight decay 0 (AdamW with decay 0 is Adam), same fraction and budget.
- ``controls``: a short window of the main run, its metrics every few steps, three ways: as it is, with
  the loss's log-softmax in float64, and with Adam's eps 1e-5 (Thilak et al. 2022) — do the training-loss
  spikes survive? At ``book`` both controls leave them (``control_findings``).
- ``sweep``: per operation (add, sub, mul, div) and training fraction, steps to 99% validation accuracy.

``book`` keeps the pre-LayerNorm model (``recipes.power_run(architecture="pre_ln")``): openai/grok's
architecture costs about twice as much per step on a CPU (the chapter measures it), and one run of it at
the book setting (issue 10's closing note) fitted but stayed near chance on validation for 6,000 steps. ``paper`` uses
openai/grok's architecture and the paper's budgets; ``smoke`` is a tiny model for tests.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import torch

from grokutils.book import (DOES_NOT_HOLD, HOLDS, UNDECIDED, Checks, Evidence, Finding, asserts_findings, check_seed,
                            fmt, fmt_pct, fmt_step, judge_all, resolve_profile, verdict_glue)
from grokutils.config import RunConfig, check_float, check_int, resolve_device
from grokutils.dispatch import time_steps
from grokutils.history import History
from grokutils.recipes import power_run

MAX_P = 500  # the largest modulus the chapter takes (see ``_check_p``)
CONTROL_NAMES = ("baseline", "float64 loss", "Adam eps 1e-5")
SWEEP_OPS = ("add", "sub", "mul", "div")
"""The operations of the chapter's sweep (the chapter ``interventions_and_operations`` runs Power et al.'s others)."""
DELAY_RATIO = 10.0
"""A run groks when validation accuracy reaches 99% at least this many times later than training accuracy."""
CHANCE_LEVEL = 0.05
"""Validation accuracy counts as near chance (1/97 = 1.0%) below this."""
LOSS_DECADES = 2.0
"""The validation loss collapses when it falls at least this many orders of magnitude from its peak."""
SPIKE_LEVEL = 0.5
"""A spike: a logged step after the first fit with training accuracy below this."""
POWER, THILAK, NANDA = "power2022grokking", "thilak2022slingshot", "nanda2023progress"
_SPIKES_LEFT = "spikes left in the control window: none holds, two or more do not hold, one is within the margin"
_CONTROL_POWER = "the baseline window shows at least 2 spikes, and the control fitted its training set"
FINDINGS = (
    Finding("validation_waits", "validation accuracy reaches 99% long after training accuracy does", POWER,
            f"steps to 99% validation accuracy over steps to 99% training accuracy, at least {DELAY_RATIO:g}x: "
            f"log(ratio / {DELAY_RATIO:g}), above 0, on every seed",
            "the run reached 99% on both accuracies within the budget", margin=math.log(1.25)),
    Finding("chance_at_fit", "when the training set is fitted, validation accuracy is still near chance", POWER,
            f"validation accuracy at the first logged step with 99% training accuracy, below {CHANCE_LEVEL:.0%}: "
            f"{CHANCE_LEVEL:.0%} minus it, on every seed", "the run fitted its training set (99%)", margin=0.01),
    Finding("val_loss_rises", "the validation loss rises while the network memorises (the paper's Figure 4)", POWER,
            "the validation loss's highest value after its first over its first, in orders of magnitude, above 0",
            "the run fitted its training set (99%)", margin=0.05),
    Finding("val_loss_collapses", "then the validation loss falls far below its peak, as the network generalises", POWER,
            f"orders of magnitude from the peak to the lowest value after it, at least {LOSS_DECADES:g}: their number "
            f"minus {LOSS_DECADES:g}", "validation accuracy reached 99% within the budget", margin=0.25),
    Finding("decay_speeds_grokking", "weight decay makes the network generalise sooner", POWER,
            "steps to 99% validation accuracy without weight decay (the budget's end where it never got there) over "
            "the steps with weight decay 1: log(ratio), above 0",
            "the run with weight decay reached 99% validation accuracy and the run without fitted its training set; "
            "a run without that had not reached 99% by the budget's end counts only past the other's steps",
            margin=math.log(1.25)),
    Finding("spikes_after_fit", "after the fit, training accuracy collapses and recovers again and again", THILAK,
            f"spikes in the baseline control window (training accuracy below {SPIKE_LEVEL:.0%} after first reaching "
            "99%): three or more hold, one or none does not hold, two are within the margin",
            "the baseline fitted its training set within the window", margin=0.5),
    Finding("eps_removes_spikes", "raising Adam's eps from 1e-8 to 1e-5 removes the spikes", THILAK, _SPIKES_LEFT,
            _CONTROL_POWER, margin=0.5),
    Finding("float64_removes_spikes", "computing the loss in float64 removes the spikes (Nanda et al. do so because "
            "float32 gave them spikes)", NANDA, _SPIKES_LEFT, _CONTROL_POWER, margin=0.5),
    Finding("more_data_sooner", "with more training data, the network generalises in fewer steps", POWER,
            "per operation measured at several fractions, the smallest log ratio of steps to 99% validation accuracy "
            "at a fraction over the steps at the next larger one (the budget where the smaller never got there), "
            "above 0", "an operation measured at two or more fractions, the larger of each pair reaching 99% within "
            "the budget", margin=math.log(1.1)),
)
"""Power et al.'s findings, and the two remedies for the spikes the chapter tests. The margins and the spike
findings' thresholds were set in issue 27, after the ``book`` runs of issue 10 were known."""
PAPER = dict.fromkeys((f.name for f in FINDINGS), HOLDS)
BOOK_FINDINGS = dict(PAPER, eps_removes_spikes=UNDECIDED, float64_removes_spikes=DOES_NOT_HOLD)
"""What the ``book`` runs show on seeds 0 and 1 (issue 27's closing note): Adam's eps at 1e-5 left 4 of 5 spikes at seed
0 and 1 of 4 at seed 1 (within the margin), so that verdict turns on the seed."""

@dataclass(frozen=True)
class PowerProfile:
    """What a profile sets: the runs' sizes and budgets, and the verdicts it declares.

    Attributes:
        architecture: ``"grok"`` (openai/grok's model) or ``"pre_ln"`` (the book's pre-LayerNorm model).
        p: the modulus of the main run.
        frac_train: the main run's training fraction.
        steps: the main run's optimisation steps.
        n_logs: the main run's logged steps (log-spaced).
        n_seeds: seeds of the headline numbers: the main run and ``n_seeds - 1`` more, each stopping at 99%.
        ops: the operations of the data-efficiency sweep.
        fractions: the sweep's training fractions (the main run stands for its own operation and fraction).
        sweep_steps: the sweep runs' budget (at most ``steps``).
        sweep_log_every: the sweep runs log about every this many steps.
        control_steps: the spike controls' window: the main run's first this many steps, three ways.
        control_log_every: the controls log about every this many steps.
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``).
        widths: model widths replacing the recipe's (``d_model``, ``n_heads``, ``d_head``, ``d_mlp``; empty: the
            paper's).
        findings: each finding's name -> the verdict this profile's runs give, which the Checks assert.
    """

    architecture: str
    p: int
    frac_train: float
    steps: int
    n_logs: int
    n_seeds: int
    ops: tuple[str, ...]
    fractions: tuple[float, ...]
    sweep_steps: int
    sweep_log_every: int
    control_steps: int
    control_log_every: int
    mode: str | None
    widths: dict
    findings: dict


PROFILES = {
    "smoke": PowerProfile("pre_ln", p=23, frac_train=0.5, steps=120, n_logs=30, n_seeds=2, ops=("add", "div"),
                          fractions=(0.7,), sweep_steps=120, sweep_log_every=10, control_steps=60, control_log_every=5,
                          mode=None, widths=dict(d_model=32, n_heads=2, d_head=16, d_mlp=64), findings=PAPER),
    # book: "workers", where a 2-core CPU trains two single runs side by side and no run waits for the pool to finish
    "book": PowerProfile("pre_ln", p=97, frac_train=0.3, steps=6000, n_logs=150, n_seeds=1, ops=SWEEP_OPS,
                         fractions=(0.8,), sweep_steps=6000, sweep_log_every=100, control_steps=2000,
                         control_log_every=20, mode="workers", widths={}, findings=BOOK_FINDINGS),
    "paper": PowerProfile("grok", p=97, frac_train=0.5, steps=1_000_000, n_logs=300, n_seeds=3, ops=SWEEP_OPS,
                          fractions=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8), sweep_steps=100_000, sweep_log_every=100,
                          control_steps=20_000, control_log_every=20, mode=None, widths={}, findings=PAPER),
}


@dataclass(frozen=True)
class PowerSettings:
    """The chapter's runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: seed of the main run's split, initialisation and batch order.
        architecture: ``"grok"`` (openai/grok's model) or ``"pre_ln"`` (the book's pre-LayerNorm model).
        main: the run behind the accuracy and loss figures (AdamW, weight decay 1).
        no_decay: the main run without weight decay (Adam), same fraction and budget.
        seeds: the main run with the next seeds, each stopping at 99% validation accuracy.
        controls: ``CONTROL_NAMES`` -> a run of the control window (baseline, float64 loss, Adam eps 1e-5).
        sweep: ``op`` -> ``((fraction, run), ...)`` ascending; each run stops at 99% validation accuracy
            (the main run stands for its own operation and fraction when the budgets match).
        other_architecture: the main run's config with the other architecture (for the cost comparison).
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``).
        findings: each finding's name -> the verdict this profile's runs give (``book.VERDICTS``), which the Checks
            assert (None: ``op``, ``p``, ``frac_train`` or ``steps`` differs from the profile's, and the verdicts are
            printed, not asserted).
        claims: whether this profile asserts the chapter's findings (False at ``smoke``).
        spike_level: a spike is a logged step after the first fit whose training accuracy is below this.
    """

    profile: str
    device: str | None
    seed: int
    architecture: str
    main: RunConfig
    no_decay: RunConfig
    seeds: tuple[RunConfig, ...]
    controls: dict[str, RunConfig]
    sweep: dict[str, tuple[tuple[float, RunConfig], ...]]
    other_architecture: RunConfig
    mode: str | None
    findings: dict | None
    claims: bool
    spike_level: float = SPIKE_LEVEL

    data_files = ()

    @property
    def fractions(self) -> dict[str, tuple[float, ...]]:
        """The training fractions of the data-efficiency sweep, per operation."""
        return {op: tuple(f for f, _ in runs) for op, runs in self.sweep.items()}

    def runs(self) -> dict:
        """Every run, in the shape ``measure`` takes their Histories (``book.run_all``): main, no_decay, seeds,
        controls and the sweep (per operation, its runs in ascending fraction; the main run stands in it)."""
        return {"main": self.main, "no_decay": self.no_decay, "seeds": list(self.seeds), "controls": dict(self.controls),
                "sweep": {op: [cfg for _, cfg in runs] for op, runs in self.sweep.items()}}

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        task, train = self.main.task, self.main.train
        n_sweep = sum(len(r) for r in self.sweep.values())
        model = "openai/grok" if self.architecture == "grok" else "pre-LayerNorm"
        fractions = sorted({f for fs in self.fractions.values() for f in fs})
        return [f"task: a {task.op} b mod {task.p}, {task.n_train:,} of {task.n_equations:,} equations for training",
                (f"model: {model} transformer; AdamW lr {train.lr:g}, weight decay {train.weight_decay:g}, "
                 f"batch {train.batch_size}, {train.steps:,} steps"),
                (f"seeds: {1 + len(self.seeds)}; spike controls: {', '.join(self.controls)} over "
                 f"{self.controls['baseline'].train.steps:,} steps"),
                f"data-efficiency sweep: {', '.join(self.sweep)} at fractions {fractions} ({n_sweep} runs)"]


def _every(steps: int, log_every: int) -> dict:
    """Linear logging about every ``log_every`` steps (exactly when ``steps`` is a multiple of it)."""
    return dict(n_logs=max(2, steps // log_every + 1), log_spacing="linear")


def _check_p(p: int | None) -> None:
    """Raise ValueError unless ``p`` is None or an integer in [2, MAX_P] (the bound is what one evaluation holds)."""
    try:
        check_int("p", p, 2, MAX_P, none_ok=True)
    except ValueError as err:
        raise ValueError(f"{err}: an evaluation holds the logits of all p² pairs at once, p³ numbers (0.5 GB at "
                         f"p = {MAX_P})") from None


def settings(profile: str | None = None, op: str = "div", p: int | None = None, frac_train: float | None = None,
             steps: int | None = None, seed: int = 0, device: str | None = None) -> PowerSettings:
    """The chapter's settings at ``profile`` (the notebook's parameters); ``None`` takes the profile's value."""
    profile = resolve_profile(profile)
    _check_p(p)
    check_float("frac_train", frac_train, 0, 1, open_low=True, open_high=True, none_ok=True)
    check_int("steps", steps, 1, none_ok=True)
    pre = PROFILES[profile]
    check_seed(seed, pre.n_seeds)
    resolve_device(device)
    p = pre.p if p is None else p
    frac_train = pre.frac_train if frac_train is None else frac_train
    steps = pre.steps if steps is None else steps
    arch, widths = pre.architecture, pre.widths

    def run(op_, frac, n_steps, seed_, **kw):
        return power_run(op_, p, frac, n_steps, seed_, optimizer="adamw", architecture=arch, **widths, **kw)

    main = run(op, frac_train, steps, seed, n_logs=pre.n_logs)
    no_decay = run(op, frac_train, steps, seed, n_logs=pre.n_logs, weight_decay=0.0).replace(stop_at_val_acc=0.99)
    seeds = tuple(run(op, frac_train, steps, seed + i, n_logs=pre.n_logs).replace(stop_at_val_acc=0.99)
                  for i in range(1, pre.n_seeds))
    window = min(pre.control_steps, steps)
    every = _every(window, pre.control_log_every)
    controls = {"baseline": run(op, frac_train, window, seed, **every),
                "float64 loss": run(op, frac_train, window, seed, loss="cross_entropy_f64", **every),
                "Adam eps 1e-5": run(op, frac_train, window, seed, adam_eps=1e-5, **every)}
    sweep_steps = min(pre.sweep_steps, steps)
    sweep = {}
    for op_ in pre.ops:
        runs = [(f, run(op_, f, sweep_steps, seed, **_every(sweep_steps, pre.sweep_log_every)).replace(stop_at_val_acc=0.99))
                for f in pre.fractions if f != frac_train or op_ != op or sweep_steps != steps]
        if op_ == op and sweep_steps == steps:
            runs.append((frac_train, main))
        sweep[op_] = tuple(sorted(runs, key=lambda fr: fr[0]))
    other = power_run(op, p, frac_train, steps, seed, architecture="grok" if arch == "pre_ln" else "pre_ln", **widths)
    turned = (op, p, frac_train, steps) != ("div", pre.p, pre.frac_train, pre.steps)
    return PowerSettings(profile, device, seed, arch, main, no_decay, seeds, controls, sweep, other, pre.mode,
                         None if turned else pre.findings, claims=asserts_findings(profile))


def architecture_costs(s: PowerSettings, steps: int = 5) -> dict[str, float]:
    """Measured seconds per step of the chapter's model and of the other architecture, by architecture name."""
    other = "grok" if s.architecture == "pre_ln" else "pre_ln"
    return {s.architecture: step_seconds(s.main, steps, s.device), other: step_seconds(s.other_architecture, steps, s.device)}


def step_seconds(cfg: RunConfig, steps: int = 5, device=None) -> float:
    """Measured seconds per optimiser step of ``cfg`` (``dispatch.time_steps``), at this process's threads."""
    check_int("steps", steps, 1)
    return time_steps([cfg], resolve_device(device), steps)


def count_spikes(history: History, level: float = 0.5, fit: float = 0.99, until: int | None = None) -> dict:
    """Training-accuracy spikes after the first fit: how often training accuracy fell below ``level``.

    After the first logged step whose training accuracy reaches ``fit`` (up to step ``until``), a spike
    is a run of consecutive logged steps with training accuracy below ``level``. Returns the number of
    spikes, the number of logged steps below ``level``, the lowest training accuracy after the fit,
    the fit step and the last step looked at (None values when the run never fit).
    """
    check_float("level", level, 0, 1, open_low=True)
    check_float("fit", fit, 0, 1, open_low=True)
    check_int("until", until, 0, none_ok=True)
    keep = history.steps <= (until if until is not None else int(history.steps[-1]))
    steps, acc = history.steps[keep], history.train_acc[keep]
    hits = (acc >= fit).nonzero()
    if not len(hits):
        return {"n_spikes": 0, "n_below": 0, "min_train_acc": None, "fit_step": None, "until": int(steps[-1])}
    after = acc[hits[0, 0]:]
    below = after < level
    starts = below & torch.cat([torch.tensor([True]), ~below[:-1]])
    return {"n_spikes": int(starts.sum()), "n_below": int(below.sum()), "min_train_acc": after.min().item(),
            "fit_step": int(steps[hits[0, 0]]), "until": int(steps[-1])}


def median_and_range(values: list[int | None]) -> dict:
    """Median, minimum and maximum of ``values``; None (never reached) counts as above every number."""
    if not values:
        raise ValueError("values is empty: a median needs at least one run")
    reached = sorted(v for v in values if v is not None)
    n_missing = len(values) - len(reached)
    ordered = reached + [math.inf] * n_missing
    median = statistics.median(ordered)
    return {"median": None if math.isinf(median) else median, "min": ordered[0] if reached else None,
            "max": None if n_missing else ordered[-1], "n": len(values), "n_reached": len(reached)}


def fmt_median_range(summary: dict) -> str:
    """``median_and_range``'s numbers for the prose: ``"3,976 (one seed)"`` or ``"3,976 (3,100 to 4,400, 3 seeds)"``."""
    median = fmt_step(None if summary["median"] is None else round(summary["median"]))
    if summary["n"] == 1:
        return f"{median} (one seed)"
    missed = summary["n"] - summary["n_reached"]
    note = f", {missed} not reached" if missed else ""
    return f"{median} ({fmt_step(summary['min'])} to {fmt_step(summary['max'])}, {summary['n']} seeds{note})"




def _val_acc_at(history: History, step: int | None) -> float | None:
    return None if step is None else history.value_at("val_acc", step)


def _seed_numbers(history: History) -> dict:
    """One seed's steps to 99% on both accuracies and its validation accuracy at the fit."""
    train_99 = history.steps_to("train_acc", 0.99)
    seed = None if history.config is None else history.config.model.seed
    return {"seed": seed, "train_99": train_99, "val_99": history.steps_to("val_acc", 0.99),
            "val_acc_at_fit": _val_acc_at(history, train_99)}


def measure(main: History, no_decay: History, seeds: list[History], controls: dict[str, History],
            sweep: dict[str, list[History]], spike_level: float = SPIKE_LEVEL) -> dict:
    """The chapter's numbers from its runs (``seeds``: the main run's other seeds; ``sweep``: per operation,
    the runs in the order of ``settings.sweep``)."""
    train_99, val_99 = main.steps_to("train_acc", 0.99), main.steps_to("val_acc", 0.99)
    after_99 = main.val_acc[main.steps >= val_99] if val_99 is not None else main.val_acc[-1:]
    peak = int(main.val_loss.argmax())
    until = min(int(h.steps[-1]) for h in controls.values())
    everything = [main, no_decay, *seeds, *controls.values(), *(h for hs in sweep.values() for h in hs)]
    sweep_steps = {op: [h.steps_to("val_acc", 0.99) for h in hs] for op, hs in sweep.items()}
    return {
        "p": main.config.task.p,
        "train_99_step": train_99,
        "val_99_step": val_99,
        "grokking_delay": main.grokking_delay(),
        "val_acc_at_fit": _val_acc_at(main, train_99),
        "final_val_acc": main.val_acc[-1].item(),
        "final_train_acc": main.train_acc[-1].item(),
        "min_val_acc_after_99": after_99.min().item(),
        "max_train_acc": main.train_acc.max().item(),
        "val_loss_start": main.val_loss[0].item(),
        "val_loss_peak": main.val_loss[peak].item(),
        "val_loss_peak_step": int(main.steps[peak]),
        "val_loss_rise": math.log10(main.val_loss[1:].max().item() / main.val_loss[0].item()),
        "val_loss_min_after_peak": main.val_loss[peak:].min().item(),
        "val_loss_decades": math.log10(main.val_loss[peak].item() / max(main.val_loss[peak:].min().item(), 1e-300)),
        "per_seed": [_seed_numbers(h) for h in (main, *seeds)],
        "seeds_train_99": median_and_range([train_99] + [h.steps_to("train_acc", 0.99) for h in seeds]),
        "seeds_val_99": median_and_range([val_99] + [h.steps_to("val_acc", 0.99) for h in seeds]),
        "no_decay_train_99": no_decay.steps_to("train_acc", 0.99),
        "no_decay_val_99": no_decay.steps_to("val_acc", 0.99),
        "no_decay_max_val_acc": no_decay.val_acc.max().item(),
        "no_decay_final_val_acc": no_decay.val_acc[-1].item(),
        "no_decay_last_step": int(no_decay.steps[-1]),
        "spikes": {name: count_spikes(h, spike_level, until=until) for name, h in controls.items()},
        "sweep_steps_99": sweep_steps,
        "sweep_budget": {op: [int(h.config.train.steps) for h in hs] for op, hs in sweep.items()},
        "finite": all(h.is_finite() for h in everything),
    }


def _waits(seed: dict) -> Evidence:
    train_99, val_99 = seed["train_99"], seed["val_99"]
    reached = None not in (train_99, val_99)
    score = math.log(val_99 / (DELAY_RATIO * max(train_99, 1))) if reached else None
    return Evidence(score, f"steps {fmt_step(train_99)} and {fmt_step(val_99)}", reached,
                    "training accuracy did not reach 99%" if train_99 is None else
                    "validation accuracy did not reach 99% within the budget", f"seed {seed['seed']}")


def _chance(seed: dict) -> Evidence:
    at_fit = seed["val_acc_at_fit"]
    return Evidence(None if at_fit is None else CHANCE_LEVEL - at_fit, fmt_pct(at_fit), at_fit is not None,
                    "training accuracy did not reach 99%", f"seed {seed['seed']}")


def _decay(r: dict) -> Evidence:
    """Steps to 99% without weight decay (or the budget's end) over the steps with it, as a log ratio."""
    with_decay, without = r["val_99_step"], r["no_decay_val_99"]
    reached = without is not None
    score = None if with_decay is None else \
        math.log((without if reached else r["no_decay_last_step"]) / max(with_decay, 1))
    powered = r["no_decay_train_99"] is not None and score is not None and (reached or score > 0)
    why = ("the run with weight decay did not reach 99% validation accuracy" if with_decay is None else
           "the run without weight decay did not fit its training set" if r["no_decay_train_99"] is None else
           "the run without weight decay had not reached 99% when its budget ended, within the margin of the other's "
           "steps")
    measured = f"{fmt_step(without)} (budget {r['no_decay_last_step']:,}) against {fmt_step(with_decay)} steps"
    return Evidence(score, measured, powered, why)


def _spikes_left(r: dict, control: str) -> Evidence:
    base, it = r["spikes"]["baseline"], r["spikes"][control]
    powered = base["n_spikes"] >= 2 and it["fit_step"] is not None
    why = (f"the baseline window shows {base['n_spikes']} spike(s), fewer than 2" if base["n_spikes"] < 2 else
           f"the {control} run did not fit its training set within the window")
    return Evidence(1 - it["n_spikes"], f"{it['n_spikes']} against {base['n_spikes']} in the baseline", powered, why)


def _more_data(r: dict) -> list[Evidence]:
    """Per operation with several fractions, the smallest log ratio of the steps at one fraction over the next."""
    out = []
    for op, steps in r["sweep_steps_99"].items():
        if len(steps) < 2:
            continue
        budgets = r["sweep_budget"][op]
        ratios = [None if larger is None else math.log((smaller if smaller is not None else budget) / max(larger, 1))
                  for smaller, larger, budget in zip(steps, steps[1:], budgets)]
        score = None if None in ratios else min(ratios)
        out.append(Evidence(score, ", ".join(fmt_step(x) for x in steps), score is not None,
                            f"{op}: a larger fraction did not reach 99% within the budget", op))
    return out or [Evidence(None, "one fraction per operation", False,
                            "every operation was measured at one training fraction only")]


def evidence(r: dict, s: PowerSettings) -> dict[str, list[Evidence]]:
    """Each finding's measurement in ``r`` (from ``measure``): the delay and the validation accuracy at the fit on
    every seed, the rest on the main run and its controls."""
    fitted, base = r["train_99_step"] is not None, r["spikes"]["baseline"]
    loss = f"{r['val_loss_start']:.3g} -> peak {r['val_loss_peak']:.3g} -> {r['val_loss_min_after_peak']:.3g}"
    return {
        "validation_waits": [_waits(x) for x in r["per_seed"]],
        "chance_at_fit": [_chance(x) for x in r["per_seed"]],
        "val_loss_rises": [Evidence(r["val_loss_rise"], loss, fitted,
                                    "training accuracy did not reach 99%")],
        "val_loss_collapses": [Evidence(r["val_loss_decades"] - LOSS_DECADES, f"{r['val_loss_decades']:.1f} decades",
                                        r["val_99_step"] is not None,
                                        "validation accuracy did not reach 99% within the budget")],
        "decay_speeds_grokking": [_decay(r)],
        "spikes_after_fit": [Evidence(base["n_spikes"] - 2, f"{base['n_spikes']} spike(s)", base["fit_step"] is not None,
                                      "the baseline did not fit its training set within the window")],
        "eps_removes_spikes": [_spikes_left(r, "Adam eps 1e-5")],
        "float64_removes_spikes": [_spikes_left(r, "float64 loss")],
        "more_data_sooner": _more_data(r),
    }


def judged(r: dict, s: PowerSettings) -> list:
    """Every finding's verdict on ``r`` (``book.judge``)."""
    return judge_all(FINDINGS, evidence(r, s))


def check(results: dict, s: PowerSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``): the mechanics, and each finding's verdict as
    ``s.findings`` declares it for the profile; print each with its measured value."""
    r, checks = results, Checks(s.claims)
    checks.expect("every logged metric of every run is finite", r["finite"], r["finite"])
    checks.expect("training accuracy rose above chance (2/p)", f"{r['max_train_acc']:.3f}", r["max_train_acc"] > 2 / r["p"])
    if s.claims:
        checks.findings(judged(r, s), s.findings)
    return checks.report()


def glued(r: dict, s: PowerSettings) -> dict[str, str]:
    """The chapter's numbers as the prose quotes them (``book.glue`` each), verdicts included."""
    out = {name: fmt_step(r[name]) for name in ("train_99_step", "val_99_step", "grokking_delay", "val_loss_peak_step",
                                                "no_decay_train_99", "no_decay_val_99")}
    out.update({name: fmt_pct(r[name]) for name in ("val_acc_at_fit", "final_val_acc", "final_train_acc",
                                                    "min_val_acc_after_99", "no_decay_max_val_acc")})
    spikes = r["spikes"]
    out.update(chance=fmt_pct(1 / r["p"]), val_loss_decades=f"{r['val_loss_decades']:.1f}",
               n_seeds=str(r["seeds_val_99"]["n"]), seeds_train_99=fmt_median_range(r["seeds_train_99"]),
               seeds_val_99=fmt_median_range(r["seeds_val_99"]), control_steps=f"{spikes['baseline']['until']:,}",
               spike_level=fmt_pct(s.spike_level, 0), no_decay_steps=f"{r['no_decay_last_step']:,}")
    for key, name in (("base", "baseline"), ("f64", "float64 loss"), ("eps", "Adam eps 1e-5")):
        out[f"{key}_spikes"] = str(spikes[name]["n_spikes"])
        out[f"{key}_min_train_acc"] = fmt_pct(spikes[name]["min_train_acc"])
    return {**out, **verdict_glue(judged(r, s))}


def glued_costs(costs: dict[str, float]) -> dict[str, str]:
    """``architecture_costs``'s numbers as the prose quotes them: how many times openai/grok's model costs per step."""
    return {"grok_cost_ratio": fmt(costs["grok"] / costs["pre_ln"], ".1f")}
