"""The chapter ``book/landscapes_and_norms.ipynb`` (the poster's "why", with Li et al. 2018's method): its
settings, numbers and Checks.

A controlled pair of runs on the comprehension-band chapter's task and model: the same prime, initialisation,
weight decay and seed, differing only in batch size B. At ``book`` (p = 97) B = 81 (N/B = 34, outside the band) is
the *grokking* run, whose validation accuracy reaches 95% long after its training accuracy, and B = 27 (N/B = 103,
the band's low edge) the *comprehension* run, whose two cross close together (that chapter's pilots). Neither stops
at 95%: both train to a common end well past it, so their optima are settled, and log their weight-matrix norms
densely (``history.matrix_norms``). Around each optimum, the training and validation loss on a grid over two
filter-normalised random directions (``analysis.landscape``), on several pairs of directions and at two radii; the
loss range and a sharpness number of each. Then the attention norm over each run's training against its 95% steps.

The poster finds the grokking optimum's landscape more uneven, with a loss range up to 8x larger, and the
attention weights' norm rising while training accuracy is high and validation accuracy low, then falling as
validation accuracy rises. ``FINDINGS`` names what the Checks assert; a profile's ``findings`` the verdict its runs
give.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from grokutils import dryrun
from grokutils.analysis import landscape
from grokutils.book import (DOES_NOT_HOLD, HOLDS, UNDECIDED, Checks, Evidence, Finding, asserts_findings,
                            check_odd_knob, check_seed, fmt, fmt_step, judge_all, resolve_profile, turn, verdict_glue)
from grokutils.chapters import comprehension_band as band_chapter
from grokutils.config import RunConfig, resolve_device
from grokutils.history import History
from grokutils.recipes import power_run

THRESHOLD = band_chapter.THRESHOLD
OPTIMA = ("grokking", "comprehension")
MIN_RISE = 0.05
"""The attention norm's least rise, relative to the larger of its values at the fit and at the end."""
MIN_WINDOW_LOGS = 5
"""The attention-norm finding's power: at least this many logged steps between the grokking run's two 95% steps, and
after the second, so that a rise and a fall each span several points."""
FINDINGS = (
    Finding("grokking_range_larger", "the grokking optimum's loss landscape spans a larger range (up to 8x)",
            "li_sakib_grokking_poster", "the validation-loss range over the grid around the grokking optimum against "
            "the comprehension optimum's, as log(ratio), above 0, on each pair of random directions at each radius",
            "both runs are optima (95% on both accuracies) and the grokking run's delay is the longer",
            margin=math.log(1.25)),
    Finding("grokking_sharper", "the grokking optimum is the sharper", "li_sakib_grokking_poster",
            "the mean rise of the training loss at half the grid's radius around the grokking optimum against the "
            "comprehension optimum's, as log(ratio), above 0, on each pair of random directions at each radius",
            "both runs are optima and the grokking run's delay is the longer", margin=math.log(1.25)),
    Finding("attn_rises_then_falls", "the attention weights' norm rises while training accuracy is high and "
            "validation accuracy low, then falls as validation accuracy rises", "li_sakib_grokking_poster",
            "the grokking run's attention norm: its peak between the two 95% steps over the larger of its values at "
            "the first and at the run's end, as a relative rise, above 5%",
            f"the grokking run reached 95% on both accuracies with at least {MIN_WINDOW_LOGS} logged steps between "
            "the two and after the second", margin=0.025),
)
"""The poster's findings. The margins (a quarter for a ratio, 2.5 points for the norm's rise) and ``MIN_RISE`` were set
in issue 27, after the ``book`` runs of issue 17 were known (range ratio 1.04 on one pair of directions; sharpness ratio
0.52; the norm 19.4 at the fit, 26.7 at its peak, 23.3 at the end). Issue 31 replaced the two runs (picked from the
band's grid, stopped at 95%) by the controlled pair, and measured on five pairs of directions at two radii."""
POSTER = dict.fromkeys((f.name for f in FINDINGS), HOLDS)
BOOK_FINDINGS = dict(grokking_range_larger=UNDECIDED, grokking_sharper=DOES_NOT_HOLD, attn_rises_then_falls=HOLDS)
"""What the ``book`` pair shows on seeds 0 and 1 (issue 31's closing note): the validation-loss range ratio is inside
the margin on every pair at radius 1 (1.01-1.16) and below it at radius 0.25 (0.01-0.40), so the radii disagree; the
sharpness ratio is 0.01-0.50 on every pair at both radii and seeds; the grokking run's attention norm rises from 20.3
and 20.0 at the fit to 26.9 and 30.3 before it generalises and ends at 12.4 and 22.9."""


@dataclass(frozen=True)
class LandscapeProfile:
    """What a profile sets: the controlled pair, how finely the landscape is sampled, the verdicts it declares.

    Attributes:
        p: the prime of a / b mod p (the comprehension-band chapter's task: N = 0.3 p (p - 1)).
        batch_sizes: ``{"grokking": B, "comprehension": B}``, the one setting the two runs differ in.
        init_scale: both runs' initialisation scale.
        weight_decay: both runs' weight decay.
        steps: both runs' length (no early stop).
        n_logs: logged steps, evenly spaced (the norms' resolution).
        max_val: held-out equations kept for validation (None: all).
        max_eval_train: training examples the logged metrics read (None: all).
        fused_adam: whether the runs use torch's fused Adam kernel.
        widths: model widths replacing the Power chapter's (empty: the same).
        radii: the grids' radii; each landscape number is measured at each (the sharpness at half the radius).
        grid: grid points along each direction, at every radius.
        max_examples: examples of each set a landscape loss is evaluated on (None: all).
        n_directions: pairs of random directions.
        mode: how the sweep engine trains the pair (``dispatch.MODES``; None: ``dispatch.default_mode``).
        findings: each finding's name -> the verdict this profile's runs give, which the Checks assert.
    """

    p: int
    batch_sizes: dict
    init_scale: float
    weight_decay: float
    steps: int
    n_logs: int
    max_val: int | None
    max_eval_train: int | None
    fused_adam: bool
    widths: dict
    radii: tuple[float, ...]
    grid: int
    max_examples: int | None
    n_directions: int
    mode: str | None
    findings: dict


PROFILES = {
    "smoke": LandscapeProfile(p=11, batch_sizes=dict(grokking=8, comprehension=2), init_scale=1.0, weight_decay=1.0,
                              steps=60, n_logs=13, max_val=40, max_eval_train=30, fused_adam=True,
                              widths=dict(d_model=16, n_heads=2, d_head=8, d_mlp=32), radii=(1.0, 0.25), grid=5,
                              max_examples=64, n_directions=2, mode=None, findings=POSTER),
    # book (issue 31): the band chapter's pilots at p = 97, weight decay 1, initialisation 1 and 3 x 10^4 steps:
    # B = 81 fitted at step 601 and generalised at 5,072; B = 27 did both at step 6,059. 10^4 steps takes both past
    # 95% on both accuracies; a log every 100 steps puts some 40 points between B = 81's two 95% steps
    "book": LandscapeProfile(p=97, batch_sizes=dict(grokking=81, comprehension=27), init_scale=1.0, weight_decay=1.0,
                             steps=10_000, n_logs=101, max_val=1000, max_eval_train=1000, fused_adam=True, widths={},
                             radii=(1.0, 0.25), grid=15, max_examples=1000, n_directions=5, mode="workers",
                             findings=BOOK_FINDINGS),
    "paper": LandscapeProfile(p=97, batch_sizes=dict(grokking=81, comprehension=27), init_scale=1.0, weight_decay=1.0,
                              steps=30_000, n_logs=301, max_val=None, max_eval_train=None, fused_adam=False, widths={},
                              radii=(1.0, 0.25), grid=51, max_examples=None, n_directions=5, mode=None, findings=POSTER),
}


@dataclass(frozen=True)
class LandscapeSettings:
    """The controlled pair, how the landscapes around its optima are sampled, and the thresholds of the Checks.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: both runs' seed, and the seed of the first pair of random directions.
        optima: ``{"grokking": run, "comprehension": run}``: the same run but for its batch size.
        grid_size: grid points along each direction (odd: the trained weights are the centre).
        radii: each grid spans [-radius, radius] along each direction (in units of the filter-normalised direction);
            the first is the figures'.
        max_examples: each loss is the mean over the first this many examples of the (shuffled) training and
            validation sets (None: all of them).
        findings: each finding's name -> the verdict this profile's runs give (``book.VERDICTS``), which the Checks
            assert (None: ``grid_points`` was turned away from the profile's; the verdicts are printed, not asserted).
        claims: whether this profile asserts the findings (False at ``smoke``).
        n_directions: pairs of random directions (seeds ``seed``, ``seed + 1``, ...) on which the landscape numbers are
            measured at each radius; the figures show the first.
        mode: how the sweep engine trains the pair.
        threshold: the accuracy at which training and validation count as reached (95%, as the poster).
    """

    profile: str
    device: str | None
    seed: int
    optima: dict
    grid_size: int
    radii: tuple[float, ...]
    max_examples: int | None
    findings: dict | None
    claims: bool
    n_directions: int = 1
    mode: str | None = None
    threshold: float = THRESHOLD

    data_files = ()

    def runs(self) -> dict:
        """The two runs by name (``book.run_all``)."""
        return self.optima

    def coords(self, radius: float | None = None) -> torch.Tensor:
        """The grid's coordinates along each direction at ``radius`` (None: the first of ``radii``)."""
        return landscape.grid_coords(self.grid_size, self.radii[0] if radius is None else radius)

    def examples_used(self) -> tuple[int, int]:
        """How many training and validation examples each landscape loss is the mean over."""
        task = next(iter(self.optima.values())).task
        held_out = task.n_equations - task.n_train
        val = held_out if task.max_val is None else min(task.max_val, held_out)
        cap = self.max_examples or max(task.n_train, val)
        return min(cap, task.n_train), min(cap, val)

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        train, val = self.examples_used()
        g, t = self.optima["grokking"], self.optima["grokking"].train
        return [f"{name} run: {_describe_run(cfg)}" for name, cfg in self.optima.items()] + [
            f"both: initialisation scale {g.model.init_scale:g}, weight decay {t.weight_decay:g}, seed {t.seed}, "
            f"{t.steps:,} steps (no early stop), metrics and weight norms at {t.n_logs} evenly spaced steps",
            f"landscape: {self.grid_size} x {self.grid_size} grids over [-r, r]^2 for r in {list(self.radii)} along "
            f"{self.n_directions} pairs of filter-normalised random directions (seeds {self.seed} to "
            f"{self.seed + self.n_directions - 1}); losses on {train:,} training and {val:,} validation examples"]


def _describe_run(cfg: RunConfig) -> str:
    t = cfg.train
    return f"p = {cfg.task.p} (N = {cfg.task.n_train:,}), B = {t.batch_size}, N/B = {cfg.task.n_train / t.batch_size:,.0f}"


def settings(profile: str | None = None, grid_points: int | None = None, seed: int = 0,
             device: str | None = None) -> LandscapeSettings:
    """The chapter's settings at ``profile`` (the notebook's parameters); ``grid_points`` replaces the landscape's
    points along each direction (None: the profile's), and then the profile's declared verdicts do not apply."""
    profile = resolve_profile(profile)
    check_odd_knob("grid_points", grid_points, 3, 201, "the trained weights are the grid's centre")
    preset, turned = turn(PROFILES[profile], grid=grid_points)
    check_seed(seed, preset.n_directions)
    resolve_device(device)
    optima = {name: pair_run(preset, b, seed) for name, b in preset.batch_sizes.items()}
    # a dry run (tests) evaluates a small grid on few examples: the real sizes take minutes at book, hours at paper
    return LandscapeSettings(profile, device, seed, optima, dryrun.at_most(preset.grid, 5),
                             preset.radii, dryrun.at_most(preset.max_examples, 64), None if turned else preset.findings,
                             claims=asserts_findings(profile), n_directions=preset.n_directions, mode=preset.mode)


def pair_run(preset: LandscapeProfile, batch_size: int, seed: int) -> RunConfig:
    """One run of the pair: the comprehension-band chapter's task and model at ``batch_size``, to the profile's end."""
    cfg = power_run(op="div", p=preset.p, frac_train=band_chapter.FRAC_TRAIN, steps=preset.steps, seed=seed,
                    weight_decay=preset.weight_decay, n_logs=preset.n_logs, architecture="pre_ln",
                    log_spacing="linear", **preset.widths)
    return cfg.replace(batch_size=batch_size, init_scale=preset.init_scale, probes=band_chapter.PROBES,
                       max_val=preset.max_val, max_eval_train=preset.max_eval_train, fused_adam=preset.fused_adam)


def trained_weights(history: History) -> dict[str, torch.Tensor]:
    """The run's final parameters (its buffers left out), by name."""
    names = {name for name, _ in history.config.model.build().named_parameters()}
    return {name: t.float() for name, t in history.final_state.items() if name in names}


def landscapes(histories: dict[str, History], s: LandscapeSettings) -> dict:
    """Around each optimum: ``pairs`` (name -> radius -> the surfaces {"train", "val"} on each of ``s.n_directions``
    pairs of directions), ``surfaces`` (name -> the first pair's at the first radius) and ``lines`` (name -> the losses
    along that pair's direction 1 at the first radius).

    Pair k's directions are drawn from a generator seeded with ``s.seed + k`` (the same draws for both optima where
    their shapes agree, and at every radius) and rescaled to each optimum's own filters' norms.
    """
    out = {"surfaces": {}, "lines": {}, "pairs": {}}
    for name, h in histories.items():
        weights = trained_weights(h)
        loss_fn = landscape.stacked_losses(h.config.model, h.config.task.build(), h.config.train.loss, s.max_examples)
        out["pairs"][name] = {radius: [] for radius in s.radii}
        for k in range(s.n_directions):
            gen = torch.Generator().manual_seed(s.seed + k)
            d1, d2 = landscape.random_direction(weights, gen), landscape.random_direction(weights, gen)
            for radius in s.radii:
                out["pairs"][name][radius].append(landscape.surface(loss_fn, weights, d1, d2, s.coords(radius)))
            if k == 0:
                out["lines"][name] = landscape.line(loss_fn, weights, d1, s.coords())
        out["surfaces"][name] = out["pairs"][name][s.radii[0]][0]
    return out


def attention_norm(history: History) -> torch.Tensor:
    """The Frobenius norm of all attention matrices (W_Q, W_K, W_V, W_O of every layer) together, per logged step."""
    columns = [c for name, c in history.metrics.items() if name.startswith("matrix_norm/") and ".attn.W_" in name]
    if not columns:
        raise ValueError("the run logged no attention-matrix norms: train it with probes=('matrix_norms',)")
    return torch.stack(columns).pow(2).sum(0).sqrt()


def matrix_groups(history: History) -> dict[str, list[str]]:
    """The logged weight matrices in three groups for the figure: attention, MLP, embedding and unembedding."""
    names = [n.removeprefix("matrix_norm/") for n in history.metrics if n.startswith("matrix_norm/")]
    return {"attention matrices": [n for n in names if ".attn." in n],
            "MLP matrices": [n for n in names if ".mlp." in n],
            "embedding and unembedding": [n for n in names if ".attn." not in n and ".mlp." not in n]}


def measure(histories: dict[str, History], land: dict, s: LandscapeSettings) -> dict:
    """The chapter's numbers from the two runs and their ``landscapes``."""
    r: dict = {"finite": all(h.is_finite() for h in histories.values())}
    coords, centre = s.coords(), s.grid_size // 2
    for name, h in histories.items():
        surface, line = land["surfaces"][name], land["lines"][name]
        fit, general = h.steps_to("train_acc", s.threshold), h.steps_to("val_acc", s.threshold)
        r[name] = {"run": _describe_run(h.config), "train_step": fit, "val_step": general,
                   "delay": h.grokking_delay(s.threshold),
                   "range_train": landscape.loss_range(surface["train"]), "range_val": landscape.loss_range(surface["val"]),
                   "sharpness_train": landscape.sharpness(surface["train"], coords, s.radii[0] / 2),
                   "centre_train": float(line["train"][centre]), "slice_min_train": float(line["train"].min()),
                   "slice_min_at": float(coords[int(line["train"].argmin())]),
                   "finite_surface": all(bool(torch.isfinite(v).all()) for pairs in land["pairs"][name].values()
                                         for pair in pairs for v in pair.values()),
                   "attn": attention_course(h, fit, general)}
    r["pairs"] = {radius: [_pair_ratios(a, b, s.coords(radius), radius / 2) for a, b in
                           zip(land["pairs"]["grokking"][radius], land["pairs"]["comprehension"][radius])]
                  for radius in s.radii}
    first = r["pairs"][s.radii[0]][0]
    r["range_ratio"], r["sharpness_ratio"] = first["range_ratio"], first["sharpness_ratio"]
    r["range_ratio_train"] = _ratio(r["grokking"]["range_train"], r["comprehension"]["range_train"])
    r["attn"] = r["grokking"]["attn"]
    return r


def attention_course(history: History, fit: int | None, general: int | None) -> dict:
    """The attention norm's course: at the start, its lowest, at the training-95% step ``fit``, its peak between
    ``fit`` and the validation-95% step ``general`` (None where either is None), and at the end; ``window`` and
    ``after``: the logged steps from ``fit`` to ``general`` and after ``general``."""
    norm, steps = attention_norm(history), history.steps
    out = {"start": float(norm[0]), "min": float(norm.min()), "min_step": int(steps[int(norm.argmin())]),
           "end": float(norm[-1]), "end_step": int(steps[-1]), "at_fit": None, "peak": None, "peak_step": None,
           "window": 0, "after": 0}
    if fit is None or general is None:
        return out
    window = ((steps >= fit) & (steps <= general)).nonzero().flatten()
    peak = int(window[int(norm[window].argmax())])
    return {**out, "at_fit": float(norm[int(window[0])]), "peak": float(norm[peak]), "peak_step": int(steps[peak]),
            "window": len(window), "after": int((steps > general).sum())}


def _pair_ratios(grokking: dict, comprehension: dict, coords: torch.Tensor, sharp_at: float) -> dict[str, float]:
    """On one pair of directions: the two optima's validation-loss ranges and training-loss sharpnesses, as ratios."""
    sharp = [landscape.sharpness(x["train"], coords, sharp_at) for x in (grokking, comprehension)]
    return {"range_ratio": _ratio(landscape.loss_range(grokking["val"]), landscape.loss_range(comprehension["val"])),
            "sharpness_ratio": _ratio(*sharp)}


def _ratio(a: float, b: float) -> float:
    return math.inf if b == 0 else a / b


def optima_powered(r: dict) -> tuple[bool, str]:
    """The landscape findings' power condition: both runs reached 95% on both accuracies, the grokking run's delay the
    longer; with the reason where it fails."""
    g, c = r["grokking"], r["comprehension"]
    if None in (g["delay"], c["delay"]):
        return False, (f"a run is not an optimum: delays {fmt_step(g['delay'])} (grokking) and {fmt_step(c['delay'])} "
                       "(comprehension) steps")
    if g["delay"] <= c["delay"]:
        return False, f"the grokking run's delay ({g['delay']:,} steps) is not the longer ({c['delay']:,})"
    return True, ""


def evidence(r: dict, s: LandscapeSettings) -> dict[str, list[Evidence]]:
    """Each finding's measurements in ``r`` (from ``measure``): the landscape ones on each pair of directions at each
    radius."""
    powered, why = optima_powered(r)
    attn, g = r["attn"], r["grokking"]

    def per_pair(key):
        return [Evidence(math.log(p[key]) if 0 < p[key] < math.inf else None, f"ratio {p[key]:.2f}", powered, why,
                         f"r = {radius:g}, directions {s.seed + k}")
                for radius, pairs in r["pairs"].items() for k, p in enumerate(pairs)]
    rise = None if attn["peak"] is None else attn["peak"] / max(attn["at_fit"], attn["end"]) - 1 - MIN_RISE
    dense = attn["window"] >= MIN_WINDOW_LOGS and attn["after"] >= MIN_WINDOW_LOGS
    why_attn = ("the grokking run did not reach 95% on both accuracies" if attn["peak"] is None else
                f"{attn['window']} logged steps between its two 95% steps and {attn['after']} after (fewer than "
                f"{MIN_WINDOW_LOGS})")
    return {"grokking_range_larger": per_pair("range_ratio"), "grokking_sharper": per_pair("sharpness_ratio"),
            "attn_rises_then_falls": [Evidence(
                rise, f"{_num(attn['at_fit'])} at step {fmt_step(g['train_step'])}, peak {_num(attn['peak'])} at step "
                f"{fmt_step(attn['peak_step'])}, {attn['end']:.1f} at the end (step {attn['end_step']:,})",
                dense, why_attn)]}


def judged(r: dict, s: LandscapeSettings) -> list:
    """Every finding's verdict on ``r`` (``book.judge``)."""
    return judge_all(FINDINGS, evidence(r, s))


def check(results: dict, s: LandscapeSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``): the mechanics, and each finding's verdict as
    ``s.findings`` declares it; print each with its measured value."""
    r, checks = results, Checks(s.claims)
    checks.expect("every logged metric of both runs is finite", r["finite"], r["finite"])
    for name in OPTIMA:
        checks.expect(f"{name}: every loss on the grids is finite", r[name]["finite_surface"], r[name]["finite_surface"])
    powered, why = optima_powered(r)
    checks.claim("the two runs are optima: both reached 95% on both accuracies, the grokking run's delay the longer",
                 why or f"delays {r['grokking']['delay']:,} and {r['comprehension']['delay']:,} steps", powered)
    if s.claims:
        checks.findings(judged(r, s), s.findings)
    return checks.report()


def glued(r: dict, s: LandscapeSettings) -> dict[str, str]:
    """The chapter's numbers as the prose quotes them (``book.glue`` each), verdicts included."""
    g, c, attn = r["grokking"], r["comprehension"], r["attn"]
    train, val = s.examples_used()
    out = {"loss_range_ratio": f"{r['range_ratio']:.2f}", "loss_range_ratio_train": f"{r['range_ratio_train']:.2f}",
           "sharpness_grokking": f"{g['sharpness_train']:.3g}", "sharpness_comprehension": f"{c['sharpness_train']:.3g}",
           "sharpness_ratio": f"{r['sharpness_ratio']:.2f}", "grid_size": str(s.grid_size),
           "n_directions": str(s.n_directions), "radius": f"{s.radii[0]:g}", "sharpness_radius": f"{s.radii[0] / 2:g}",
           "small_radius": f"{min(s.radii):g}", "train_examples": f"{train:,}", "val_examples": f"{val:,}",
           "steps": f"{s.optima['grokking'].train.steps:,}",
           "log_every": f"{s.optima['grokking'].train.steps // (s.optima['grokking'].train.n_logs - 1):,}"}
    for name in OPTIMA:
        for key in ("range_train", "range_val", "centre_train", "slice_min_train"):
            out[f"{key}_{name}"] = f"{r[name][key]:.3g}"
        out[f"slice_min_at_{name}"] = f"{r[name]['slice_min_at']:.2f}"
        for key in ("train_step", "val_step", "delay"):
            out[f"{key}_{name}"] = fmt_step(r[name][key])
        out[f"run_{name}"] = r[name]["run"]
        a = r[name]["attn"]
        for key in ("start", "min", "at_fit", "peak", "end"):
            out[f"attn_{key}_{name}"] = _num(a[key])
        out[f"attn_peak_step_{name}"] = fmt_step(a["peak_step"])
        out[f"attn_min_step_{name}"] = fmt_step(a["min_step"])
    out["attn_window"], out["attn_after"] = str(attn["window"]), str(attn["after"])
    for radius, pairs in r["pairs"].items():
        key = "small" if radius == min(s.radii) and len(s.radii) > 1 else "large"
        out[f"range_ratios_{key}"] = ", ".join(f"{p['range_ratio']:.2f}" for p in pairs)
        out[f"sharpness_ratios_{key}"] = ", ".join(f"{p['sharpness_ratio']:.2f}" for p in pairs)
    return {**out, **verdict_glue(judged(r, s))}


def _num(value: float | None) -> str:
    return fmt(value, ".1f")
