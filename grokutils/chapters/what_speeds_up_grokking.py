"""The chapter ``book/what_speeds_up_grokking.ipynb``: Grokfast and Muon against a tuned AdamW, by one protocol.

Every method trains the book's transformer (Nanda et al.'s 1-layer model, full batch) on ``a op b mod p``; every run
stops at its first logged step with 95% validation accuracy, or at the budget. The protocol:

1. **Tuning.** Each method (``METHODS``: AdamW, Grokfast's EMA filter on AdamW, Muon with AdamW on the rest) trains
   the same grid of learning rate x weight decay (Grokfast also its filter settings, on top) on ``n_tune`` seeds, each
   run with a screening budget (``tune_steps``); its best setting is the one with the fewest median steps to 95% (a
   seed that never reached counts as infinitely many; where none reached, the highest final validation accuracy).
2. **Comparison.** Each method at its best setting, and the papers' baseline (Adam without weight decay, untuned),
   on ``n_compare`` other seeds; steps to 95% (an unreached run counted at the budget), seconds (steps times the
   method's cost per step, measured here by interleaved timing), and the speed-up of each method over tuned AdamW and
   over the papers' baseline, each with a bootstrap interval.

The comparison's runs depend on the tuning's outcome, so the chapter's runs come in two stages: ``settings.runs()``
names the tuning grid and the baseline; ``comparison(settings, best)`` names the rest.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from grokutils import dryrun
from grokutils.analysis.speed import (SpeedUp, best_setting, clears, cost_ratios, median_delay_ratio, median_steps,
                                      speed_up, steps_or_budget)
from grokutils.book import (DOES_NOT_HOLD, HOLDS, NOT_TESTED, UNDECIDED, Checks, Evidence, Finding, asserts_findings,
                            check_seed, fmt, judge_all, resolve_profile, turn, verdict_glue)
from grokutils.config import RunConfig, check_int, resolve_device
from grokutils.dispatch import time_steps
from grokutils.recipes import nanda_run

THRESHOLD = 0.95
"""The level every run is timed to, and stops at: 95% validation accuracy (Grokfast's measure of speed)."""
METHODS = {"AdamW": dict(optimizer="adamw"), "Grokfast": dict(optimizer="adamw", grad_transforms=("grokfast_ema",)),
           "Muon": dict(optimizer="muon")}
"""Each tuned method: the fields it sets on the book's recipe (full-batch, betas (0.9, 0.98), 10 warm-up steps); the
grid sets ``lr`` and ``weight_decay`` (and Grokfast's ``grokfast_alpha``, ``grokfast_lamb``)."""
BASELINE = "Adam, no decay"
BASELINE_FIELDS = dict(optimizer="adam", lr=1e-3, weight_decay=0.0)
"""The baseline of Grokfast's code (and of the runs the Muon paper improves on): Adam at lr 1e-3 without weight decay,
untuned."""
MIN_SPEEDUP = 1.25
"""A method speeds grokking when its speed-up's interval lies above this (fixed before any run); below it, the runs
show no speed-up of that size."""
MIN_REACHED = 0.6
"""The power condition of a comparison: at least this share of one side's runs reached 95% validation accuracy."""
MIN_DELAY = 5.0
"""The task groks: tuned AdamW's runs reach 95% validation accuracy at least this many times later than 95% training
accuracy (median over seeds)."""
LEE, TVEIT = "lee2024grokfast", "tveit2025muon"
_INTERVAL = (f"the 90% bootstrap interval of the speed-up (median steps of the other side over the method's) above "
             f"{MIN_SPEEDUP:g}x holds, below it does not hold, containing it undecided")
_POWER = f"at least {MIN_REACHED:.0%} of the runs of one of the two sides reached 95% validation accuracy"
COMPARISONS = {
    "grokfast_vs_paper_baseline": ("Grokfast", BASELINE, "steps"),
    "adamw_vs_paper_baseline": ("AdamW", BASELINE, "steps"),
    "grokfast_vs_adamw": ("Grokfast", "AdamW", "steps"),
    "muon_steps": ("Muon", "AdamW", "steps"),
    "muon_seconds": ("Muon", "AdamW", "seconds"),
}
"""Each finding's comparison: (method, the side it is compared with, steps or seconds)."""
FINDINGS = (
    Finding("grokfast_vs_paper_baseline", "Grokfast makes grokking faster than the baseline of its paper (Adam without "
            "weight decay)", LEE, f"speed-up in steps of tuned Grokfast over Adam without weight decay; {_INTERVAL}",
            _POWER),
    Finding("adamw_vs_paper_baseline", "AdamW alone, tuned, makes grokking faster than that baseline (a user's report on "
            "Grokfast's code)", "grokfast_issue12", f"speed-up in steps of tuned AdamW over Adam without weight decay; "
            f"{_INTERVAL}", _POWER),
    Finding("grokfast_vs_adamw", "Grokfast makes grokking faster than a tuned AdamW", LEE,
            f"speed-up in steps of tuned Grokfast over tuned AdamW; {_INTERVAL}", _POWER),
    Finding("muon_steps", "Muon groks in fewer steps than a tuned AdamW", TVEIT,
            f"speed-up in steps of tuned Muon over tuned AdamW; {_INTERVAL}", _POWER),
    Finding("muon_seconds", "Muon groks in less time than a tuned AdamW", TVEIT,
            f"speed-up in seconds (steps times each method's measured cost per step) of tuned Muon over tuned AdamW; "
            f"{_INTERVAL}, the cost ratio's range widening it", _POWER),
)
SOURCES = dict.fromkeys((f.name for f in FINDINGS), HOLDS)
BOOK_FINDINGS = dict(grokfast_vs_paper_baseline=UNDECIDED, adamw_vs_paper_baseline=HOLDS,
                     grokfast_vs_adamw=DOES_NOT_HOLD, muon_steps=UNDECIDED, muon_seconds=UNDECIDED)
"""What the ``book`` runs show on seeds 0 and 1 (issue 33's cold runs; comparison seeds 2-6 and 3-7). No Adam run
without weight decay reached 95% within 3,000 steps, and Grokfast's best setting reached in 2 and 3 of 5: its speed-up
over that baseline is not tested (seed 0) or inside the threshold (seed 1, 1.00x [1.00-1.43]), so the seeds disagree.
Tuned AdamW beats the baseline by at least 2.59x [1.38-3.19] and 2.73x [1.38-3.19]; Grokfast is slower than tuned
AdamW (at most 0.39x [0.37-0.73] and 0.37x [0.31-0.73]); Muon takes as many steps (1.00x [0.82-1.79], 0.95x
[0.77-1.79]), and in seconds its interval contains the threshold at seed 0 (0.61x [0.47-1.52]) and lies below it at
seed 1 ([0.47-1.21]): the seeds disagree."""


@dataclass(frozen=True)
class SpeedProfile:
    """What a profile sets: the task, the tuning grid, the seeds, the budget and the verdicts it declares.

    Attributes:
        p: the modulus.
        op: the operation (``tasks.ModularConfig.op``).
        frac_train: the share of the p^2 pairs used for training.
        lrs: the tuning grid's learning rates (every method).
        weight_decays: the tuning grid's weight decays (every method; AdamW's decoupled decay, and Muon's).
        filters: Grokfast's filter settings (alpha, lamb) tried at every (lr, weight decay) of the grid.
        n_tune: seeds per tuning setting.
        n_compare: seeds of the comparison (other seeds than the tuning's).
        steps: each comparison run's budget in steps (it stops earlier at 95% validation accuracy).
        tune_steps: each tuning run's budget (at most ``steps``): a screening budget, since only the settings that
            reach 95% soonest matter there.
        log_every: steps between logged metrics (the resolution of "steps to 95%").
        widths: model widths replacing Nanda et al.'s (empty: theirs).
        timing_steps: updates per timing of a method's cost per step.
        timing_repeats: interleaved rounds of timing.
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``).
        findings: each finding's name -> the verdict this profile's runs give, which the Checks assert.
    """

    p: int
    op: str
    frac_train: float
    lrs: tuple[float, ...]
    weight_decays: tuple[float, ...]
    filters: tuple[tuple[float, float], ...]
    n_tune: int
    n_compare: int
    steps: int
    tune_steps: int
    log_every: int
    widths: dict
    timing_steps: int
    timing_repeats: int
    mode: str | None
    findings: dict


PROFILES = {
    "smoke": SpeedProfile(p=11, op="add", frac_train=0.5, lrs=(1e-3,), weight_decays=(1.0,), filters=((0.98, 2.0),),
                          n_tune=1, n_compare=2, steps=40, tune_steps=40, log_every=10,
                          widths=dict(d_model=16, n_heads=2, d_head=8, d_mlp=32), timing_steps=2, timing_repeats=1,
                          mode=None, findings=SOURCES),
    # book: pilot single runs (seed 0, one thread each) on a + b mod 31 with half the pairs for training, logged every
    # 20 steps. AdamW lr 1e-3, weight decay 1: 95% training accuracy at step 80, 95% validation at 3,200 (at 40% of the
    # pairs: 27% after 4,000; at 60%: 1,500; at 75%: 69% validation already at step 100, no clear delay); lr 3e-3,
    # weight decay 1: 1,160. Muon lr 1e-3 / 3e-3, weight decay 1: 88% after 4,000 / 1,240. Grokfast (alpha 0.98,
    # lamb 2) on AdamW lr 1e-3, weight decay 1 / 0.1: 42% / 25% after 4,000. Adam without decay: 27% after 4,000;
    # Grokfast on it: 15%. Per step at one thread: 14-15 ms (AdamW, Grokfast, Adam), 21 ms (Muon). A first run of the
    # grid (lr 1e-3, 3e-3 x weight decay 0.1, 1, two seeds, 3,000 steps a run) cost 1,803 worker-seconds (beside other
    # work): only AdamW and Muon at lr 3e-3, weight decay 1 reached 95% (1,160 / 1,120 and 1,240 / 1,040 steps), no
    # Grokfast setting did (final validation 23-48%). So the tuning runs got a screening budget of 2,000 steps, and a
    # method none of whose settings reaches is compared at its setting with the highest final validation accuracy
    "book": SpeedProfile(p=31, op="add", frac_train=0.5, lrs=(1e-3, 3e-3), weight_decays=(0.1, 1.0),
                         filters=((0.98, 2.0),), n_tune=2, n_compare=5, steps=3_000, tune_steps=2_000, log_every=20,
                         widths={},
                         timing_steps=20, timing_repeats=5, mode="workers", findings=BOOK_FINDINGS),
    "paper": SpeedProfile(p=97, op="mul", frac_train=0.5, lrs=(3e-4, 1e-3, 3e-3, 1e-2),
                          weight_decays=(0.0, 0.01, 0.1, 1.0),
                          filters=tuple((a, lamb) for a in (0.9, 0.95, 0.98) for lamb in (1.0, 2.0, 5.0)),
                          n_tune=3, n_compare=5, steps=100_000, tune_steps=100_000, log_every=100, widths={},
                          timing_steps=20,
                          timing_repeats=5, mode=None, findings=SOURCES),
}


def cell_label(method: str, cell: tuple) -> str:
    """A tuning setting in words: ``lr 3e-3, weight decay 1`` (with Grokfast's ``alpha`` and ``lamb``)."""
    text = f"lr {cell[0]:g}, weight decay {cell[1]:g}"
    return text + (f", alpha {cell[2]:g}, lamb {cell[3]:g}" if method == "Grokfast" else "")


@dataclass(frozen=True)
class SpeedSettings:
    """The chapter's runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: the first tuning seed (tuning seeds ``seed .. seed + n_tune - 1``, comparison seeds after them).
        preset: the profile's settings (``SpeedProfile``), with any knob the reader turned.
        tuning: ``{method: {setting: (run per tuning seed)}}``, a setting being (lr, weight decay, alpha, lamb), the
            last two None except for Grokfast.
        baseline: the papers' baseline (``BASELINE_FIELDS``), one run per comparison seed.
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``).
        findings: each finding's name -> the verdict this profile's runs give (``book.VERDICTS``), which the Checks
            assert (None: a knob was turned away from the profile's; the verdicts are printed, not asserted).
        claims: whether this profile asserts the chapter's findings (False at ``smoke``).
        threshold: the validation accuracy every run is timed to (95%).
    """

    profile: str
    device: str | None
    seed: int
    preset: SpeedProfile
    tuning: dict
    baseline: tuple
    mode: str | None
    findings: dict | None
    claims: bool
    threshold: float = THRESHOLD

    data_files = ()

    @property
    def budget(self) -> int:
        """Each comparison run's budget in steps (and the baseline's)."""
        return self.preset.steps

    @property
    def tune_budget(self) -> int:
        """Each tuning run's budget in steps."""
        return min(self.preset.tune_steps, self.preset.steps)

    @property
    def compare_seeds(self) -> tuple[int, ...]:
        """The comparison's seeds, after the tuning's."""
        return tuple(range(self.seed + self.preset.n_tune, self.seed + self.preset.n_tune + self.preset.n_compare))

    def runs(self) -> dict:
        """The first stage's runs (``book.run_all``): ``{"tuning": ..., "baseline": ...}``."""
        return {"tuning": self.tuning, "baseline": self.baseline}

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        pr, first = self.preset, self.baseline[0]
        m = first.model
        return [f"task: a {_OP_SIGN[pr.op]} b mod {pr.p}, {pr.frac_train:.0%} of the pairs for training "
                f"({first.task.n_train:,} equations), full batch",
                f"model: Nanda et al.'s 1-layer transformer, d_model {m.d_model}, {m.n_heads} heads, d_mlp {m.d_mlp}",
                f"tuning grid: lr {list(pr.lrs)} x weight decay {list(pr.weight_decays)} (Grokfast also (alpha, lamb) in "
                f"{list(pr.filters)}), {pr.n_tune} seed(s) each: {sum(len(c) for c in self.tuning.values())} settings",
                f"comparison: each method at its best setting and {BASELINE} on {pr.n_compare} seeds "
                f"{list(self.compare_seeds)}",
                f"budget: {pr.steps:,} steps ({self.tune_budget:,} a tuning run), or until validation accuracy reaches "
                f"{self.threshold:.0%}; metrics every {pr.log_every} steps"]


_OP_SIGN = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


def settings(profile: str | None = None, steps: int | None = None, seed: int = 0,
             device: str | None = None) -> SpeedSettings:
    """The chapter's runs at ``profile`` (the notebook's parameters); ``steps`` replaces the comparison's budget and caps
    the tuning's (None: the profile's), and then the profile's declared verdicts do not apply."""
    profile = resolve_profile(profile)
    check_int("steps", steps, 10, none_ok=True)
    preset, turned = turn(PROFILES[profile], steps=steps)
    check_seed(seed, preset.n_tune + preset.n_compare)
    resolve_device(device)
    tune_steps = min(preset.tune_steps, preset.steps)
    tuning = {method: {cell: tuple(_run(preset, k, method, cell, tune_steps) for k in range(seed, seed + preset.n_tune))
                       for cell in _cells(method, preset)} for method in METHODS}
    compare_seeds = range(seed + preset.n_tune, seed + preset.n_tune + preset.n_compare)
    baseline = tuple(_recipe(preset, k, preset.steps).replace(**BASELINE_FIELDS) for k in compare_seeds)
    return SpeedSettings(profile, device, seed, preset, tuning, baseline, mode=preset.mode,
                         findings=None if turned else preset.findings, claims=asserts_findings(profile))


def _cells(method: str, preset: SpeedProfile) -> list[tuple]:
    filters = preset.filters if method == "Grokfast" else ((None, None),)
    return [(lr, wd, a, lamb) for lr in preset.lrs for wd in preset.weight_decays for a, lamb in filters]


def _recipe(preset: SpeedProfile, seed: int, steps: int) -> RunConfig:
    cfg = nanda_run(p=preset.p, frac_train=preset.frac_train, steps=steps, log_every=preset.log_every, seed=seed,
                    **preset.widths)
    return cfg.replace(op=preset.op, stop_at_val_acc=THRESHOLD)


def _run(preset: SpeedProfile, seed: int, method: str, cell: tuple, steps: int) -> RunConfig:
    lr, wd, alpha, lamb = cell
    fields = dict(METHODS[method], lr=lr, weight_decay=wd)
    if alpha is not None:
        fields.update(grokfast_alpha=alpha, grokfast_lamb=lamb)
    return _recipe(preset, seed, steps).replace(**fields)


@dataclass(frozen=True)
class Comparison:
    """The second stage's runs: each method at its best setting on the comparison seeds (``book.run_all``).

    Attributes:
        runs_by_method: ``{method: (run per comparison seed)}``.
        device: the device asked for.
        mode: how the sweep engine trains missing runs.
    """

    runs_by_method: dict
    device: str | None
    mode: str | None

    def runs(self) -> dict:
        """``{method: (run per comparison seed)}``."""
        return self.runs_by_method


def best_settings(tuning: dict, s: SpeedSettings) -> dict:
    """Each method's best tuning setting from the tuning runs' Histories (``{method: {setting: [History per seed]}}``):
    the fewest median steps to 95% over its tuning seeds; among settings at which some seed never reached, the highest
    median final validation accuracy (so that a method none of whose settings reached is compared at its best)."""
    out = {}
    for method, cells in tuning.items():
        steps, final = tuning_scores(cells, s), final_accuracies(cells)
        out[method] = best_setting({cell: (steps[cell], -final[cell]) for cell in cells})
    return out


def tuning_scores(cells: dict, s: SpeedSettings) -> dict:
    """One method's tuning grid: setting -> median steps to 95% validation accuracy over its seeds (inf: unreached)."""
    return {cell: median_steps([h.steps_to("val_acc", s.threshold) for h in hs]) for cell, hs in cells.items()}


def final_accuracies(cells: dict) -> dict:
    """One method's tuning grid: setting -> median over its seeds of the final validation accuracy."""
    return {cell: statistics.median(float(h.val_acc[-1]) for h in hs) for cell, hs in cells.items()}


def comparison(s: SpeedSettings, best: dict) -> Comparison:
    """The comparison runs of each method at its ``best`` setting, one per comparison seed."""
    runs = {method: tuple(_run(s.preset, k, method, best[method], s.budget) for k in s.compare_seeds)
            for method in METHODS}
    return Comparison(runs, s.device, s.mode)


def step_costs(s: SpeedSettings, comp: Comparison) -> list[dict[str, float]]:
    """Seconds per update of each compared method (its first comparison run) and of the baseline, at one thread (as
    the sweep's workers train), in ``timing_repeats`` interleaved rounds of ``timing_steps`` updates each: one dict
    (name -> seconds) per round. A dry run times one round of two updates."""
    cfgs = {**{method: runs[0] for method, runs in comp.runs().items()}, BASELINE: s.baseline[0]}
    steps = dryrun.at_most(s.preset.timing_steps, 2)
    device = resolve_device(s.device)
    return [{name: time_steps([cfg], device, steps, threads=1) for name, cfg in cfgs.items()}
            for _ in range(dryrun.at_most(s.preset.timing_repeats, 1))]


def measure(first: dict, compared: dict, costs: list[dict[str, float]], s: SpeedSettings) -> dict:
    """The chapter's numbers: ``first`` (the first stage's Histories, as ``s.runs()``), ``compared`` (``{method:
    [History per comparison seed]}``) and the interleaved timing rounds (``step_costs``)."""
    runs = {**compared, BASELINE: list(first["baseline"])}
    steps = {name: [h.steps_to("val_acc", s.threshold) for h in hs] for name, hs in runs.items()}
    counted = {name: steps_or_budget(v, s.budget) for name, v in steps.items()}
    per_step = {name: statistics.median(r[name] for r in costs) for name in costs[0]}
    pairs = [(method, other) for method, other, _ in COMPARISONS.values()] + [(m, BASELINE) for m in METHODS]
    in_steps = {pair: speed_up(counted[pair[1]], counted[pair[0]], s.budget) for pair in dict.fromkeys(pairs)}
    speed = {finding: in_steps[method, other].scaled(*cost_ratios(costs, other)[method]) if unit == "seconds"
             else in_steps[method, other] for finding, (method, other, unit) in COMPARISONS.items()}
    histories = _all(first, compared)
    return {
        "tuning": {method: tuning_scores(cells, s) for method, cells in first["tuning"].items()},
        "best": best_settings(first["tuning"], s),
        "steps": steps,
        "counted": counted,
        "median_steps": {name: statistics.median(v) for name, v in counted.items()},
        "reached": {name: sum(x is not None for x in v) / len(v) for name, v in steps.items()},
        "per_step": per_step,
        "cost_ratios": cost_ratios(costs, "AdamW"),
        "seconds": {name: [x * per_step[name] for x in v] for name, v in counted.items()},
        "speed": speed,
        "vs_baseline": {method: in_steps[method, BASELINE] for method in METHODS},
        "delay_ratio": median_delay_ratio(list(compared["AdamW"]), s.threshold),
        "finite": all(h.is_finite() for h in histories),
        "loss_fell": all(h.train_loss[-1] < h.train_loss[0] for h in histories),
    }


def examples(first: dict, compared: dict) -> dict:
    """The first comparison run of each method and of the baseline (name -> History)."""
    return {**{method: hs[0] for method, hs in compared.items()}, BASELINE: first["baseline"][0]}


def _all(first: dict, compared: dict) -> list:
    """Every History of both stages."""
    nests = [hs for cells in first["tuning"].values() for hs in cells.values()] + [first["baseline"]] + \
        list(compared.values())
    return [h for hs in nests for h in hs]


def fmt_speed(up: SpeedUp) -> str:
    """A speed-up as the prose quotes it: ``2.7x [2.1-3.4]``, marked "at least" (the baseline's median run never
    reached) or "at most" (the method's did not)."""
    bound = "at least " if up.at_least and not up.at_most else "at most " if up.at_most and not up.at_least else ""
    return f"{bound}{up.ratio:.2f}x [{up.low:.2f}-{up.high:.2f}]"


def evidence(r: dict, s: SpeedSettings) -> dict[str, list[Evidence]]:
    """Each finding's measurement in ``r`` (from ``measure``): its speed-up's interval against ``MIN_SPEEDUP``."""
    out = {}
    for finding, (method, other, _) in COMPARISONS.items():
        up, reached = r["speed"][finding], max(r["reached"][method], r["reached"][other])
        why = (f"{r['reached'][method]:.0%} of {method}'s and {r['reached'][other]:.0%} of {other}'s runs reached "
               f"{s.threshold:.0%} validation accuracy")
        out[finding] = [Evidence(clears(up, MIN_SPEEDUP), f"{fmt_speed(up)} ({why})", reached >= MIN_REACHED, why)]
    return out


def judged(r: dict, s: SpeedSettings) -> list:
    """Every finding's verdict on ``r`` (``book.judge``)."""
    return judge_all(FINDINGS, evidence(r, s))


def check(results: dict, s: SpeedSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``): the mechanics, that the task groks, and each
    finding's verdict as ``s.findings`` declares it for the profile; print each with its measured value."""
    r, checks = results, Checks(s.claims)
    checks.expect("every logged metric of every run is finite", r["finite"], r["finite"])
    checks.expect("every run's training loss ended below where it started", r["loss_fell"], r["loss_fell"])
    ratio = r["delay_ratio"]
    checks.claim(f"the task groks: tuned AdamW's runs reach {s.threshold:.0%} validation accuracy at least "
                 f"{MIN_DELAY:g}x later than {s.threshold:.0%} training accuracy (median over seeds), and at least "
                 f"{MIN_REACHED:.0%} of them reach it", f"{fmt(ratio, '.1f')}x; {r['reached']['AdamW']:.0%} reached",
                 ratio is not None and ratio >= MIN_DELAY and r["reached"]["AdamW"] >= MIN_REACHED)
    if s.claims:
        checks.findings(judged(r, s), s.findings)
    return checks.report()


def summary(r: dict, s: SpeedSettings) -> str:
    """The tuning grids and the comparison, for the chapter's output."""
    lines = [f"tuning: median steps to 95% validation accuracy over the tuning seeds (- : a seed had not reached it in "
             f"{s.tune_budget:,} steps)"]
    for method, scores in r["tuning"].items():
        for cell, score in scores.items():
            mark = "  <- best" if cell == r["best"][method] else ""
            lines.append(f"  {method:9s} {cell_label(method, cell):44s} {_steps(score)}{mark}")
    lines.append(f"comparison on seeds {list(s.compare_seeds)}: steps to 95% per seed (- : not within "
                 f"{s.budget:,}), ms per step")
    for name, steps in r["steps"].items():
        each = ", ".join("-" if x is None else f"{x:,}" for x in steps)
        lines.append(f"  {name:15s} {each:40s} median {r['median_steps'][name]:>7,.0f}  "
                     f"{1e3 * r['per_step'][name]:.1f} ms")
    return "\n".join(lines)


def _steps(score: float) -> str:
    return "-" if math.isinf(score) else f"{score:,.0f}"


def glued(r: dict, s: SpeedSettings) -> dict[str, str]:
    """The chapter's numbers as the prose quotes them (``book.glue`` each), verdicts included."""
    pr = s.preset
    out = {"p": str(pr.p), "frac_train": f"{pr.frac_train:.0%}", "n_train": f"{s.baseline[0].task.n_train:,}",
           "budget_steps": f"{s.budget:,}", "tune_steps": f"{s.tune_budget:,}", "n_tune": str(pr.n_tune), "n_compare": str(pr.n_compare),
           "log_every": str(pr.log_every), "min_speedup": f"{MIN_SPEEDUP:g}x", "min_delay": f"{MIN_DELAY:g}x",
           "min_reached": f"{MIN_REACHED:.0%}",
           "delay_ratio": fmt(None) if r["delay_ratio"] is None else f"{r['delay_ratio']:.0f}x",
           "n_settings": str(sum(len(v) for v in r["tuning"].values())),
           "lrs": ", ".join(f"{x:g}" for x in pr.lrs), "weight_decays": ", ".join(f"{x:g}" for x in pr.weight_decays),
           "filters": "; ".join(f"alpha {a:g}, lamb {lamb:g}" for a, lamb in pr.filters)}
    for name in r["steps"]:
        key = _key(name)
        seconds = sorted(r["seconds"][name])
        out[f"steps_{key}"] = f"{r['median_steps'][name]:,.0f}"
        out[f"steps_range_{key}"] = f"{min(r['counted'][name]):,.0f}-{max(r['counted'][name]):,.0f}"
        out[f"reached_{key}"] = f"{r['reached'][name]:.0%}"
        out[f"seconds_{key}"] = f"{statistics.median(seconds):.1f}"
        out[f"seconds_range_{key}"] = f"{seconds[0]:.1f}-{seconds[-1]:.1f}"
        out[f"ms_per_step_{key}"] = f"{1e3 * r['per_step'][name]:.1f}"
        median, low, high = r["cost_ratios"][name]
        out[f"cost_vs_adamw_{key}"] = f"{1 / median:.2f}x [{1 / high:.2f}-{1 / low:.2f}]"
    for method, cell in r["best"].items():
        out[f"best_{_key(method)}"] = cell_label(method, cell)
    for finding, up in r["speed"].items():
        out[f"speedup_{finding}"] = fmt_speed(up)
    for method, up in r["vs_baseline"].items():
        out[f"speedup_baseline_{_key(method)}"] = fmt_speed(up)
    return {**out, **verdict_glue(judged(r, s))}


def _key(name: str) -> str:
    return {"AdamW": "adamw", "Grokfast": "grokfast", "Muon": "muon", BASELINE: "baseline"}[name]
