"""The chapter ``book/comprehension_band.ipynb`` (Li and Sakib's poster): its settings, numbers and Checks.

The poster trains Power et al.'s 2-layer transformer on a/b mod p with 30% of the pairs for training, so
the training-set size N = 0.3 p(p - 1) is set by the prime p, over a grid of N and batch size B. Each
cell holds runs that differ in initialisation scale and weight decay; each run stops once validation
accuracy reaches 95% or at the budget. A cell's grokking delay is the mean, over its runs that reach 95%
on both accuracies, of the steps between the two. The poster finds short delays along a diagonal band
100 <= N/B <= 800 (the "comprehension band").

``book`` is a smaller grid (30 cells, 2 runs each) with a budget of 4,000 steps on the Power chapter's
model, its metrics logged on at most 1,000 examples of each set; ``paper`` is the poster's budget (10^5 steps,
10 runs a cell); ``smoke`` is a tiny grid for tests.
Every run logs the norm of each weight matrix (``PROBES``): the landscape chapter loads two runs of this
grid from the run cache and reads them. ``settings(profile).examples`` names the in-band and out-of-band
example runs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from grokutils.analysis import band
from grokutils.book import (DOES_NOT_HOLD, HOLDS, NOT_TESTED, Checks, Evidence, Finding, asserts_findings, check_seed,
                            fmt, fmt_step, judge_all, resolve_profile, turn, verdict_glue)
from grokutils.config import RunConfig, check_int, resolve_device
from grokutils.history import History
from grokutils.recipes import power_run
from grokutils.tasks.modular import ModularConfig

THRESHOLD = 0.95
BAND = (100.0, 800.0)
"""The poster's comprehension band: 100 <= N/B <= 800."""
BAND_CENTRE = math.sqrt(BAND[0] * BAND[1])
FRAC_TRAIN = 0.3
PROBES = ("matrix_norms",)
"""Every run logs the norm of each weight matrix: the landscape chapter reads them off the example runs."""
MIN_FIT_SHARE = 0.5
"""The power condition of the band's findings: at least this share of the runs concerned fitted their training set
(95%) within the budget; below it the budget, not the band, decides the delays."""
FINDINGS = (
    Finding("most_cells_reach", "most cells of the grid grok within the budget", "li_sakib_grokking_poster",
            f"the share of cells whose runs reach {THRESHOLD:.0%} on both accuracies, at least 70%",
            f"at least {MIN_FIT_SHARE:.0%} of the grid's runs fitted their training set", margin=0.05),
    Finding("diagonal_band", "the shortest delays lie on a diagonal band of N/B", "li_sakib_grokking_poster",
            "the slope of log B* on log N (B*: each N's batch size with the shortest delay) within [0.5, 1.5]",
            f"at least 3 training-set sizes have a cell that reached 95% on both accuracies, and at least "
            f"{MIN_FIT_SHARE:.0%} of the runs in the band's cells fitted their training set (else the band cannot "
            "hold the shortest delays)", margin=0.1),
    Finding("band_shortest", "the delays inside the band 100 <= N/B <= 800 are the shortest",
            "li_sakib_grokking_poster",
            "the median delay of the band's reached cells against the others', as log(others / band), above 0",
            f"at least 3 reached cells on each side, and at least {MIN_FIT_SHARE:.0%} of the runs in the band's cells "
            "fitted their training set", margin=math.log(1.25)),
    Finding("validation_waits", "grokking is a delay of validation, not an early fit of training",
            "li_sakib_grokking_poster",
            "how many times more widely the validation-95% steps spread than the training-95% steps, as "
            "log(ratio / 2), above 0", "at least 3 cells reached 95% on both accuracies", margin=math.log(1.25)),
)
"""The poster's findings. The margins and ``MIN_FIT_SHARE`` were set in issue 27, after the ``book`` runs of issue 12
were known (8 of 30 cells reached; 1 of the band's 30 runs fitted its training set; slope -0.57; spread ratio 0.2)."""
POSTER = dict.fromkeys((f.name for f in FINDINGS), HOLDS)
BOOK_FINDINGS = dict(most_cells_reach=NOT_TESTED, diagonal_band=NOT_TESTED, band_shortest=NOT_TESTED,
                     validation_waits=DOES_NOT_HOLD)
"""What the ``book`` grid shows, on seeds 0 and 1 (issue 27's closing note)."""

@dataclass(frozen=True)
class BandProfile:
    """What a profile sets: the grid, each run's budget and logging, and the verdicts it declares.

    Attributes:
        primes: the moduli p; each sets N = 0.3 p (p - 1).
        batch_sizes: the batch sizes B; a cell exists where N/B is at least ``min_ratio``.
        min_ratio: the smallest N/B of a cell.
        variants: each run of a cell as (initialisation scale, weight decay).
        steps: each run's budget (it stops earlier at 95% validation accuracy).
        n_logs: logged steps (log-spaced).
        max_val: held-out equations kept for validation (None: all).
        max_eval_train: training examples the metrics read (None: all).
        fused_adam: whether the runs use torch's fused Adam kernel.
        widths: model widths replacing the Power chapter's (empty: the same).
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``; "workers"
            at book: worker processes, one thread each).
        findings: each finding's name -> the verdict this profile's runs give, which the Checks assert.
    """

    primes: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    min_ratio: float
    variants: tuple[tuple[float, float], ...]
    steps: int
    n_logs: int
    max_val: int | None
    max_eval_train: int | None
    fused_adam: bool
    widths: dict
    mode: str | None
    findings: dict


PROFILES = {
    "smoke": BandProfile(primes=(7, 11), batch_sizes=(2, 4, 8), min_ratio=1, variants=((1.0, 1.0), (0.8, 2.0)), steps=60,
                         n_logs=12, max_val=40, max_eval_train=30, fused_adam=True,
                         widths=dict(d_model=16, n_heads=2, d_head=8, d_mlp=32), mode=None, findings=POSTER),
    # book: 4,000 steps, 30 logs on at most 1,000 examples of each set and the fused kernel fit the 15-minute budget
    # (measured per cell: 6-24 ms a step, 0.14-0.36 s a log on the full training set); B = 5 adds a column inside
    # the poster's band, and B = 243 (the costliest column, 62 ms a step) is left out: B = 81 at p = 47 already
    # gives N/B = 8
    "book": BandProfile(primes=(47, 59, 71, 83, 97), batch_sizes=(1, 3, 5, 9, 27, 81), min_ratio=8,
                        variants=((1.0, 1.0), (0.8, 2.0)), steps=4000, n_logs=30, max_val=1000, max_eval_train=1000,
                        fused_adam=True, widths={}, mode="workers", findings=BOOK_FINDINGS),
    "paper": BandProfile(primes=(23, 31, 43, 59, 79, 97, 113), batch_sizes=tuple(2 ** k for k in range(11)), min_ratio=1,
                         variants=tuple((scale, wd) for scale in (0.5, 0.75, 1.0, 1.5, 2.0) for wd in (0.3, 1.0)),
                         steps=100_000, n_logs=200, max_val=None, max_eval_train=None, fused_adam=False, widths={}, mode=None,
                         findings=POSTER),
}


@dataclass(frozen=True)
class BandSettings:
    """The chapter's grid of runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: the seed of the first run of each cell (run i of a cell uses ``seed + i``).
        primes: the moduli p; each sets N = ``n_train(p)``.
        batch_sizes: the batch sizes B (a cell exists where N/B is at least the profile's minimum: 8 at ``book``,
            where smaller ratios cost the most per step and the poster's band lies far above them).
        variants: each run of a cell as (initialisation scale, weight decay); AdamW otherwise as Power et al.
        grid: ``(p, B) -> (run, ...)``, one run per variant, each stopping at 95% validation accuracy.
        examples: ``{"in band": run, "outside": run}``: the first run of the cell with the largest N whose
            N/B is closest (on a log scale) to the band's centre, and of the cell at that N farthest from it.
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``).
        findings: each finding's name -> the verdict this profile's runs give (``book.VERDICTS``), which the Checks
            assert (None: the budget was turned away from the profile's; the verdicts are printed, not asserted).
        claims: whether this profile asserts the chapter's findings (False at ``smoke``).
        threshold: the accuracy both curves must reach (95%).
        band: the poster's band of N/B.
        min_reached_share: Checks: at least this share of the cells reach the threshold on both accuracies.
        slope_range: Checks: the fitted slope of log B* on log N lies in this interval (a diagonal band).
        min_spread_ratio: Checks: the validation steps spread at least this many times as widely as the training steps.
        min_cells_compared: Checks: the band's median delay is compared with the others' only when at least this many
            cells on each side reached the threshold on both accuracies, the slope is fitted only on at least this many
            training-set sizes, and the spreads only on this many reached cells (fewer: not tested). Added after a
            ``book`` run in which one in-band run, fitting at the last logged step, was the whole comparison.
    """

    profile: str
    device: str | None
    seed: int
    primes: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    variants: tuple[tuple[float, float], ...]
    grid: dict
    examples: dict
    mode: str | None
    findings: dict | None
    claims: bool
    threshold: float = THRESHOLD
    band: tuple[float, float] = BAND
    min_reached_share: float = 0.7
    slope_range: tuple[float, float] = (0.5, 1.5)
    min_spread_ratio: float = 2.0
    min_cells_compared: int = 3

    data_files = ()

    def runs(self) -> dict:
        """Every run of the grid (``book.run_all``): ``(p, B) -> (run, ...)``, as ``grid``."""
        return self.grid

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        first = next(iter(self.grid.values()))[0]
        m, t = first.model, first.train
        return [f"task: a / b mod p, {FRAC_TRAIN:.0%} of the pairs for training; p in {list(self.primes)} "
                f"(N = {', '.join(f'{n_train(p):,}' for p in self.primes)})",
                f"batch sizes: {list(self.batch_sizes)}; {len(self.grid)} cells, {sum(map(len, self.grid.values()))} runs",
                f"model: 2 layers, d_model {m.d_model}, {m.n_heads} heads, d_mlp {m.d_mlp}, pre-LayerNorm",
                f"runs a cell (initialisation scale, weight decay): {list(self.variants)}; AdamW lr {t.lr:g}",
                f"budget: {t.steps:,} steps, or until validation accuracy reaches {self.threshold:.0%}; metrics at "
                f"{t.n_logs} log-spaced steps on {_train_size(first)} training and {_val_size(first.task)} held-out "
                "equations"]


def _train_size(cfg: RunConfig) -> str:
    cap = cfg.train.max_eval_train
    return "all" if cap is None else f"at most {cap:,}"


def _val_size(task: ModularConfig) -> str:
    held_out = task.n_equations - task.n_train
    return f"{held_out:,}" if task.max_val is None else f"at most {min(task.max_val, held_out):,}"


def n_train(p: int) -> int:
    """The training-set size at modulus ``p``: 30% of the p(p - 1) pairs of a / b mod p."""
    return ModularConfig(op="div", p=p, frac_train=FRAC_TRAIN).n_train


def settings(profile: str | None = None, steps: int | None = None, seed: int = 0,
             device: str | None = None) -> BandSettings:
    """The chapter's grid at ``profile`` (the notebook's parameters); ``steps`` replaces each run's budget (None: the
    profile's), and then the profile's declared verdicts do not apply."""
    profile = resolve_profile(profile)
    check_int("steps", steps, 10, none_ok=True)
    preset, turned = turn(PROFILES[profile], steps=steps)
    check_seed(seed, len(preset.variants))
    resolve_device(device)
    grid = {(p, b): tuple(_run(p, b, seed + i, scale, wd, preset) for i, (scale, wd) in enumerate(preset.variants))
            for p in preset.primes for b in preset.batch_sizes if n_train(p) / b >= preset.min_ratio}
    return BandSettings(profile, device, seed, preset.primes, preset.batch_sizes, preset.variants, grid,
                        _examples(grid), mode=preset.mode, findings=None if turned else preset.findings,
                        claims=asserts_findings(profile))


def _run(p: int, batch_size: int, seed: int, init_scale: float, weight_decay: float, preset: BandProfile) -> RunConfig:
    cfg = power_run(op="div", p=p, frac_train=FRAC_TRAIN, steps=preset.steps, seed=seed, weight_decay=weight_decay,
                    n_logs=preset.n_logs, architecture="pre_ln", **preset.widths)
    return cfg.replace(batch_size=batch_size, stop_at_val_acc=THRESHOLD, init_scale=init_scale, probes=PROBES,
                       max_val=preset.max_val, max_eval_train=preset.max_eval_train, fused_adam=preset.fused_adam)


def _examples(grid: dict) -> dict[str, RunConfig]:
    largest = max(p for p, _ in grid)
    cells = [(p, b) for p, b in grid if p == largest]
    distance = {cell: abs(math.log(n_train(cell[0]) / cell[1] / BAND_CENTRE)) for cell in cells}
    return {"in band": grid[min(cells, key=distance.get)][0], "outside": grid[max(cells, key=distance.get)][0]}


def examples(histories: dict, s: BandSettings) -> dict[str, History]:
    """The in-band and out-of-band example runs (``s.examples``) among ``histories``."""
    found = {cfg: h for cell, runs in histories.items() for cfg, h in zip(s.grid[cell], runs)}
    return {name: found[cfg] for name, cfg in s.examples.items()}


def measure(histories: dict, s: BandSettings) -> dict:
    """The chapter's numbers from ``histories`` (``(p, B) -> [History, ...]``, as ``s.grid``)."""
    cells = [band.summarise(p, n_train(p), b, list(histories[p, b]), s.threshold) for p, b in s.grid]
    fit = band.band_slope(cells)
    best = band.best_batches(cells)
    inside, outside = band.delays_by_band(cells, *s.band)
    reached = [c for c in cells if c.delay_steps is not None]
    ratios = [c.ratio for c in best.values()]
    return {
        "cells": cells,
        "best": best,
        "fit": fit,
        "band_slope": None if fit is None else fit.slope,
        "band_low": min(ratios, default=None),
        "band_high": max(ratios, default=None),
        "cells_reached": len(reached) / len(cells),
        "n_cells": len(cells),
        "median_delay_in_band": band.median(inside),
        "median_delay_outside": band.median(outside),
        "n_in_band": len(inside),
        "n_outside": len(outside),
        "val_spread": band.log_spread([c.val_step for c in reached]),
        "train_spread": band.log_spread([c.train_step for c in reached]),
        "in_band_fit_share": _fit_share(c for c in cells if c.within(*s.band)),
        "fit_share": _fit_share(cells),
        "reached": reached,
        "n_sizes_reached": len({c.n_train for c in reached}),
        "finite": all(h.is_finite() for runs in histories.values() for h in runs),
        "loss_fell": all(h.train_loss[-1] < h.train_loss[0] for runs in histories.values() for h in runs),
    }


def _fit_share(cells) -> float | None:
    """The share of the runs in ``cells`` whose training accuracy reached the threshold (None: no runs)."""
    fits = [t is not None for c in cells for t in c.train_steps]
    return sum(fits) / len(fits) if fits else None


def spread_ratio(r: dict) -> float | None:
    """How many times more widely the validation-95% steps spread than the training-95% steps (None: unknown)."""
    if r["val_spread"] is None or r["train_spread"] is None:
        return None
    return math.inf if r["train_spread"] == 0 else r["val_spread"] / r["train_spread"]


def evidence(r: dict, s: BandSettings) -> dict[str, list[Evidence]]:
    """Each finding's measurement in ``r`` (from ``measure``): the grid is one run set, so one Evidence each."""
    slope, (low, high) = r["band_slope"], s.slope_range
    inside, outside, ratio = r["median_delay_in_band"], r["median_delay_outside"], spread_ratio(r)
    grid_fit, band_fit = r["fit_share"], r["in_band_fit_share"]
    compared = min(r["n_in_band"], r["n_outside"]) >= s.min_cells_compared and None not in (inside, outside)
    few = f"only {len(r['reached'])} cells reached {s.threshold:.0%} on both accuracies"
    return {
        "most_cells_reach": [Evidence(r["cells_reached"] - s.min_reached_share,
                                      f"{r['cells_reached']:.0%} of {r['n_cells']} cells; {grid_fit:.0%} of the runs fitted",
                                      grid_fit >= MIN_FIT_SHARE, f"only {grid_fit:.0%} of the grid's runs fitted their "
                                      "training set within the budget")],
        "diagonal_band": [Evidence(None if slope is None else min(slope - low, high - slope), f"slope {fmt(slope, '.2f')}",
                                   r["n_sizes_reached"] >= s.min_cells_compared and band_fit is not None
                                   and band_fit >= MIN_FIT_SHARE,
                                   f"{r['n_sizes_reached']} training-set sizes had a cell that reached; "
                                   f"{fmt(band_fit, '.0%')} of the runs in the band's cells fitted their training set")],
        "band_shortest": [Evidence(math.log(max(outside, 1) / max(inside, 1)) if compared else None,
                                   f"{_fmt(inside)} steps ({r['n_in_band']} cells) against {_fmt(outside)} "
                                   f"({r['n_outside']} cells); {fmt(band_fit, '.0%')} of the band's runs fitted",
                                   band_fit is not None and band_fit >= MIN_FIT_SHARE,
                                   f"{fmt(band_fit, '.0%')} of the runs in the band's cells fitted their training set "
                                   f"within the budget ({r['n_in_band']} band cells reached)")],
        "validation_waits": [Evidence(None if ratio is None else math.log(max(ratio, 1e-9) / s.min_spread_ratio),
                                      f"{fmt(ratio, '.1f')}x", len(r["reached"]) >= s.min_cells_compared, few)],
    }


def judged(r: dict, s: BandSettings) -> list:
    """Every finding's verdict on ``r`` (``book.judge``)."""
    return judge_all(FINDINGS, evidence(r, s))


def check(results: dict, s: BandSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``): the mechanics, and each finding's verdict as
    ``s.findings`` declares it for the profile; print each with its measured value."""
    r, checks = results, Checks(s.claims)
    checks.expect("every logged metric of every run is finite", r["finite"], r["finite"])
    checks.expect("every run's training loss ended below where it started", r["loss_fell"], r["loss_fell"])
    if s.claims:
        checks.findings(judged(r, s), s.findings)
    return checks.report()


def glued(r: dict, s: BandSettings) -> dict[str, str]:
    """The chapter's numbers as the prose quotes them (``book.glue`` each), verdicts included."""
    reached = [c.ratio for c in r["cells"] if c.delay_steps is not None]
    in_band = [c.ratio for c in r["cells"] if c.within(*s.band)]
    steps = next(iter(s.grid.values()))[0].train.steps
    out = {"median_delay_in_band": _fmt(r["median_delay_in_band"]), "median_delay_outside": _fmt(r["median_delay_outside"]),
           "band_slope": fmt(r["band_slope"], ".2f"), "band_low": fmt(r["band_low"], ",.0f"),
           "band_high": fmt(r["band_high"], ",.0f"), "cells_reached": f"{r['cells_reached']:.0%}",
           "n_cells": str(r["n_cells"]), "n_in_band": str(r["n_in_band"]), "n_outside": str(r["n_outside"]),
           "val_spread": fmt(r["val_spread"], ".2f"), "train_spread": fmt(r["train_spread"], ".2f"),
           "spread_ratio": fmt(spread_ratio(r), ".1f"), "budget_steps": f"{steps:,}",
           "max_reached_ratio": fmt(max(reached, default=None), ",.0f"),
           "n_band_cells": str(len(in_band)),
           "band_epochs_max": fmt(steps / min(in_band) if in_band else None, ",.0f"),
           "in_band_fit_share": fmt(r["in_band_fit_share"], ".0%"),
           "min_cells_compared": str(s.min_cells_compared), "fit_share": fmt(r["fit_share"], ".0%"),
           "min_fit_share": f"{MIN_FIT_SHARE:.0%}"}
    return {**out, **verdict_glue(judged(r, s))}


def _fmt(value: float | None) -> str:
    return fmt(value, ",.0f")


def summary(r: dict) -> str:
    """The grid cell by cell, for the chapter's output: N, B, N/B, each run's two steps and the cell's delay."""
    lines = [f"{'N':>6} {'B':>5} {'N/B':>7}  train 95% / validation 95% per run   delay (steps)"]
    for c in r["cells"]:
        runs = ", ".join(f"{fmt_step(t)}/{fmt_step(v)}" for t, v in zip(c.train_steps, c.val_steps))
        lines.append(f"{c.n_train:>6,} {c.batch_size:>5} {c.ratio:>7,.1f}  {runs:<36} {_fmt(c.delay_steps)}")
    return "\n".join(lines)
