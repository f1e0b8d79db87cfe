"""The chapter ``book/landscapes_and_norms.ipynb`` (the poster's "why", with Li et al. 2018's method): its
settings, numbers and Checks.

Two optima from the comprehension-band chapter's grid (loaded from the run cache; trained only when missing):
a *grokking* optimum, a run with a long delay between training and validation accuracy reaching 95%, and a
*comprehension* optimum, a run with a short one. Around each, the training and validation loss on a grid over
two filter-normalised random directions (``analysis.landscape``) and along one of them; the loss range and a
sharpness number of each. Then the Frobenius norm of each weight matrix over the grokking run's training, as
its probes logged it (``history.matrix_norms``), against its two 95% steps.

The poster finds the grokking optimum's landscape more uneven, with a loss range up to 8x larger, and the
attention weights' norm rising while training accuracy is high and validation accuracy low, then falling as
validation accuracy rises. ``FINDINGS`` names what the Checks assert; a profile's ``findings`` says in which
direction (the poster's, or where our runs show otherwise and the chapter says so, its negation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from grokutils import dryrun
from grokutils.analysis import landscape
from grokutils.book import (HOLDS, UNDECIDED, Checks, Evidence, Finding, asserts_findings, check_odd_knob,
                            check_seed, fmt, fmt_step, judge_all, resolve_profile, turn, verdict_glue)
from grokutils.chapters import comprehension_band as band_chapter
from grokutils.config import RunConfig, resolve_device
from grokutils.history import History

THRESHOLD = band_chapter.THRESHOLD
OPTIMA = ("grokking", "comprehension")
MIN_RISE = 0.05
"""The attention norm's least rise, relative to the larger of its values at the fit and at the end."""
FINDINGS = (
    Finding("grokking_range_larger", "the grokking optimum's loss landscape spans a larger range (up to 8x)",
            "li_sakib_grokking_poster", "the validation-loss range over the grid around the grokking optimum against "
            "the comprehension optimum's, as log(ratio), above 0, on each pair of random directions",
            "both runs are optima (95% on both accuracies) and the grokking run's delay is the longer",
            margin=math.log(1.25)),
    Finding("grokking_sharper", "the grokking optimum is the sharper", "li_sakib_grokking_poster",
            "the mean rise of the training loss at radius 0.5 around the grokking optimum against the comprehension "
            "optimum's, as log(ratio), above 0, on each pair of random directions",
            "both runs are optima and the grokking run's delay is the longer", margin=math.log(1.25)),
    Finding("attn_rises_then_falls", "the attention weights' norm rises while training accuracy is high and "
            "validation accuracy low, then falls as validation accuracy rises", "li_sakib_grokking_poster",
            "the grokking run's attention norm: its peak between the two 95% steps over the larger of its values at "
            "the first and at the end, as a relative rise, above 5%",
            "the grokking run reached 95% on both accuracies, at least two logged steps apart", margin=0.025),
)
"""The poster's findings. The margins (a quarter for a ratio, 2.5 points for the norm's rise) and ``MIN_RISE`` were set
in issue 27, after the ``book`` runs of issue 17 were known (range ratio 1.04 on one pair of directions; sharpness ratio
0.52; the norm 19.4 at the fit, 26.7 at its peak, 23.3 at the end)."""
POSTER = dict.fromkeys((f.name for f in FINDINGS), HOLDS)
BOOK_FINDINGS = dict.fromkeys((f.name for f in FINDINGS), UNDECIDED)
"""What the ``book`` runs show on seeds 0 and 1 (issue 27's closing note): the ranges are within the margin on every
pair of directions at both seeds (ratios 1.04-1.25 and 1.03-1.09); the grokking optimum is the less sharp at seed 0
(0.28-0.51) and the sharper on two of three pairs at seed 1 (0.94-4.23); the attention norm rises and falls at seed 0
and ends at its peak at seed 1. Every verdict turns on the seed, so none is declared at ``book``; the Checks assert
that the two runs are optima."""

@dataclass(frozen=True)
class LandscapeProfile:
    """What a profile sets: which runs are the optima, how finely the landscape is sampled, the verdicts it declares.

    Attributes:
        optima: name -> ``"in band"`` / ``"outside"``, the comprehension-band chapter's examples at the same profile;
            or ``"widest gap"``: of that grid's cells, the one whose two runs both reached 95% with delays the
            furthest apart (the longer is the grokking optimum).
        grid: grid points along each direction.
        max_examples: examples of each set a loss is evaluated on (None: all).
        n_directions: pairs of random directions.
        findings: each finding's name -> the verdict this profile's runs give, which the Checks assert.
    """

    optima: dict | str
    grid: int
    max_examples: int | None
    n_directions: int
    findings: dict


PROFILES = {
    "smoke": LandscapeProfile(optima=dict(grokking="outside", comprehension="in band"), grid=5, max_examples=64, n_directions=1,
                              findings=POSTER),
    # book: the optima are picked from the runs (issue 27): the cell fixed before, N = 2,793, B = 81, where seed 0's two
    # runs grokked with delays of 3,324 and 0 steps, had no grokking run at seed 1, and at seed 1 no cell at that N had
    # two runs that both reached 95%
    "book": LandscapeProfile(optima="widest gap", grid=15, max_examples=2000, n_directions=3, findings=BOOK_FINDINGS),
    "paper": LandscapeProfile(optima=dict(grokking="outside", comprehension="in band"), grid=51, max_examples=None, n_directions=3,
                              findings=POSTER),
}


@dataclass(frozen=True)
class LandscapeSettings:
    """The two optima, how the landscapes around them are sampled, and the thresholds of the Checks.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: the comprehension-band grid's seed, and the seed of the two random directions.
        optima: ``{"grokking": run, "comprehension": run}``, runs of the comprehension-band grid at this profile; empty
            where they are picked from ``candidates``.
        candidates: ``{(p, B): (run, ...)}``, cells of that grid: ``pick_optima`` takes the two runs of the cell whose
            delays lie the furthest apart (empty where ``optima`` names them).
        grid_size: grid points along each direction (odd: the trained weights are the centre).
        radius: the grid spans [-radius, radius] along each direction (in units of the filter-normalised direction).
        sharpness_radius: the sharpness is the mean loss increase over the centre at this distance.
        max_examples: each loss is the mean over the first this many examples of the (shuffled) training and
            validation sets (None: all of them).
        findings: each finding's name -> the verdict this profile's runs give (``book.VERDICTS``), which the Checks
            assert (None: ``grid_points`` was turned away from the profile's; the verdicts are printed, not asserted).
        n_directions: pairs of random directions (seeds ``seed``, ``seed + 1``, ...) on which the landscape numbers are
            measured; the figures show the first.
        claims: whether this profile asserts the findings (False at ``smoke``).
        mode: how the sweep engine trains missing runs of the band's grid (that chapter's mode).
        threshold: the accuracy at which training and validation count as reached (95%, as the poster).
    """

    profile: str
    device: str | None
    seed: int
    optima: dict
    candidates: dict
    grid_size: int
    max_examples: int | None
    findings: dict | None
    claims: bool
    n_directions: int = 1
    mode: str | None = None
    radius: float = 1.0
    sharpness_radius: float = 0.5
    threshold: float = THRESHOLD

    data_files = ()

    def runs(self) -> dict:
        """The runs to load (``book.run_all``): the two optima by name, or every candidate cell's runs
        (``optima_of`` then picks the two)."""
        return self.optima or self.candidates

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        lines = [f"{name} optimum: {_describe_run(cfg)}" for name, cfg in self.optima.items()]
        if self.candidates:
            lines.append(f"optima: of the comprehension-band grid's {len(self.candidates)} cells, the two runs of the cell "
                         f"whose delays (both reaching {self.threshold:.0%}) lie the furthest apart; the longer is the "
                         "grokking optimum")
        examples = "all examples" if self.max_examples is None else f"the first {self.max_examples:,} examples"
        return lines + [f"landscape: {self.grid_size} x {self.grid_size} grid over [-{self.radius:g}, {self.radius:g}]^2 "
                        f"along two filter-normalised random directions (seed {self.seed}); losses on {examples} "
                        "of each set"]

    @property
    def coords(self) -> torch.Tensor:
        """The grid's coordinates along each direction."""
        return landscape.grid_coords(self.grid_size, self.radius)


def _describe_run(cfg: RunConfig) -> str:
    t = cfg.train
    return (f"p = {cfg.task.p} (N = {cfg.task.n_train:,}), B = {t.batch_size}, N/B = {cfg.task.n_train / t.batch_size:,.0f}, "
            f"initialisation scale {cfg.model.init_scale:g}, weight decay {t.weight_decay:g}")


def settings(profile: str | None = None, grid_points: int | None = None, seed: int = 0,
             device: str | None = None) -> LandscapeSettings:
    """The chapter's settings at ``profile`` (the notebook's parameters); ``grid_points`` replaces the landscape's
    points along each direction (None: the profile's), and then the profile's declared verdicts do not apply."""
    profile = resolve_profile(profile)
    check_odd_knob("grid_points", grid_points, 3, 201, "the trained weights are the grid's centre")
    check_seed(seed, 16)
    resolve_device(device)
    (preset, turned), grid = turn(PROFILES[profile], grid=grid_points), band_chapter.settings(profile, seed=seed,
                                                                                              device=device)
    picked = preset.optima == "widest gap"
    optima = {} if picked else {name: grid.examples[where] for name, where in preset.optima.items()}
    candidates = dict(grid.grid) if picked else {}
    # a dry run (tests) evaluates a small grid on few examples: the real sizes take minutes at book, hours at paper
    return LandscapeSettings(profile, device, seed, optima, candidates, dryrun.at_most(preset.grid, 5),
                             dryrun.at_most(preset.max_examples, 64), None if turned else preset.findings,
                             claims=asserts_findings(profile),
                             n_directions=preset.n_directions, mode=grid.mode)


def optima_of(loaded: dict, s: LandscapeSettings) -> dict[str, History]:
    """The two optima from ``book.run_all``'s Histories of ``s.runs()``: those it names, or ``pick_optima``'s choice
    among the candidate cells."""
    return loaded if s.optima else pick_optima(loaded, s.threshold)


def pick_optima(cells: dict, threshold: float) -> dict[str, History]:
    """Of ``cells`` (``(p, B) -> [History, ...]``), the cell whose runs' delays to ``threshold`` lie the furthest apart
    among those whose runs all reached it on both accuracies: ``{"grokking": the longer, "comprehension": the
    shorter}``. Where no cell qualifies, the first cell's first two runs (the Checks then say the findings were not
    tested)."""
    def gap(runs):
        delays = [h.grokking_delay(threshold) for h in runs]
        return -1 if None in delays else max(delays) - min(delays)
    best = max(cells, key=lambda cell: gap(cells[cell]))
    runs = sorted(cells[best], key=lambda h: h.grokking_delay(threshold) or 0, reverse=True)
    return {"grokking": runs[0], "comprehension": runs[-1]}


def trained_weights(history: History) -> dict[str, torch.Tensor]:
    """The run's final parameters (its buffers left out), by name."""
    names = {name for name, _ in history.config.model.build().named_parameters()}
    return {name: t.float() for name, t in history.final_state.items() if name in names}


def landscapes(histories: dict[str, History], s: LandscapeSettings) -> dict:
    """Around each optimum: ``surfaces`` (name -> {"train", "val"} loss on the grid of the first pair of random
    directions), ``lines`` (name -> the losses along its direction 1) and ``pairs`` (name -> the surfaces on each of
    ``s.n_directions`` pairs, the first included).

    Pair k's directions are drawn from a generator seeded with ``s.seed + k`` (the same draws for both optima where
    their shapes agree) and rescaled to each optimum's own filters' norms.
    """
    out = {"surfaces": {}, "lines": {}, "pairs": {}}
    for name, h in histories.items():
        weights = trained_weights(h)
        loss_fn = landscape.stacked_losses(h.config.model, h.config.task.build(), h.config.train.loss, s.max_examples)
        out["pairs"][name] = []
        for k in range(s.n_directions):
            gen = torch.Generator().manual_seed(s.seed + k)
            d1, d2 = landscape.random_direction(weights, gen), landscape.random_direction(weights, gen)
            out["pairs"][name].append(landscape.surface(loss_fn, weights, d1, d2, s.coords))
            if k == 0:
                out["lines"][name] = landscape.line(loss_fn, weights, d1, s.coords)
        out["surfaces"][name] = out["pairs"][name][0]
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
    pairs = land.get("pairs") or {name: [land["surfaces"][name]] for name in OPTIMA}
    for name, h in histories.items():
        surface, line = land["surfaces"][name], land["lines"][name]
        centre = len(s.coords) // 2
        r[name] = {"run": _describe_run(h.config),
                   "train_step": h.steps_to("train_acc", s.threshold), "val_step": h.steps_to("val_acc", s.threshold),
                   "delay": h.grokking_delay(s.threshold),
                   "range_train": landscape.loss_range(surface["train"]), "range_val": landscape.loss_range(surface["val"]),
                   "sharpness_train": landscape.sharpness(surface["train"], s.coords, s.sharpness_radius),
                   "sharpness_val": landscape.sharpness(surface["val"], s.coords, s.sharpness_radius),
                   "centre_train": float(line["train"][centre]), "slice_min_train": float(line["train"].min()),
                   "slice_min_at": float(s.coords[int(line["train"].argmin())]),
                   "finite_surface": all(bool(torch.isfinite(v).all()) for pair in pairs[name] for v in pair.values())}
    g, c = r["grokking"], r["comprehension"]
    r["pairs"] = [_pair_ratios(a, b, s) for a, b in zip(pairs["grokking"], pairs["comprehension"])]
    r["range_ratio"], r["sharpness_ratio"] = r["pairs"][0]["range_ratio"], r["pairs"][0]["sharpness_ratio"]
    r["range_ratio_train"] = _ratio(g["range_train"], c["range_train"])
    r["attn"] = attention_course(histories["grokking"], g["train_step"], g["val_step"])
    return r


def attention_course(history: History, fit: int | None, general: int | None) -> dict:
    """The attention norm's course: at the start, its lowest, at the training-95% step ``fit``, its peak between
    ``fit`` and the validation-95% step ``general`` (None where either is None), and at the end."""
    norm, steps = attention_norm(history), history.steps
    out = {"start": float(norm[0]), "min": float(norm.min()), "min_step": int(steps[int(norm.argmin())]),
           "end": float(norm[-1]), "at_fit": None, "peak": None, "peak_step": None}
    if fit is None or general is None:
        return out
    window = ((steps >= fit) & (steps <= general)).nonzero().flatten()
    peak = int(window[int(norm[window].argmax())])
    return {**out, "at_fit": float(norm[int(window[0])]), "peak": float(norm[peak]), "peak_step": int(steps[peak])}


def _pair_ratios(grokking: dict, comprehension: dict, s: LandscapeSettings) -> dict[str, float]:
    """On one pair of directions: the two optima's validation-loss ranges and training-loss sharpnesses, as ratios."""
    sharp = [landscape.sharpness(x["train"], s.coords, s.sharpness_radius) for x in (grokking, comprehension)]
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
    """Each finding's measurements in ``r`` (from ``measure``): the landscape ones on each pair of directions."""
    powered, why = optima_powered(r)
    attn, g = r["attn"], r["grokking"]

    def per_pair(key):
        return [Evidence(math.log(p[key]) if 0 < p[key] < math.inf else None, f"ratio {p[key]:.2f}", powered, why,
                         f"directions {s.seed + k}") for k, p in enumerate(r["pairs"])]
    rise = None if attn["peak"] is None else attn["peak"] / max(attn["at_fit"], attn["end"]) - 1 - MIN_RISE
    apart = attn["peak"] is not None and g["val_step"] > g["train_step"]
    return {"grokking_range_larger": per_pair("range_ratio"), "grokking_sharper": per_pair("sharpness_ratio"),
            "attn_rises_then_falls": [Evidence(
                rise, f"{_num(attn['at_fit'])} at step {fmt_step(g['train_step'])}, peak {_num(attn['peak'])} at step "
                f"{fmt_step(attn['peak_step'])}, {attn['end']:.1f} at the end (step {fmt_step(g['val_step'])})",
                apart, "the grokking run did not reach 95% on both accuracies at different logged steps")]}


def judged(r: dict, s: LandscapeSettings) -> list:
    """Every finding's verdict on ``r`` (``book.judge``)."""
    return judge_all(FINDINGS, evidence(r, s))


def check(results: dict, s: LandscapeSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``): the mechanics, and each finding's verdict as
    ``s.findings`` declares it; print each with its measured value."""
    r, checks = results, Checks(s.claims)
    checks.expect("every logged metric of both runs is finite", r["finite"], r["finite"])
    for name in OPTIMA:
        checks.expect(f"{name}: every loss on the grid is finite", r[name]["finite_surface"], r[name]["finite_surface"])
    powered, why = optima_powered(r)
    checks.claim("the two runs are optima: both reached 95% on both accuracies, the grokking run's delay the longer",
                 why or f"delays {r['grokking']['delay']:,} and {r['comprehension']['delay']:,} steps", powered)
    if s.claims:
        checks.findings(judged(r, s), s.findings)
    return checks.report()


def glued(r: dict, s: LandscapeSettings) -> dict[str, str]:
    """The chapter's numbers as the prose quotes them (``book.glue`` each), verdicts included."""
    g, c, attn = r["grokking"], r["comprehension"], r["attn"]
    out = {"loss_range_ratio": f"{r['range_ratio']:.2f}", "loss_range_ratio_train": f"{r['range_ratio_train']:.2f}",
           "sharpness_grokking": f"{g['sharpness_train']:.3g}", "sharpness_comprehension": f"{c['sharpness_train']:.3g}",
           "sharpness_ratio": f"{r['sharpness_ratio']:.2f}", "attn_norm_peak_step": fmt_step(attn["peak_step"]),
           "attn_norm_peak": _num(attn["peak"]), "attn_norm_start": _num(attn["start"]),
           "attn_norm_at_fit": _num(attn["at_fit"]), "attn_norm_min": _num(attn["min"]),
           "attn_norm_min_step": fmt_step(attn["min_step"]), "attn_norm_end": _num(attn["end"]),
           "grid_size": str(s.grid_size)}
    for name in OPTIMA:
        for key in ("range_train", "range_val", "centre_train", "slice_min_train"):
            out[f"{key}_{name}"] = f"{r[name][key]:.3g}"
        out[f"slice_min_at_{name}"] = f"{r[name]['slice_min_at']:.2f}"
        for key in ("train_step", "val_step", "delay"):
            out[f"{key}_{name}"] = fmt_step(r[name][key])
    out["n_directions"] = str(len(r["pairs"]))
    out.update({f"run_{name}": r[name]["run"] for name in OPTIMA})
    out["range_ratios"] = ", ".join(f"{p['range_ratio']:.2f}" for p in r["pairs"])
    out["sharpness_ratios"] = ", ".join(f"{p['sharpness_ratio']:.2f}" for p in r["pairs"])
    return {**out, **verdict_glue(judged(r, s))}


def _num(value: float | None) -> str:
    return fmt(value, ".1f")
