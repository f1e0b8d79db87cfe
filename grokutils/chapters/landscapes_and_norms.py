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
from grokutils.book import Checks, fmt_step, resolve_profile
from grokutils.chapters import comprehension_band as band_chapter
from grokutils.config import RunConfig, check_int, resolve_device
from grokutils.history import History

THRESHOLD = band_chapter.THRESHOLD
OPTIMA = ("grokking", "comprehension")
FINDINGS = ("grokking_range_larger", "grokking_sharper", "attn_rises_then_falls")
"""The poster's findings the Checks assert: the grokking optimum's validation-loss range is larger than the
comprehension optimum's; so is its sharpness (mean rise of the training loss at radius ``sharpness_radius``); the
grokking run's attention-weight norm rises after training accuracy reaches 95% (its peak between the two 95% steps
exceeds its value at the first) and falls before validation accuracy does (it ends below that peak)."""
POSTER = dict.fromkeys(FINDINGS, True)
BOOK_FINDINGS = dict(grokking_range_larger=True, grokking_sharper=False, attn_rises_then_falls=True)
"""What the ``book`` runs showed (issue 17's closing note; rerun for issue 12's smaller logging): the grokking optimum's
validation-loss range 1.04x the comprehension optimum's, its sharpness 0.52 against 1.01 (not sharper), and its
attention norm 19.4 at the training-95% step (676), 26.7 at its peak (step 2,975) and 23.3 at the validation-95% step
(4,000)."""

_PROFILES = {
    # optima: name -> (p, B, run index) of a cell of the comprehension-band grid at the same profile, or
    # "in band"/"outside" for that chapter's examples; grid points a side; examples of each set evaluated (None: all)
    "smoke": dict(optima=dict(grokking="outside", comprehension="in band"), grid=5, max_examples=64, findings=POSTER),
    # book: at N = 2,793, B = 81 (N/B = 34) the two runs of one cell grokked with the longest delay of the largest N
    # (3,324 steps) and the shortest (0: both accuracies passed 95% within one logging interval, by step 1,645)
    "book": dict(optima=dict(grokking=(97, 81, 0), comprehension=(97, 81, 1)), grid=15, max_examples=2000,
                 findings=BOOK_FINDINGS),
    "paper": dict(optima=dict(grokking="outside", comprehension="in band"), grid=51, max_examples=None, findings=POSTER),
}


@dataclass(frozen=True)
class LandscapeSettings:
    """The two optima, how the landscapes around them are sampled, and the thresholds of the Checks.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: the comprehension-band grid's seed, and the seed of the two random directions.
        optima: ``{"grokking": run, "comprehension": run}``, runs of the comprehension-band grid at this profile.
        grid_size: grid points along each direction (odd: the trained weights are the centre).
        radius: the grid spans [-radius, radius] along each direction (in units of the filter-normalised direction).
        sharpness_radius: the sharpness is the mean loss increase over the centre at this distance.
        max_examples: each loss is the mean over the first this many examples of the (shuffled) training and
            validation sets (None: all of them).
        findings: ``FINDINGS`` -> whether the Checks assert the poster's finding (True) or its negation (False).
        claims: whether this profile asserts the findings (False at ``smoke``).
        threshold: the accuracy at which training and validation count as reached (95%, as the poster).
    """

    profile: str
    device: str | None
    seed: int
    optima: dict
    grid_size: int
    max_examples: int | None
    findings: dict
    claims: bool
    radius: float = 1.0
    sharpness_radius: float = 0.5
    threshold: float = THRESHOLD

    data_files = ()

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        lines = [f"{name} optimum: {_describe_run(cfg)}" for name, cfg in self.optima.items()]
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


def settings(profile: str | None = None, seed: int = 0, device: str | None = None) -> LandscapeSettings:
    """The chapter's settings at ``profile`` (the notebook's parameters)."""
    profile = resolve_profile(profile)
    check_int("seed", seed, 0, 2**31 - 16)
    resolve_device(device)
    preset, grid = _PROFILES[profile], band_chapter.settings(profile, seed=seed, device=device)
    optima = {name: _optimum(grid, where) for name, where in preset["optima"].items()}
    # a dry run (tests) evaluates a small grid on few examples: the real sizes take minutes at book, hours at paper
    return LandscapeSettings(profile, device, seed, optima, dryrun.at_most(preset["grid"], 5),
                             dryrun.at_most(preset["max_examples"], 64), preset["findings"], claims=profile != "smoke")


def _optimum(grid: band_chapter.BandSettings, where) -> RunConfig:
    if isinstance(where, str):
        return grid.examples[where]
    p, b, i = where
    return grid.grid[p, b][i]


def load_optima(s: LandscapeSettings, load_many, **kwargs) -> dict[str, History]:
    """The two optima's runs through one call of ``load_many`` (``runs.load_or_train_many``): cached ones load."""
    return dict(zip(s.optima, load_many(list(s.optima.values()), **kwargs)))


def trained_weights(history: History) -> dict[str, torch.Tensor]:
    """The run's final parameters (its buffers left out), by name."""
    names = {name for name, _ in history.config.model.build().named_parameters()}
    return {name: t.float() for name, t in history.final_state.items() if name in names}


def landscapes(histories: dict[str, History], s: LandscapeSettings) -> dict:
    """Around each optimum: ``surfaces`` (training and validation loss on the grid) and ``lines`` (along direction 1).

    Each optimum's two directions are drawn from a generator seeded with ``s.seed`` (the same draws for both
    where their shapes agree) and rescaled to its own filters' norms.
    """
    out = {"surfaces": {}, "lines": {}}
    for name, h in histories.items():
        weights = trained_weights(h)
        gen = torch.Generator().manual_seed(s.seed)
        d1, d2 = landscape.random_direction(weights, gen), landscape.random_direction(weights, gen)
        loss_fn = landscape.stacked_losses(h.config.model, h.config.task.build(), h.config.train.loss, s.max_examples)
        out["surfaces"][name] = landscape.surface(loss_fn, weights, d1, d2, s.coords)
        out["lines"][name] = landscape.line(loss_fn, weights, d1, s.coords)
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
    for name, h in histories.items():
        surface, line = land["surfaces"][name], land["lines"][name]
        centre = len(s.coords) // 2
        r[name] = {"train_step": h.steps_to("train_acc", s.threshold), "val_step": h.steps_to("val_acc", s.threshold),
                   "delay": h.grokking_delay(s.threshold),
                   "range_train": landscape.loss_range(surface["train"]), "range_val": landscape.loss_range(surface["val"]),
                   "sharpness_train": landscape.sharpness(surface["train"], s.coords, s.sharpness_radius),
                   "sharpness_val": landscape.sharpness(surface["val"], s.coords, s.sharpness_radius),
                   "centre_train": float(line["train"][centre]), "slice_min_train": float(line["train"].min()),
                   "slice_min_at": float(s.coords[int(line["train"].argmin())]),
                   "finite_surface": all(bool(torch.isfinite(v).all()) for v in surface.values())}
    g, c = r["grokking"], r["comprehension"]
    r["range_ratio"] = _ratio(g["range_val"], c["range_val"])
    r["range_ratio_train"] = _ratio(g["range_train"], c["range_train"])
    r["sharpness_ratio"] = _ratio(g["sharpness_train"], c["sharpness_train"])
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


def _ratio(a: float, b: float) -> float:
    return math.inf if b == 0 else a / b


def verdicts(r: dict, s: LandscapeSettings) -> dict[str, bool]:
    """Whether each of the poster's findings (``FINDINGS``) holds in ``r`` (from ``measure``)."""
    attn = r["attn"]
    rises_falls = attn["peak"] is not None and attn["at_fit"] < attn["peak"] and attn["end"] < attn["peak"]
    return {"grokking_range_larger": r["range_ratio"] > 1,
            "grokking_sharper": r["sharpness_ratio"] > 1,
            "attn_rises_then_falls": bool(rises_falls)}


def check(results: dict, s: LandscapeSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``); print each with its measured value."""
    r, checks = results, Checks(s.claims)
    g, c, attn = r["grokking"], r["comprehension"], r["attn"]
    checks.expect("every logged metric of both runs is finite", r["finite"], r["finite"])
    for name in OPTIMA:
        checks.expect(f"{name}: every loss on the grid is finite", r[name]["finite_surface"], r[name]["finite_surface"])
    checks.claim("both runs reached 95% on training and validation accuracy (both are optima)",
                 f"delays {fmt_step(g['delay'])} and {fmt_step(c['delay'])} steps", None not in (g["delay"], c["delay"]))
    checks.claim("the grokking run's delay is longer than the comprehension run's",
                 f"{fmt_step(g['delay'])} against {fmt_step(c['delay'])} steps",
                 lambda: None not in (g["delay"], c["delay"]) and g["delay"] > c["delay"])
    held = verdicts(r, s)
    measured = {
        "grokking_range_larger": ("the grokking optimum's validation-loss range exceeds the comprehension optimum's",
                                  f"ratio {r['range_ratio']:.2f}"),
        "grokking_sharper": (f"the grokking optimum is sharper (training loss's mean rise at radius {s.sharpness_radius:g})",
                             f"{g['sharpness_train']:.3g} against {c['sharpness_train']:.3g}"),
        "attn_rises_then_falls": ("the grokking run's attention-weight norm rises after training accuracy reaches 95% "
                                  "and falls before validation accuracy does",
                                  f"{_num(attn['at_fit'])} at step {fmt_step(g['train_step'])}, peak {_num(attn['peak'])} "
                                  f"at step {fmt_step(attn['peak_step'])}, {attn['end']:.1f} at the end (step "
                                  f"{fmt_step(g['val_step'])})"),
    }
    for name, (claim, value) in measured.items():
        expected = s.findings[name]
        checks.claim(claim if expected else f"NOT: {claim} (our runs at this profile, as the chapter says)", value,
                     held[name] == expected)
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
    return {**out, **band_chapter.verdict_glue(verdicts(r, s))}


def _num(value: float | None) -> str:
    return band_chapter.fmt_number(value, ".1f")
