"""The chapter ``book/softmax_collapse.ipynb``: Prieto et al.'s softmax collapse, StableMax and ⊥Grad.

Every run trains Prieto, Barsbey, Mediano and Birdal's MLP (``recipes.prieto_run``: a + b mod p, the operands two-hot,
two ReLU layers of 200 without biases, full batch, AdamW without weight decay) and logs the collapse meter
(``history.softmax_collapse``: the share of training examples whose softmax sums to exactly 1, and whose loss is
exactly 0, in float16, float32 and float64). Three groups of runs:

1. **Precision** (their Figure 2): the softmax cross-entropy computed in float16, float32 and float64, without weight
   decay, at each training fraction of ``fractions``: how much of the training set each collapses, and how far its
   validation accuracy gets.
2. **StableMax** (their Figure 1): StableMax's cross-entropy against the float32 and float64 softmax, without weight
   decay, at their learning rate 0.01 (at ``paper`` only: their Figure 1 needs tens of thousands of epochs).
3. **⊥Grad** (their Figures 1 and 6): ⊥AdamW without weight decay against AdamW without and with weight decay, on
   ``n_seeds`` seeds, each run stopping at 99% validation accuracy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from grokutils.analysis.collapse import collapse_margins, margin_losses, stored_collapse
from grokutils.analysis.speed import steps_or_budget
from grokutils.book import (HOLDS, NOT_TESTED, Checks, Evidence, Finding, asserts_findings, check_seed, fmt, fmt_step,
                            judge_all, resolve_profile, turn, verdict_glue)
from grokutils.chapters import fourier_circuits
from grokutils.config import RunConfig, check_int, resolve_device
from grokutils.history import History
from grokutils.recipes import prieto_run

PRECISIONS = {"float16": "cross_entropy_f16", "float32": "cross_entropy", "float64": "cross_entropy_f64"}
"""The precision group: run name -> its loss (the softmax cross-entropy with the log-softmax in that format)."""
OWN_COLUMN = {"float16": "collapse/f16", "float32": "collapse/f32", "float64": "collapse/f64"}
"""Each precision run's collapse in its own precision (the meter's column)."""
STABLEMAX_RUNS = {"StableMax": "stablemax", "float32": "cross_entropy", "float64": "cross_entropy_f64"}
"""The StableMax group: run name -> loss (StableMax's cross-entropy in float64, against softmax in float32 and float64)."""
FIGURE2_EPS = {0.4: 1e-30}
"""Adam's eps of their Figure 2's runs where it is not the script's 1e-25 (``run_main_experiments.sh``: 1e-30 at
training fraction 0.4)."""
MODE = "workers"
"""The sweep engine trains each missing run alone, two at a time (``dispatch.MODES``), so a ⊥Grad run that stops early
frees its worker."""
ORTHO = "⊥AdamW"
METHODS = {ORTHO: dict(orthograd=True), "AdamW": dict(), "AdamW, weight decay 1": dict(weight_decay=1.0)}
"""The ⊥Grad group: method -> ``prieto_run`` fields (⊥AdamW with their script's torch-default betas and eps)."""
COLLAPSED = 0.1
"""A run has collapsed from its first logged step at which this share of its training examples has a softmax sum of
exactly 1 in its own precision (reported, not judged)."""
LEVEL = 0.95
"""Fitting and generalising: 95% training and validation accuracy."""
STOP = 0.99
"""The ⊥Grad runs stop at this validation accuracy."""
MIN_COLLAPSE_GAP = 0.2
"""Lower precision collapses more: the largest share of the training set collapsed at once in the run's own precision
is at least this (20 points) above the next higher precision's (chosen after the pilots; margin 10 points)."""
MIN_VAL_GAP = 0.05
"""Collapse stops generalisation: each precision's final validation accuracy lies at least this (5 points) above the next
lower precision's (chosen after the pilots; margin 2.5 points)."""
MIN_RISE = 0.1
"""A validation curve "rose" when it ended at least this far (10 points) above its lowest value: the power
condition of the findings that need the runs to generalise at all."""
MIN_GAIN = 0.5
"""⊥AdamW generalises where AdamW does not: its final validation accuracy exceeds AdamW-without-decay's by at least
this (50 points; margin 10 points; chosen after the ⊥Grad pilot, as are the two below)."""
MAX_DELAY_RATIO = 2.0
"""No delay: a run reaches 95% validation accuracy within this many times the steps it takes to reach 95% training
accuracy (margin a factor 1.25 either way)."""
MIN_SPEEDUP = 2.0
"""⊥AdamW groks sooner than AdamW with weight decay 1: the latter needs at least this many times its steps to 95%
validation accuracy (margin a factor 1.25 either way)."""
MIN_STABLE_VAL = 0.9
"""StableMax groks: its final validation accuracy reaches this (90%; margin 5 points; chosen before any StableMax run)."""
PRIETO = "prieto2025stability"
FINDINGS = (
    Finding("collapse_order", "the lower the softmax's precision, the more of the training set collapses (their "
            "Figure 2)", PRIETO, f"the largest share of the training set collapsed at once in the run's own precision: "
            f"float16's minus float32's and float32's minus float64's, the smaller at least {MIN_COLLAPSE_GAP:.0%}",
            "the float16 run collapsed at all", margin=0.1),
    Finding("collapse_stops_generalisation", "collapse stops generalisation: the lower the precision, the lower the "
            "validation accuracy the run ends at (their Figure 2)", PRIETO, f"the final validation accuracy: float64's "
            f"minus float32's and float32's minus float16's, the smaller at least {MIN_VAL_GAP:.0%}",
            f"the float64 run's validation accuracy rose (ended at least {MIN_RISE:.0%} above its lowest)",
            margin=0.025),
    Finding("stablemax_groks", "StableMax groks without weight decay (their Figure 1)", PRIETO,
            f"StableMax's final validation accuracy at least {MIN_STABLE_VAL:.0%}",
            f"StableMax's validation accuracy rose at all (ended at least {MIN_RISE:.0%} above its lowest)",
            margin=0.05),
    Finding("orthograd_generalises", "⊥AdamW generalises without weight decay, where AdamW without weight decay does "
            "not (their Figures 1 and 6)", PRIETO, f"per seed, ⊥AdamW's final validation accuracy minus AdamW's (no "
            f"weight decay), at least {MIN_GAIN:.0%}", "both fitted their training sets (95% training accuracy)",
            margin=0.1),
    Finding("orthograd_no_delay", "⊥AdamW removes the delay: it generalises as it fits", PRIETO,
            f"per seed, ⊥AdamW's steps to {LEVEL:.0%} validation accuracy over its steps to {LEVEL:.0%} training "
            f"accuracy, at most {MAX_DELAY_RATIO:g}x", f"⊥AdamW reached {LEVEL:.0%} validation accuracy",
            margin=math.log10(1.25)),
    Finding("orthograd_faster_than_decay", "⊥AdamW groks sooner than AdamW with weight decay", PRIETO,
            f"per seed, AdamW-with-weight-decay-1's steps to {LEVEL:.0%} validation accuracy over ⊥AdamW's, at least "
            f"{MIN_SPEEDUP:g}x (a run that never reached counted at the budget)",
            f"one of the two reached {LEVEL:.0%} validation accuracy", margin=math.log10(1.25)),
)
SOURCES = dict.fromkeys((f.name for f in FINDINGS), HOLDS)
BOOK_FINDINGS = dict(SOURCES, stablemax_groks=NOT_TESTED)
"""What the ``book`` runs show on seeds 0 and 1 (issue 34's cold runs). Precision at fraction 0.7: the largest shares
collapsed in the run's own format 100% / 60% / 0% and 100% / 61% / 0% (float16 / 32 / 64), final validation accuracy
45.5% / 58.9% / 73.8% and 49.8% / 62.5% / 78.3%. ⊥Grad (seeds 0-2 and 1-3): ⊥AdamW at 95% validation accuracy by steps
110-130, 1.09x-1.18x its steps to 95% training accuracy; AdamW without weight decay ends at 0.0-0.1%; AdamW with weight
decay 1 reaches 95% at steps 490-550, 3.77x-4.58x later than ⊥AdamW. StableMax is not trained at ``book``."""


@dataclass(frozen=True)
class CollapseProfile:
    """What a profile sets: the task, each group's learning rate and budget, the seeds, and the verdicts it declares.

    Attributes:
        p: the modulus.
        hidden: the MLP's hidden widths (theirs: 200, 200).
        fractions: the precision group's training fractions (one run per precision at each).
        precision_lr: the precision group's learning rate.
        precision_steps: the precision group's budget in steps (full batch: epochs).
        stablemax_frac: the StableMax group's training fraction.
        stablemax_lr: the StableMax group's learning rate.
        stablemax_steps: the StableMax group's budget (0: no StableMax group).
        ortho_frac: the ⊥Grad group's training fraction.
        ortho_lr: the ⊥Grad group's learning rate.
        ortho_steps: the ⊥Grad group's budget.
        n_seeds: the ⊥Grad group's seeds.
        n_logs: logged steps per run (linearly spaced).
        findings: each finding's name -> the verdict this profile's runs give, which the Checks assert.
    """

    p: int
    hidden: tuple[int, ...]
    fractions: tuple[float, ...]
    precision_lr: float
    precision_steps: int
    stablemax_frac: float
    stablemax_lr: float
    stablemax_steps: int
    ortho_frac: float
    ortho_lr: float
    ortho_steps: int
    n_seeds: int
    n_logs: int
    findings: dict


PROFILES = {
    "smoke": CollapseProfile(p=11, hidden=(16, 16), fractions=(0.5,), precision_lr=0.01, precision_steps=30,
                             stablemax_frac=0.5, stablemax_lr=0.01, stablemax_steps=30, ortho_frac=0.5, ortho_lr=0.01,
                             ortho_steps=30, n_seeds=2, n_logs=7, findings=SOURCES),
    # book: pilot single runs (seed 0, 200 logged steps' resolution). Precision at their Figure 2's lr 5e-4, no weight
    # decay: at fraction 0.4 no precision's validation accuracy rose within 6,000 steps (0.1-0.2%); at 0.7 within 4,000
    # steps float16 / float32 / float64 ended at 45.5% / 58.9% / 73.8% validation accuracy, the largest collapsed
    # shares in their own precision 100% / 60% / 0%; 4,000 steps at 0.7 cost 996 s for the three batched at one thread.
    # At lr 0.01, fraction 0.4 (their Figure 1's), no softmax run rose within 6,000 steps, nor StableMax (beta2 0.999)
    # within 20,000 (0.4% validation accuracy at the end, training accuracy 100% from step 400, weight norm 926).
    # ⊥Grad at lr 0.01, fraction 0.4 (seed 0): ⊥AdamW 95% training and 98% validation accuracy both by step 120;
    # AdamW without weight decay 0.1% validation after 600 steps; with weight decay 1, 95% validation at step 560.
    "book": CollapseProfile(p=113, hidden=(200, 200), fractions=(0.7,), precision_lr=5e-4, precision_steps=4_000,
                            stablemax_frac=0.4, stablemax_lr=0.01, stablemax_steps=0, ortho_frac=0.4,
                            ortho_lr=0.01, ortho_steps=1_000, n_seeds=3, n_logs=101, findings=BOOK_FINDINGS),
    "paper": CollapseProfile(p=113, hidden=(200, 200), fractions=(0.4, 0.6, 0.7), precision_lr=5e-4,
                             precision_steps=20_000, stablemax_frac=0.4, stablemax_lr=0.01, stablemax_steps=80_000,
                             ortho_frac=0.4, ortho_lr=0.01, ortho_steps=1_000, n_seeds=3, n_logs=201,
                             findings=SOURCES),
}


@dataclass(frozen=True)
class CollapseSettings:
    """The chapter's runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: seed of the precision and StableMax groups (split and initialisation) and the first of the ⊥Grad group's.
        preset: the profile's settings (``CollapseProfile``), with any knob the reader turned.
        precision: ``{fraction: {precision: run}}`` (``PRECISIONS``).
        stablemax: ``{name: run}`` (``STABLEMAX_RUNS``).
        ortho: ``{method: (run per seed)}`` (``METHODS``).
        mode: how the sweep engine trains missing runs (``MODE``).
        findings: each finding's name -> the verdict this profile's runs give (``book.VERDICTS``), which the Checks
            assert (None: a knob was turned; the verdicts are printed, not asserted).
        claims: whether this profile asserts the chapter's findings (False at ``smoke``).
    """

    profile: str
    device: str | None
    seed: int
    preset: CollapseProfile
    precision: dict
    stablemax: dict
    ortho: dict
    mode: str | None
    findings: dict | None
    claims: bool

    data_files = ()

    def runs(self) -> dict:
        """Every run (``book.run_all``): ``{"precision": ..., "stablemax": ..., "ortho": ...}``."""
        return {"precision": self.precision, "stablemax": self.stablemax, "ortho": self.ortho}

    @property
    def seeds(self) -> tuple[int, ...]:
        """The ⊥Grad group's seeds."""
        return tuple(range(self.seed, self.seed + self.preset.n_seeds))

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        pr = self.preset
        return [f"task: a + b mod {pr.p}, all {pr.p ** 2:,} pairs, two-hot; full batch (a step is an epoch)",
                f"model: MLP {2 * pr.p}-{'-'.join(map(str, pr.hidden))}-{pr.p}, ReLU, no biases",
                f"precision: softmax in float16 / float32 / float64, no weight decay, lr {pr.precision_lr:g}, training "
                f"fractions {list(pr.fractions)}, {pr.precision_steps:,} steps",
                (f"StableMax: against softmax in float32 and float64, lr {pr.stablemax_lr:g}, fraction "
                 f"{pr.stablemax_frac:g}, {pr.stablemax_steps:,} steps" if pr.stablemax_steps else
                 "StableMax: not trained at this profile (profile 'paper' trains it)"),
                f"⊥Grad: {'; '.join(METHODS)}; lr {pr.ortho_lr:g}, fraction {pr.ortho_frac:g}, {pr.ortho_steps:,} steps "
                f"or until {STOP:.0%} validation accuracy, seeds {list(self.seeds)}"]


def settings(profile: str | None = None, steps: int | None = None, seed: int = 0,
             device: str | None = None) -> CollapseSettings:
    """The chapter's runs at ``profile`` (the notebook's parameters); ``steps`` replaces the precision group's budget
    (None: the profile's), and then the profile's declared verdicts do not apply."""
    profile = resolve_profile(profile)
    check_int("steps", steps, 10, none_ok=True)
    preset, turned = turn(PROFILES[profile], precision_steps=steps)
    check_seed(seed, preset.n_seeds)
    resolve_device(device)
    precision = {frac: {name: _run(preset, frac, preset.precision_lr, preset.precision_steps, seed, loss=loss,
                                   **({"adam_eps": FIGURE2_EPS[frac]} if frac in FIGURE2_EPS else {}))
                        for name, loss in PRECISIONS.items()} for frac in preset.fractions}
    stablemax = {name: _run(preset, preset.stablemax_frac, preset.stablemax_lr, preset.stablemax_steps, seed, loss=loss,
                            **({"betas": (0.9, 0.999)} if loss == "stablemax" else {}))
                 for name, loss in STABLEMAX_RUNS.items()} if preset.stablemax_steps else {}
    ortho = {method: tuple(_run(preset, preset.ortho_frac, preset.ortho_lr, preset.ortho_steps, k,
                                stop_at_val_acc=STOP, **fields)
                           for k in range(seed, seed + preset.n_seeds)) for method, fields in METHODS.items()}
    return CollapseSettings(profile, device, seed, preset, precision, stablemax, ortho, mode=MODE,
                            findings=None if turned else preset.findings, claims=asserts_findings(profile))


def _run(preset: CollapseProfile, frac: float, lr: float, steps: int, seed: int, **fields) -> RunConfig:
    cfg = prieto_run(p=preset.p, frac_train=frac, lr=lr, steps=steps, n_logs=preset.n_logs, seed=seed,
                     hidden=preset.hidden, **fields)
    return cfg.replace(probes=("softmax_collapse",))


def margin_curves(s: CollapseSettings, top: float = 50.0) -> tuple[torch.Tensor, dict, dict]:
    """The cross-entropy in each precision of an example whose correct logit leads the other ``p - 1`` by margins from 0
    to ``top``, and each precision's collapse margin: ``(margins, losses, collapse_margins)``."""
    margins = torch.linspace(0, top, 1001, dtype=torch.float64)
    return margins, margin_losses(margins, s.preset.p), collapse_margins(s.preset.p)


def collapse_step(h: History, column: str) -> int | None:
    """The first logged step at which ``COLLAPSED`` of the run's training set has collapsed in ``column``'s precision."""
    return h.steps_to(column, COLLAPSED)


def rose(h: History) -> float:
    """How far the validation accuracy ended above its lowest value."""
    return float(h.val_acc[-1] - h.val_acc.min())


def measure(r: dict, s: CollapseSettings, fourier: dict | None = None) -> dict:
    """The chapter's numbers from its Histories ``r`` (as ``s.runs()``); ``fourier`` is the collapse meter on the
    Fourier chapter's stored runs (``stored_meters``), or None where they are not in the cache."""
    precision = {frac: {name: _precision_numbers(h, OWN_COLUMN[name]) for name, h in runs.items()}
                 for frac, runs in r["precision"].items()}
    ortho = {method: [_ortho_numbers(h) for h in hs] for method, hs in r["ortho"].items()}
    histories = [h for runs in r["precision"].values() for h in runs.values()] + list(r["stablemax"].values()) + \
        [h for hs in r["ortho"].values() for h in hs]
    return {
        "margins": collapse_margins(s.preset.p),
        "precision": precision,
        "stablemax": {name: {"final_val": float(h.val_acc[-1]), "rose": rose(h), "min_loss": float(h.train_loss.min())}
                      for name, h in r["stablemax"].items()},
        "ortho": ortho,
        "fourier": fourier,
        "finite": all(h.is_finite() for h in histories),
        "loss_fell": all(h.train_loss[-1] < h.train_loss[0] for h in histories),
    }


def _precision_numbers(h: History, column: str) -> dict:
    return {"collapse_step": collapse_step(h, column), "max_collapse": float(h.metrics[column].max()),
            "min_loss": float(h.train_loss.min()), "fit": h.steps_to("train_acc", LEVEL),
            "final_val": float(h.val_acc[-1]), "rose": rose(h)}


def _ortho_numbers(h: History) -> dict:
    return {"fit": h.steps_to("train_acc", LEVEL), "general": h.steps_to("val_acc", LEVEL),
            "final_val": float(h.val_acc[-1]), "final_train": float(h.train_acc[-1])}


def fourier_runs(s: CollapseSettings) -> dict[str, RunConfig]:
    """The Fourier chapter's runs at this profile and seed: its run (the loss in float64, checkpoints kept) and its
    spike controls (the loss in float32; and with Adam's eps 1e-5), by label."""
    fs = fourier_circuits.settings(s.profile, seed=s.seed, device=s.device)
    return {fourier_circuits.MAIN: fs.run, **fs.controls}


def stored_meters(histories: dict[str, History | None]) -> dict | None:
    """The collapse meter on another chapter's stored runs (``histories``: label -> History, None where not cached), at
    each checkpoint and at the end, on each run's own training set: label -> ``analysis.collapse.stored_collapse``;
    None unless every run is cached."""
    if any(h is None for h in histories.values()):
        return None
    out = {}
    for label, h in histories.items():
        split = h.config.task.build()
        out[label] = stored_collapse(h, split.x_train, split.y_train)
    return out


def _log_score(value: float | None, threshold: float, above: bool = True) -> float | None:
    if value is None or value <= 0:
        return None
    return (math.log10(value) - math.log10(threshold)) * (1 if above else -1)


def evidence(r: dict, s: CollapseSettings) -> dict[str, list[Evidence]]:
    """Each finding's measurements in ``r`` (from ``measure``): per training fraction, per seed, or the one run."""
    out = {"collapse_order": [], "collapse_stops_generalisation": []}
    for frac, runs in r["precision"].items():
        label = f"fraction {frac:g}" if len(r["precision"]) > 1 else ""
        out["collapse_order"].append(_order_evidence(runs, label))
        out["collapse_stops_generalisation"].append(_generalisation_evidence(runs, label))
    out["stablemax_groks"] = [_stablemax_evidence(r["stablemax"].get("StableMax"), s)]
    out.update(_ortho_evidence(r, s))
    return out


def _gaps(values: dict[str, float], order: tuple[str, str, str]) -> list[float]:
    """``values[order[0]] - values[order[1]]`` and ``values[order[1]] - values[order[2]]``."""
    return [values[order[0]] - values[order[1]], values[order[1]] - values[order[2]]]


def _order_evidence(runs: dict, label: str) -> Evidence:
    most = {name: n["max_collapse"] for name, n in runs.items()}
    gaps = _gaps(most, ("float16", "float32", "float64"))
    shown = ", ".join(f"{name} {value:.0%}" for name, value in most.items())
    return Evidence(min(gaps) - MIN_COLLAPSE_GAP, f"most collapsed at once: {shown}", most["float16"] > 0,
                    "the float16 run never collapsed", label)


def _generalisation_evidence(runs: dict, label: str) -> Evidence:
    final = {name: n["final_val"] for name, n in runs.items()}
    gaps = _gaps(final, ("float64", "float32", "float16"))
    shown = ", ".join(f"{name} {value:.1%}" for name, value in final.items())
    rise = runs["float64"]["rose"]
    return Evidence(min(gaps) - MIN_VAL_GAP, f"final validation accuracy: {shown}", rise >= MIN_RISE,
                    f"the float64 run's validation accuracy did not rise (it ended {rise:.1%} above its lowest)", label)


def _stablemax_evidence(sm: dict | None, s: CollapseSettings) -> Evidence:
    if sm is None:
        return Evidence(None, "no StableMax run at this profile", False,
                        "StableMax is trained at profile 'paper' only: their Figure 1 takes tens of thousands of "
                        "epochs, beyond this profile's budget")
    return Evidence(sm["final_val"] - MIN_STABLE_VAL, f"StableMax's final validation accuracy {sm['final_val']:.1%} "
                    f"(rose {sm['rose']:.1%} above its lowest)", sm["rose"] >= MIN_RISE,
                    f"StableMax's validation accuracy did not rise within {s.preset.stablemax_steps:,} steps (it ended "
                    f"{sm['rose']:.1%} above its lowest)")


def _ortho_evidence(r: dict, s: CollapseSettings) -> dict[str, list[Evidence]]:
    out = {"orthograd_generalises": [], "orthograd_no_delay": [], "orthograd_faster_than_decay": []}
    budget = s.preset.ortho_steps
    for k, seed in enumerate(s.seeds):
        o, plain, decay = (r["ortho"][m][k] for m in METHODS)
        label = f"seed {seed}"
        gain = o["final_val"] - plain["final_val"]
        fitted = min(o["final_train"], plain["final_train"]) >= LEVEL
        out["orthograd_generalises"].append(Evidence(
            gain - MIN_GAIN, f"⊥AdamW {o['final_val']:.1%}, AdamW {plain['final_val']:.1%}", fitted,
            "a run did not fit its training set", label))
        delay = None if o["general"] is None or o["fit"] is None else o["general"] / max(o["fit"], 1)
        out["orthograd_no_delay"].append(Evidence(
            _log_score(delay, MAX_DELAY_RATIO, above=False), f"95% training at step {fmt(o['fit'])}, validation at "
            f"{fmt(o['general'])}" + ("" if delay is None else f" ({delay:.2f}x)"), o["general"] is not None,
            f"⊥AdamW did not reach {LEVEL:.0%} validation accuracy in {budget:,} steps", label))
        reached = o["general"] is not None or decay["general"] is not None
        later, sooner = steps_or_budget([decay["general"], o["general"]], budget)
        speed = later / max(sooner, 1) if reached else None
        out["orthograd_faster_than_decay"].append(Evidence(
            None if speed is None else _log_score(speed, MIN_SPEEDUP),
            f"⊥AdamW at step {fmt(o['general'])}, AdamW with weight decay 1 at {fmt(decay['general'])}"
            + ("" if speed is None else f" ({_bound(decay['general'], o['general'])}{speed:.2f}x)"), reached,
            f"neither reached {LEVEL:.0%} validation accuracy in {budget:,} steps", label))
    return out


def _bound(later: int | None, sooner: int | None) -> str:
    """How a ratio ``later / sooner`` with an unreached side counted at the budget is quoted: "at least ", "at most " or
    nothing."""
    return "at least " if later is None else "at most " if sooner is None else ""


def judged(r: dict, s: CollapseSettings) -> list:
    """Every finding's verdict on ``r`` (``book.judge``)."""
    return judge_all(FINDINGS, evidence(r, s))


def check(results: dict, s: CollapseSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``): the mechanics, and each finding's verdict as
    ``s.findings`` declares it for the profile; print each with its measured value."""
    r, checks = results, Checks(s.claims)
    checks.expect("every logged metric of every run is finite", r["finite"], r["finite"])
    checks.expect("every run's training loss ended below where it started", r["loss_fell"], r["loss_fell"])
    m = r["margins"]
    ordered = m["f16"] < m["f32"] < m["f64"]
    checks.expect("the collapse margin grows with the precision (float16 < float32 < float64)",
                  ", ".join(f"{k} {v:.1f}" for k, v in m.items()), ordered)
    if s.claims:
        checks.findings(judged(r, s), s.findings)
    return checks.report()


def summary(r: dict, s: CollapseSettings) -> str:
    """The numbers behind the findings, for the chapter's output."""
    lines = [f"collapse margins for {s.preset.p} classes: " + ", ".join(f"{k} {v:.2f}" for k, v in r["margins"].items())]
    for frac, runs in r["precision"].items():
        lines.append(f"precision group, training fraction {frac:g} (budget {s.preset.precision_steps:,} steps):")
        for name, n in runs.items():
            lines.append(f"  {name:8s} fits at {fmt(n['fit']):>6s}  collapses ({COLLAPSED:.0%}) at "
                         f"{fmt(n['collapse_step']):>6s}  most collapsed {n['max_collapse']:.0%}  lowest loss "
                         f"{n['min_loss']:.2e}  final validation {n['final_val']:.1%}")
    lines.append("StableMax group:" + ("" if r["stablemax"] else " not trained at this profile"))
    for name, n in r["stablemax"].items():
        lines.append(f"  {name:9s} final validation {n['final_val']:.1%} (rose {n['rose']:.1%})  lowest loss "
                     f"{n['min_loss']:.2e}")
    lines.append(f"⊥Grad group: steps to {LEVEL:.0%} training / validation accuracy per seed {list(s.seeds)}")
    for method, per_seed in r["ortho"].items():
        each = "; ".join(f"{fmt(n['fit'])} / {fmt(n['general'])} ({n['final_val']:.0%})" for n in per_seed)
        lines.append(f"  {method:22s} {each}")
    return "\n".join(lines)


def _stablemax_glue(runs: dict, pr: CollapseProfile) -> str:
    """The StableMax group in words: not trained at this profile, or each run's final validation accuracy."""
    if not runs:
        return "This profile trains no StableMax run (`profile=\"paper\"` trains their 80,000 epochs)"
    finals = ", ".join(f"{name} {n['final_val']:.1%}" for name, n in runs.items())
    return (f"After {pr.stablemax_steps:,} epochs at lr {pr.stablemax_lr:g} the validation accuracy was {finals}, and "
            f"StableMax's lowest training loss {runs['StableMax']['min_loss']:.1e}")


def _fourier_glue(meters: dict | None) -> dict[str, str]:
    """The meter on the Fourier chapter's runs in words: each run's largest collapsed share in float32 and float64
    over what it stored."""
    if meters is None:
        return {"fourier_state": "are not in this machine's run cache (execute the Fourier chapter first), so this "
                                 "section measures nothing here"}
    parts = [f"{label}: at most {float(m['collapse/f32'].max()):.1%} collapsed in float32 and "
             f"{float(m['collapse/f64'].max()):.1%} in float64 (over {len(m['steps'])} stored step"
             f"{'s' if len(m['steps']) > 1 else ''})" for label, m in meters.items()]
    return {"fourier_state": "were found in the run cache and measured: " + "; ".join(parts)}


def glued(r: dict, s: CollapseSettings) -> dict[str, str]:
    """The chapter's numbers as the prose quotes them (``book.glue`` each), verdicts included."""
    pr = s.preset
    frac = pr.fractions[0]
    first = r["precision"][frac]
    out = {"p": str(pr.p), "n_classes": str(pr.p), "precision_lr": f"{pr.precision_lr:g}",
           "precision_steps": f"{pr.precision_steps:,}", "fractions": ", ".join(f"{f:g}" for f in pr.fractions),
           "stablemax_lr": f"{pr.stablemax_lr:g}", "stablemax_steps": f"{pr.stablemax_steps:,}",
           "ortho_lr": f"{pr.ortho_lr:g}", "ortho_steps": f"{pr.ortho_steps:,}", "n_seeds": str(pr.n_seeds),
           "collapsed": f"{COLLAPSED:.0%}", "min_collapse_gap": f"{MIN_COLLAPSE_GAP:.0%}",
           "min_val_gap": f"{MIN_VAL_GAP:.0%}", "max_delay_ratio": f"{MAX_DELAY_RATIO:g}x", "stop": f"{STOP:.0%}",
           "min_speedup": f"{MIN_SPEEDUP:g}x", "min_gain": f"{MIN_GAIN:.0%}", "min_stable_val": f"{MIN_STABLE_VAL:.0%}",
           "first_fraction": f"{frac:g}"}
    for name, value in r["margins"].items():
        out[f"margin_{name}"] = f"{value:.1f}"
    for name, n in first.items():
        key = name.replace("float", "f")
        out[f"fit_{key}"] = fmt_step(n["fit"])
        out[f"collapse_step_{key}"] = fmt_step(n["collapse_step"])
        out[f"min_loss_{key}"] = f"{n['min_loss']:.1e}"
        out[f"max_collapse_{key}"] = f"{n['max_collapse']:.0%}"
        out[f"final_val_{key}"] = f"{n['final_val']:.1%}"
    out.update(_fourier_glue(r["fourier"]))
    out["stablemax_state"] = _stablemax_glue(r["stablemax"], pr)
    for method, key in zip(METHODS, ("ortho", "adamw", "decay")):
        per_seed = r["ortho"][method]
        out[f"{key}_general"] = ", ".join(fmt_step(n["general"]) for n in per_seed)
        out[f"{key}_fit"] = ", ".join(fmt_step(n["fit"]) for n in per_seed)
        out[f"{key}_final_val"] = ", ".join(f"{n['final_val']:.0%}" for n in per_seed)
    return {**out, **verdict_glue(judged(r, s))}
