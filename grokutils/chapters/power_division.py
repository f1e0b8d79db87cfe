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

import itertools
import math
import statistics
from dataclasses import dataclass, field

import torch

from grokutils.book import Checks, asserts_findings, check_seed, fmt_step, resolve_profile
from grokutils.config import RunConfig, check_float, check_int, resolve_device
from grokutils.dispatch import time_steps
from grokutils.history import History
from grokutils.recipes import power_run

CONTROL_NAMES = ("baseline", "float64 loss", "Adam eps 1e-5")
SWEEP_OPS = ("add", "sub", "mul", "div")
"""The operations of the chapter's sweep (the chapter ``interventions_and_operations`` runs Power et al.'s others)."""

_PROFILES = {
    # architecture, p, fraction and steps of the main run; how often metrics are logged; the seeds of the
    # headline numbers; the sweep's fractions, budget and logging; the spike controls' window and logging.
    # ``mode``: how the sweep engine trains the missing runs (None: dispatch.default_mode; "workers" at book, where a
    # 2-core CPU trains two single runs side by side and no run waits for the pool to finish).
    "smoke": dict(architecture="pre_ln", p=23, frac_train=0.5, steps=120, n_logs=30, n_seeds=2,
                  ops=("add", "div"), fractions=(0.7,), sweep_steps=120, sweep_log_every=10,
                  control_steps=60, control_log_every=5, mode=None,
                  widths=dict(d_model=32, n_heads=2, d_head=16, d_mlp=64)),
    "book": dict(architecture="pre_ln", p=97, frac_train=0.3, steps=6000, n_logs=150, n_seeds=1,
                 ops=SWEEP_OPS, fractions=(0.8,), sweep_steps=6000, sweep_log_every=100,
                 control_steps=2000, control_log_every=20, mode="workers", widths={}),
    "paper": dict(architecture="grok", p=97, frac_train=0.5, steps=1_000_000, n_logs=300, n_seeds=3,
                  ops=SWEEP_OPS, fractions=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8), sweep_steps=100_000,
                  sweep_log_every=100, control_steps=20_000, control_log_every=20, mode=None, widths={}),
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
        claims: whether this profile asserts the chapter's findings (False at ``smoke``).
        min_delay_ratio: validation accuracy must reach 99% at least this many times later than training.
        max_val_acc_at_fit: validation accuracy when training accuracy first reaches 99% must be below this.
        min_loss_decades: the validation loss must fall at least this many orders of magnitude from its peak.
        spike_level: a spike is a logged step after the first fit whose training accuracy is below this.
        min_spikes: the baseline must show at least this many spikes ("several").
        control_findings: per control, whether it ``"removes"`` the spikes (none left) or ``"keeps"`` them
            (at least one), as the book run showed; asserted in that direction only.
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
    claims: bool
    min_delay_ratio: float = 10.0
    max_val_acc_at_fit: float = 0.05
    min_loss_decades: float = 2.0
    spike_level: float = 0.5
    min_spikes: int = 2
    control_findings: dict[str, str] = field(default_factory=lambda: {"float64 loss": "keeps", "Adam eps 1e-5": "keeps"})

    data_files = ()

    @property
    def fractions(self) -> dict[str, tuple[float, ...]]:
        """The training fractions of the data-efficiency sweep, per operation."""
        return {op: tuple(f for f, _ in runs) for op, runs in self.sweep.items()}

    def main_runs(self) -> list[RunConfig]:
        """The runs that share the main run's task and budget: main, no_decay and the other seeds."""
        return [self.main, self.no_decay, *self.seeds]

    def other_runs(self) -> list[RunConfig]:
        """The spike controls and the sweep's own runs (the main run is not repeated)."""
        sweep = [cfg for runs in self.sweep.values() for _, cfg in runs if cfg is not self.main]
        return [*self.controls.values(), *sweep]

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


def settings(profile: str | None = None, op: str = "div", p: int | None = None, frac_train: float | None = None,
             steps: int | None = None, seed: int = 0, device: str | None = None) -> PowerSettings:
    """The chapter's settings at ``profile`` (the notebook's parameters); ``None`` takes the profile's value."""
    profile = resolve_profile(profile)
    check_int("p", p, 2, none_ok=True)
    check_float("frac_train", frac_train, 0, 1, open_low=True, open_high=True, none_ok=True)
    check_int("steps", steps, 1, none_ok=True)
    check_seed(seed, _PROFILES[profile]["n_seeds"])
    resolve_device(device)
    pre = _PROFILES[profile]
    p = pre["p"] if p is None else p
    frac_train = pre["frac_train"] if frac_train is None else frac_train
    steps = pre["steps"] if steps is None else steps
    arch, widths = pre["architecture"], pre["widths"]

    def run(op_, frac, n_steps, seed_, **kw):
        return power_run(op_, p, frac, n_steps, seed_, optimizer="adamw", architecture=arch, **widths, **kw)

    main = run(op, frac_train, steps, seed, n_logs=pre["n_logs"])
    no_decay = run(op, frac_train, steps, seed, n_logs=pre["n_logs"], weight_decay=0.0).replace(stop_at_val_acc=0.99)
    seeds = tuple(run(op, frac_train, steps, seed + i, n_logs=pre["n_logs"]).replace(stop_at_val_acc=0.99)
                  for i in range(1, pre["n_seeds"]))
    window = min(pre["control_steps"], steps)
    every = _every(window, pre["control_log_every"])
    controls = {"baseline": run(op, frac_train, window, seed, **every),
                "float64 loss": run(op, frac_train, window, seed, loss="cross_entropy_f64", **every),
                "Adam eps 1e-5": run(op, frac_train, window, seed, adam_eps=1e-5, **every)}
    sweep_steps = min(pre["sweep_steps"], steps)
    sweep = {}
    for op_ in pre["ops"]:
        runs = [(f, run(op_, f, sweep_steps, seed, **_every(sweep_steps, pre["sweep_log_every"])).replace(stop_at_val_acc=0.99))
                for f in pre["fractions"] if f != frac_train or op_ != op or sweep_steps != steps]
        if op_ == op and sweep_steps == steps:
            runs.append((frac_train, main))
        sweep[op_] = tuple(sorted(runs, key=lambda fr: fr[0]))
    other = power_run(op, p, frac_train, steps, seed, architecture="grok" if arch == "pre_ln" else "pre_ln", **widths)
    return PowerSettings(profile, device, seed, arch, main, no_decay, seeds, controls, sweep, other, pre["mode"],
                         claims=asserts_findings(profile))


def run_all(s: PowerSettings, load_many, **kwargs) -> dict:
    """Every run of the chapter through one call of ``load_many`` (``runs.load_or_train_many``), so the sweep
    engine plans them together; returns ``measure``'s arguments: main, no_decay, seeds, controls, sweep."""
    cfgs = list(dict.fromkeys([*s.main_runs(), *s.other_runs()]))
    done = dict(zip(cfgs, load_many(cfgs, **{"mode": s.mode, **kwargs})))
    return {"main": done[s.main], "no_decay": done[s.no_decay], "seeds": [done[c] for c in s.seeds],
            "controls": {name: done[c] for name, c in s.controls.items()},
            "sweep": {op: [done[c] for _, c in runs] for op, runs in s.sweep.items()}}


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


def falls_monotonically(steps: list[int | None]) -> bool:
    """True when every run reached the target and each larger fraction took no more steps than the one before."""
    return None not in steps and all(b <= a for a, b in itertools.pairwise(steps))


def _val_acc_at(history: History, step: int | None) -> float | None:
    return None if step is None else history.value_at("val_acc", step)


def measure(main: History, no_decay: History, seeds: list[History], controls: dict[str, History],
            sweep: dict[str, list[History]], spike_level: float = 0.5) -> dict:
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
        "val_loss_min_after_peak": main.val_loss[peak:].min().item(),
        "val_loss_decades": math.log10(main.val_loss[peak].item() / max(main.val_loss[peak:].min().item(), 1e-300)),
        "seeds_train_99": median_and_range([train_99] + [h.steps_to("train_acc", 0.99) for h in seeds]),
        "seeds_val_99": median_and_range([val_99] + [h.steps_to("val_acc", 0.99) for h in seeds]),
        "no_decay_train_99": no_decay.steps_to("train_acc", 0.99),
        "no_decay_val_99": no_decay.steps_to("val_acc", 0.99),
        "no_decay_max_val_acc": no_decay.val_acc.max().item(),
        "no_decay_final_val_acc": no_decay.val_acc[-1].item(),
        "spikes": {name: count_spikes(h, spike_level, until=until) for name, h in controls.items()},
        "sweep_steps_99": sweep_steps,
        "sweep_monotone": {op: falls_monotonically(s) for op, s in sweep_steps.items()},
        "finite": all(h.is_finite() for h in everything),
    }


def check(results: dict, s: PowerSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``); print each with its measured value."""
    r, checks = results, Checks(s.claims)
    checks.expect("every logged metric of every run is finite", r["finite"], r["finite"])
    checks.expect("training accuracy rose above chance (2/p)", f"{r['max_train_acc']:.3f}", r["max_train_acc"] > 2 / r["p"])
    train_99, val_99, ratio = r["train_99_step"], r["val_99_step"], s.min_delay_ratio
    checks.claim("training accuracy reached 99%", train_99, train_99 is not None)
    checks.claim("validation accuracy reached 99%", val_99, val_99 is not None)
    checks.claim(f"validation 99% at least {ratio:g}x later than training 99%", f"steps {train_99} and {val_99}",
                 lambda: None not in (train_99, val_99) and val_99 >= ratio * train_99)
    at_fit = r["val_acc_at_fit"]
    checks.claim(f"validation accuracy below {s.max_val_acc_at_fit:.0%} (chance: 1/p = {1 / r['p']:.1%}) "
                 "when training accuracy first reached 99%", "n/a" if at_fit is None else f"{at_fit:.1%}",
                 at_fit is not None and at_fit < s.max_val_acc_at_fit)
    checks.claim("the validation loss first rose above its start", f"{r['val_loss_start']:.3g} -> peak {r['val_loss_peak']:.3g}",
                 r["val_loss_peak"] > r["val_loss_start"])
    checks.claim(f"then fell at least {s.min_loss_decades:g} orders of magnitude from its peak",
                 f"{r['val_loss_decades']:.1f}", r["val_loss_decades"] >= s.min_loss_decades)
    nd = r["no_decay_val_99"]
    checks.claim("without weight decay, validation accuracy did not reach 99% within the budget",
                 f"reached at {nd}" if nd is not None else f"best {r['no_decay_max_val_acc']:.1%}", nd is None)
    base = r["spikes"]["baseline"]
    checks.claim(f"the baseline window shows at least {s.min_spikes} spikes (training accuracy below {s.spike_level:.0%})",
                 base["n_spikes"], base["n_spikes"] >= s.min_spikes)
    for name, finding in s.control_findings.items():
        n = r["spikes"][name]["n_spikes"]
        held = n == 0 if finding == "removes" else n >= 1
        checks.claim(f"{name} {'removes the spikes (none left)' if finding == 'removes' else 'leaves spikes'}", n, held)
    for op, monotone in r["sweep_monotone"].items():
        if len(r["sweep_steps_99"][op]) < 2:  # one fraction: nothing to compare
            continue
        checks.claim(f"{op}: steps to 99% validation accuracy fall as the training fraction grows",
                     r["sweep_steps_99"][op], monotone)
    return checks.report()
