"""The chapter ``book/phase_diagrams.ipynb``: Liu et al.'s phases of learning, representation quality and effective
theory.

Every toy run trains Liu, Kitouni, Nolte, Michaud, Tegmark and Williams's toy model (``recipes.liu_toy_run``: a + b
over the 55 unordered pairs of 10 symbols, a learned 1-D representation, an MLP decoder fitted to Gaussian templates,
the representation at lr 1e-3 and the decoder at its own lr and weight decay) and logs its representation. Three
groups of runs:

1. **The phase diagram** (their Figure 6b): the decoder's learning rate (log-spaced) x its weight decay, one run a
   cell, each stopping once 90% of the test pairs are right; a cell's phase follows from its steps to 90% training and
   test accuracy (``analysis.phases.phase``). A cell counts for the findings only where its phase is ``clear``: the
   same with the gap threshold a factor ``SLACK`` either way and the budget a factor ``SLACK`` shorter.
2. **The effective theory** (their Figure 3): training sets of each size of ``theory_sizes``, ``n_theory_seeds``
   seeds, the decoder at their default lr 1e-4 without weight decay: the accuracy the training set allows (ideal),
   the accuracy the learned representation's parallelograms predict, and the accuracy measured.
3. **One row on the book's transformer**: Nanda et al.'s transformer on a + b mod p at one learning rate, over weight
   decay, labelled by the same rule.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from grokutils.analysis.phases import (LEVEL, PHASES, SHORT, ideal_accuracy, normalised, phase, predicted_accuracy,
                                       rqi)
from grokutils.book import (HOLDS, UNDECIDED, Checks, Evidence, Finding, asserts_findings, check_seed, fmt, judge_all,
                            resolve_profile, turn, verdict_glue)
from grokutils.config import RunConfig, check_int, resolve_device
from grokutils.history import History, embedding_table
from grokutils.recipes import liu_toy_run, nanda_run

LIU = "liu2022effective"
LIU_SEED = 58
"""The seed of their phase diagrams: the chapter's seed ``s`` trains the grid at ``LIU_SEED + s``."""
MODE = "workers"
"""The sweep engine trains each missing run alone, two at a time (``dispatch.MODES``), so a run that stops early frees
its worker."""
SLACK = 1.25
"""A cell's phase is clear when it stays the same with the gap threshold divided or multiplied by this and the budget
divided by it: a label that a few steps' rounding could flip does not count for the findings."""
RQI_LEVEL = 0.95
"""A structured representation: an RQI above their ``threshold_rqi``, 0.95."""
MIN_LR_GAP = 0.4
"""A fast decoder memorises: the median log10 learning rate of the clear memorisation cells lies at least this far (0.4,
one step of the book's grid) above that of the clear comprehension and grokking cells (chosen after the pilot grids at
seeds 58 and 59, where it was 1.2 and 1.0; margin 0.2)."""
MIN_WD_GAP = 2.0
"""A simple decoder is confused: the median weight decay of the clear confusion cells lies at least this far (2) above
that of the clear memorisation cells (chosen after the pilot grids, where it was 3.5 and 5; margin 1)."""
MIN_BETWEEN = 0.5
"""Grokking is sandwiched: at least this share of the clear grokking cells has, along its row (weight decay) or its
column (learning rate), a clear comprehension cell on one side and a clear memorisation cell on the other (chosen after
the pilot grids, where 2 of 3 and 0 of 6 cells did; margin 0.1)."""
MAX_PREDICTION_ERROR = 0.1
"""The effective theory predicts the accuracy: the mean absolute difference between the predicted and the measured
accuracy on all pairs, over the runs, at most this (chosen after the pilot, where it was 0.02; margin 0.03)."""
FINDINGS = (
    Finding("all_four_phases", "all four phases appear: comprehension, grokking, memorisation and confusion", LIU,
            "the number of clear cells of the rarest phase, at least 1 (a phase with unclear cells only is undecided)",
            "a run reached 90% training accuracy and a run reached 90% test accuracy", margin=0.5),
    Finding("fast_decoder_memorises", "a fast, capable decoder memorises", LIU, f"the median log10 decoder learning "
            f"rate of the clear memorisation cells minus that of the clear comprehension and grokking cells, at least "
            f"{MIN_LR_GAP:g}", "the grid has clear memorisation cells and clear comprehension or grokking cells",
            margin=0.2),
    Finding("simple_decoder_confused", "a simple (strongly decayed) decoder is confused", LIU, f"the median weight "
            f"decay of the clear confusion cells minus that of the clear memorisation cells, at least {MIN_WD_GAP:g}",
            "the grid has clear confusion and clear memorisation cells", margin=1.0),
    Finding("grokking_between", "grokking is sandwiched between comprehension and memorisation", LIU,
            f"the share of clear grokking cells with a clear comprehension cell on one side and a clear memorisation "
            f"cell on the other, along their row or column, at least {MIN_BETWEEN:.0%}",
            "the grid has a clear grokking cell", margin=0.1),
    Finding("structure_first", "generalisation comes from a structured representation: no run generalises before its "
            "representation closes the parallelograms", LIU, f"the lowest RQI of a run at its first step with 90% "
            f"test accuracy, over the grid's runs that got there, at least {RQI_LEVEL:g}",
            "a run of the grid reached 90% test accuracy", margin=0.02),
    Finding("theory_predicts", "the parallelograms of the learned representation predict the accuracy (their "
            "Figure 3)", LIU, f"the mean absolute difference between predicted and measured accuracy on all pairs, "
            f"at most {MAX_PREDICTION_ERROR:g}", "every run fitted its training set (90% training accuracy)",
            margin=0.03),
)
SOURCES = dict.fromkeys((f.name for f in FINDINGS), HOLDS)
BOOK_FINDINGS = dict(SOURCES, grokking_between=UNDECIDED)
"""What the ``book`` runs show on seeds 0 and 1 (issue 35's cold runs, grid seeds 58 and 59). Clear cells of each phase
(comprehension, grokking, memorisation, confusion): 8, 2, 37, 17 and 5, 6, 23, 27. Median log10 learning rate of the
memorisation cells against the generalising ones: -3.2 against -4.0 and -2.8 against -4.0; median weight decay of the
confusion cells against the memorisation ones: 8 against 3 at both. Grokking is sandwiched between comprehension and
memorisation in 1 of 2 clear grokking cells at seed 0 (inside the margin) and 0 of 6 at seed 1, where the slowest
decoder groks beside a faster one's comprehension: the seeds disagree, so the finding is declared undecided. Every run
that reached 90% test accuracy had an RQI of 1.00 then (12 and 15 runs). The effective theory's prediction missed the
measured accuracy by 0.020 and 0.019 on average (largest 0.127)."""


@dataclass(frozen=True)
class PhaseProfile:
    """What a profile sets: the grid, the effective theory's runs, the transformer's row, and the verdicts it declares.

    Attributes:
        lr_exponents: the decoder's learning rates as ``10 ** linspace(low, high, n)``: ``(low, high, n)``.
        weight_decays: the decoder's weight decays.
        steps: each grid run's budget (their ``compute_budget``).
        gap: the grokking threshold: the test level reached more than this many steps after the training level.
        log_every: steps between logged metrics (their code logs every step).
        width: the decoder's hidden width (theirs: 200).
        theory_sizes: the effective theory's training-set sizes.
        n_theory_seeds: its seeds per size.
        theory_steps: its runs' budget.
        transformer_p: the transformer row's modulus.
        transformer_frac: its training fraction.
        transformer_lr: its learning rate.
        transformer_weight_decays: its weight decays.
        transformer_steps: its budget.
        transformer_gap: its grokking threshold.
        transformer_widths: its model widths replacing Nanda et al.'s (empty: theirs).
        findings: each finding's name -> the verdict this profile's runs give, which the Checks assert.
    """

    lr_exponents: tuple[float, float, int]
    weight_decays: tuple[float, ...]
    steps: int
    gap: int
    log_every: int
    width: int
    theory_sizes: tuple[int, ...]
    n_theory_seeds: int
    theory_steps: int
    transformer_p: int
    transformer_frac: float
    transformer_lr: float
    transformer_weight_decays: tuple[float, ...]
    transformer_steps: int
    transformer_gap: int
    transformer_widths: dict
    findings: dict


ALL_WEIGHT_DECAYS = tuple(float(wd) for wd in range(11))
PROFILES = {
    "smoke": PhaseProfile(lr_exponents=(-4.0, -2.0, 2), weight_decays=(0.0, 5.0), steps=200, gap=20, log_every=10,
                          width=16, theory_sizes=(10, 45), n_theory_seeds=1, theory_steps=100, transformer_p=7,
                          transformer_frac=0.5, transformer_lr=1e-3, transformer_weight_decays=(0.0, 1.0),
                          transformer_steps=40, transformer_gap=4,
                          transformer_widths=dict(d_model=16, n_heads=2, d_head=8, d_mlp=32), findings=SOURCES),
    # book (issue 35): pilots on this machine, one thread a run. A run of the toy costs 1.5-2.0 ms a step, so a cell of
    # 10^4 steps takes up to 20 s; their paper's 11 x 11 cells at 10^5 steps would take hours. Pilot grids of these 6 x
    # 11 cells at 10^4 steps, each run stopping at 90% test accuracy: at seed 58 (metrics every 50 steps) all four
    # phases appeared, grokking in 4 cells (gaps 1,100 to 6,250 steps), 3 of them sandwiched between comprehension and
    # memorisation along weight decay; at seed 59 (every 10 steps) grokking in 8 cells at the two slowest decoders, none
    # sandwiched; both grids 419 s and 527 s wall on two workers. The generalising runs' RQI at 90% test accuracy was
    # 1.00 at seed 58. The effective theory's 33 runs (5,000 steps): 148 s, mean |predicted - measured| 0.020. The
    # transformer row at p = 31, fraction 0.5, 3,000 steps: 85 s; memorisation at weight decay 0 and 0.3, grokking at
    # 1, 3 and 10.
    "book": PhaseProfile(lr_exponents=(-4.0, -2.0, 6), weight_decays=ALL_WEIGHT_DECAYS, steps=10_000, gap=1_000,
                         log_every=10, width=200, theory_sizes=(5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 54),
                         n_theory_seeds=3, theory_steps=5_000, transformer_p=31, transformer_frac=0.5,
                         transformer_lr=1e-3, transformer_weight_decays=(0.0, 0.3, 1.0, 3.0, 10.0),
                         transformer_steps=3_000, transformer_gap=300, transformer_widths={},
                         findings=BOOK_FINDINGS),
    "paper": PhaseProfile(lr_exponents=(-4.0, -2.0, 11), weight_decays=ALL_WEIGHT_DECAYS, steps=100_000, gap=1_000,
                          log_every=10, width=200, theory_sizes=(5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 54),
                          n_theory_seeds=3, theory_steps=5_000, transformer_p=53, transformer_frac=0.5,
                          transformer_lr=1e-3, transformer_weight_decays=(0.0, 0.1, 0.3, 1.0, 3.0, 10.0),
                          transformer_steps=30_000, transformer_gap=3_000, transformer_widths={},
                          findings=SOURCES),
}


@dataclass(frozen=True)
class PhaseSettings:
    """The chapter's runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: the chapter's seed: the grid trains at ``LIU_SEED + seed``, the effective theory at ``seed``,
            ``seed + 1``, ..., the transformer at ``seed``.
        preset: the profile's settings (``PhaseProfile``), with any knob the reader turned.
        lrs: the decoder's learning rates of the grid.
        grid: ``{lr: {weight_decay: run}}``.
        theory: ``{size: (run per seed)}``.
        transformer: ``{weight_decay: run}``.
        mode: how the sweep engine trains missing runs (``MODE``).
        findings: each finding's name -> the verdict this profile's runs give (None: a knob was turned).
        claims: whether this profile asserts the chapter's findings (False at ``smoke``).
    """

    profile: str
    device: str | None
    seed: int
    preset: PhaseProfile
    lrs: tuple[float, ...]
    grid: dict
    theory: dict
    transformer: dict
    mode: str | None
    findings: dict | None
    claims: bool

    data_files = ()

    def runs(self) -> dict:
        """Every run (``book.run_all``): ``{"grid": ..., "theory": ..., "transformer": ...}``."""
        return {"grid": self.grid, "theory": self.theory, "transformer": self.transformer}

    @property
    def grid_seed(self) -> int:
        """The grid's seed (theirs: 58 at the chapter's seed 0)."""
        return LIU_SEED + self.seed

    @property
    def theory_seeds(self) -> tuple[int, ...]:
        """The effective theory's seeds."""
        return tuple(range(self.seed, self.seed + self.preset.n_theory_seeds))

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        pr = self.preset
        return [f"task: a + b over the 55 unordered pairs of 10 symbols; toy model 1-{pr.width}-{pr.width}-30 (tanh) "
                f"on a learned 1-D representation",
                f"phase diagram: decoder lr {', '.join(f'{lr:.1e}' for lr in self.lrs)} x weight decay "
                f"{', '.join(f'{wd:g}' for wd in pr.weight_decays)}; {pr.steps:,} steps or until 90% test accuracy; "
                f"grokking: the test level more than {pr.gap:,} steps after the training level; seed {self.grid_seed}",
                f"effective theory: {len(pr.theory_sizes)} training-set sizes x seeds {list(self.theory_seeds)}, "
                f"{pr.theory_steps:,} steps",
                f"transformer row: a + b mod {pr.transformer_p}, fraction {pr.transformer_frac:g}, lr "
                f"{pr.transformer_lr:g}, weight decay {', '.join(f'{wd:g}' for wd in pr.transformer_weight_decays)}, "
                f"{pr.transformer_steps:,} steps"]


def settings(profile: str | None = None, steps: int | None = None, seed: int = 0,
             device: str | None = None) -> PhaseSettings:
    """The chapter's runs at ``profile`` (the notebook's parameters); ``steps`` replaces the grid's budget (None: the
    profile's), and then the profile's declared verdicts do not apply."""
    profile = resolve_profile(profile)
    check_int("steps", steps, 10, none_ok=True)
    preset, turned = turn(PROFILES[profile], steps=steps)
    check_seed(seed, LIU_SEED + max(preset.n_theory_seeds, 1))
    resolve_device(device)
    low, high, n = preset.lr_exponents
    lrs = tuple(float(10 ** x) for x in torch.linspace(low, high, n, dtype=torch.float64).tolist())
    every = dict(n_logs=preset.steps // preset.log_every + 1, width=preset.width)
    grid = {lr: {wd: liu_toy_run(lr=lr, weight_decay=wd, steps=preset.steps, seed=LIU_SEED + seed,
                                 stop_at_val_acc=LEVEL, **every) for wd in preset.weight_decays} for lr in lrs}
    theory = {size: tuple(liu_toy_run(n_train=size, seed=k, steps=preset.theory_steps, width=preset.width,
                                      n_logs=preset.theory_steps // preset.log_every + 1)
                          for k in range(seed, seed + preset.n_theory_seeds)) for size in preset.theory_sizes}
    transformer = {wd: _transformer_run(preset, wd, seed) for wd in preset.transformer_weight_decays}
    return PhaseSettings(profile, device, seed, preset, lrs, grid, theory, transformer, mode=MODE,
                         findings=None if turned else preset.findings, claims=asserts_findings(profile))


def _transformer_run(preset: PhaseProfile, weight_decay: float, seed: int) -> RunConfig:
    cfg = nanda_run(p=preset.transformer_p, frac_train=preset.transformer_frac, steps=preset.transformer_steps,
                    log_every=preset.log_every, seed=seed, **preset.transformer_widths)
    return cfg.replace(lr=preset.transformer_lr, weight_decay=weight_decay, stop_at_val_acc=LEVEL)


def clear(train_step: int | None, test_step: int | None, budget: int, gap: int) -> bool:
    """Whether the phase is the same with the gap threshold a factor ``SLACK`` either way and the budget a factor
    ``SLACK`` shorter (the budget cannot be longer than the runs were)."""
    labels = {phase(train_step, test_step, b, g) for b in (budget, budget / SLACK) for g in (gap / SLACK, gap * SLACK)}
    return len(labels) == 1


def step_index(h: History, step: int) -> int:
    """The position of logged ``step`` in ``h.steps``."""
    return int((h.steps == step).nonzero()[0, 0])


def phase_numbers(h: History, budget: int, gap: int) -> dict:
    """A run's steps to 90% training and test accuracy, its phase and whether it is clear, its final accuracies."""
    fit, general = h.steps_to("train_acc", LEVEL), h.steps_to("val_acc", LEVEL)
    return {"fit": fit, "general": general, "phase": phase(fit, general, budget, gap),
            "clear": clear(fit, general, budget, gap), "final_train": float(h.train_acc[-1]),
            "final_val": float(h.val_acc[-1])}


def cell_numbers(h: History, budget: int, gap: int) -> dict:
    """A grid run's ``phase_numbers``, and its RQI over the logged steps, at the first step with 90% test accuracy and
    at the end."""
    n, quality = phase_numbers(h, budget, gap), rqi(embedding_table(h))
    at_general = None if n["general"] is None else float(quality[step_index(h, n["general"])])
    return {**n, "rqi": quality, "rqi_at_general": at_general, "final_rqi": float(quality[-1])}


def theory_numbers(h: History) -> dict:
    """An effective-theory run's ideal, predicted and measured accuracy on all pairs (and on the test pairs)."""
    task = h.config.task
    pairs, train = task.pairs(), h.train_index
    ideal, ideal_test = ideal_accuracy(pairs, train, task.p)
    predicted, predicted_test = predicted_accuracy(pairs, train, embedding_table(h)[-1])
    n_test = task.n_pairs - task.n_train
    measured = (task.n_train * float(h.train_acc[-1]) + n_test * float(h.val_acc[-1])) / task.n_pairs
    return {"ideal": ideal, "ideal_test": ideal_test, "predicted": predicted, "predicted_test": predicted_test,
            "measured": measured, "measured_test": float(h.val_acc[-1]), "final_train": float(h.train_acc[-1])}


def measure(r: dict, s: PhaseSettings) -> dict:
    """The chapter's numbers from its Histories ``r`` (as ``s.runs()``)."""
    pr = s.preset
    grid = {lr: {wd: cell_numbers(h, pr.steps, pr.gap) for wd, h in row.items()} for lr, row in r["grid"].items()}
    theory = {size: [theory_numbers(h) for h in hs] for size, hs in r["theory"].items()}
    transformer = {wd: phase_numbers(h, pr.transformer_steps, pr.transformer_gap) for wd, h in r["transformer"].items()}
    histories = [h for row in r["grid"].values() for h in row.values()] + \
        [h for hs in r["theory"].values() for h in hs] + list(r["transformer"].values())
    return {"grid": grid, "theory": theory, "transformer": transformer, "examples": examples(grid),
            "finite": all(h.is_finite() for h in histories),
            "loss_fell": all(h.train_loss[-1] < h.train_loss[0] for h in histories)}


def examples(grid: dict) -> dict[str, tuple[float, float]]:
    """One cell per phase that the grid has clearly: ``{phase: (lr, weight_decay)}``, the first in grid order (learning
    rate, then weight decay, ascending)."""
    out = {}
    for lr, row in grid.items():
        for wd, n in row.items():
            if n["clear"] and n["phase"] not in out:
                out[n["phase"]] = (lr, wd)
    return {name: out[name] for name in PHASES if name in out}


def labels(grid: dict) -> list[list[str]]:
    """The grid's phases, one row per learning rate (ascending), one column per weight decay."""
    return [row_labels(row) for row in grid.values()]


def unclear(grid: dict) -> list[list[bool]]:
    """Whether each cell's phase is not clear (``clear``), laid out as ``labels``."""
    return [row_unclear(row) for row in grid.values()]


def row_labels(row: dict) -> list[str]:
    """One row's phases (a dict of cells' numbers), in order."""
    return [n["phase"] for n in row.values()]


def row_unclear(row: dict) -> list[bool]:
    """Whether each cell of one row is not clear."""
    return [not n["clear"] for n in row.values()]


def theory_curves(theory: dict) -> tuple[list[int], list[list[float]], list[list[float]], list[list[float]]]:
    """The effective theory's runs for the figure: sizes, and per size the ideal, predicted and measured accuracy on all
    pairs, one per seed."""
    sizes = list(theory)
    return sizes, *([[n[key] for n in theory[size]] for size in sizes] for key in ("ideal", "predicted", "measured"))


def showcase(r: dict, results: dict, prefer: tuple[str, ...]) -> tuple[str | None, float, float]:
    """The example cell of the first phase of ``prefer`` the grid has clearly, else the grid's first cell (phase None):
    ``(phase, lr, weight_decay)``."""
    name = next((x for x in prefer if x in results["examples"]), None)
    if name is not None:
        return (name, *results["examples"][name])
    lr, row = next(iter(r["grid"].items()))
    return None, lr, next(iter(row))


def example_run(r: dict, results: dict) -> History:
    """The run the chapter offers for download: the grokking example, else the grid's first cell."""
    _, lr, wd = showcase(r, results, ("grokking",))
    return r["grid"][lr][wd]


def counts(grid: dict) -> dict[str, tuple[int, int]]:
    """Each phase's number of cells: ``{phase: (clear, all)}``."""
    cells = [n for row in grid.values() for n in row.values()]
    return {name: (sum(n["phase"] == name and n["clear"] for n in cells), sum(n["phase"] == name for n in cells))
            for name in PHASES}


def rqi_runs(r: dict, results: dict) -> dict[str, dict]:
    """The example runs' curves for the RQI figure: ``{title: {"steps", "train_acc", "val_acc", "rqi"}}``."""
    out = {}
    for name, (lr, wd) in results["examples"].items():
        h = r["grid"][lr][wd]
        out[f"{name}: lr {lr:.1e}, wd {wd:g}"] = {"steps": h.steps, "train_acc": h.train_acc, "val_acc": h.val_acc,
                                                  "rqi": results["grid"][lr][wd]["rqi"]}
    return out


def snapshots(r: dict, results: dict, n: int = 4) -> tuple[str, list[int], torch.Tensor]:
    """The representation of the grokking example (else the comprehension one, else the grid's first cell) at ``n``
    logged steps from 0 to its first step with 90% test accuracy (or its last), normalised: ``(title, steps, reps [n,
    p])``."""
    name, lr, wd = showcase(r, results, ("grokking", "comprehension"))
    h, general = r["grid"][lr][wd], results["grid"][lr][wd]["general"]
    end = len(h.steps) - 1 if general is None else step_index(h, general)
    picks = sorted(set(torch.linspace(0, end, n).round().long().tolist()))
    reps = normalised(embedding_table(h)[picks])[..., 0]
    which = f"the {name} example" if name else "the grid's first cell (no cell clearly generalised)"
    return f"{which} (lr {lr:.1e}, weight decay {wd:g})", [int(h.steps[i]) for i in picks], reps


def evidence(r: dict, s: PhaseSettings) -> dict[str, list[Evidence]]:
    """Each finding's measurement in ``r`` (from ``measure``): the grid's, and the effective theory's over its runs."""
    grid = r["grid"]
    cells = [(lr, wd, n) for lr, row in grid.items() for wd, n in row.items()]
    return {"all_four_phases": [_phases_evidence(grid, cells)], "fast_decoder_memorises": [_lr_evidence(cells)],
            "simple_decoder_confused": [_wd_evidence(cells)], "grokking_between": [_between_evidence(grid)],
            "structure_first": [_structure_evidence(cells)], "theory_predicts": [_prediction_evidence(r["theory"])]}


def _phases_evidence(grid: dict, cells: list) -> Evidence:
    c = counts(grid)
    score = min(1 if clear_n else (0 if any_n else -1) for clear_n, any_n in c.values())
    shown = ", ".join(f"{name} {clear_n} clear of {any_n}" for name, (clear_n, any_n) in c.items())
    fitted = any(n["fit"] is not None for *_, n in cells) and any(n["general"] is not None for *_, n in cells)
    return Evidence(score, shown, fitted, "no run reached 90% training and 90% test accuracy")


def _clear_in(cells: list, phases: tuple[str, ...]) -> list[tuple[float, float]]:
    """``(lr, weight_decay)`` of the clear cells in ``phases``."""
    return [(lr, wd) for lr, wd, n in cells if n["clear"] and n["phase"] in phases]


def _median(values: list[float]) -> float:
    return float(torch.tensor(values, dtype=torch.float64).median())


def _lr_evidence(cells: list) -> Evidence:
    memorised, general = _clear_in(cells, ("memorisation",)), _clear_in(cells, ("comprehension", "grokking"))
    if not memorised or not general:
        return Evidence(None, "no clear memorisation cell or no clear generalising cell", False,
                        "the grid lacks clear memorisation cells or clear comprehension and grokking cells")
    high, low = (_median([math.log10(lr) for lr, _ in cells]) for cells in (memorised, general))
    return Evidence(high - low - MIN_LR_GAP, f"median log10 lr: memorisation {high:.2f} ({len(memorised)} cells), "
                    f"comprehension and grokking {low:.2f} ({len(general)} cells)")


def _wd_evidence(cells: list) -> Evidence:
    confused, memorised = _clear_in(cells, ("confusion",)), _clear_in(cells, ("memorisation",))
    if not confused or not memorised:
        return Evidence(None, "no clear confusion cell or no clear memorisation cell", False,
                        "the grid lacks clear confusion or clear memorisation cells")
    high, low = _median([wd for _, wd in confused]), _median([wd for _, wd in memorised])
    return Evidence(high - low - MIN_WD_GAP, f"median weight decay: confusion {high:g} ({len(confused)} cells), "
                    f"memorisation {low:g} ({len(memorised)} cells)")


def sandwiched(line: list[dict], k: int) -> bool:
    """Whether cell ``k`` of a ``line`` of cells (a row or a column, in order) has a clear comprehension cell on one
    side and a clear memorisation cell on the other."""
    sides = [{n["phase"] for n in part if n["clear"]} for part in (line[:k], line[k + 1:])]
    return ("comprehension" in sides[0] and "memorisation" in sides[1]) or \
        ("memorisation" in sides[0] and "comprehension" in sides[1])


def _between_evidence(grid: dict) -> Evidence:
    rows = [list(row.values()) for row in grid.values()]
    found = [(i, j) for i, row in enumerate(rows) for j, n in enumerate(row) if n["phase"] == "grokking" and n["clear"]]
    if not found:
        return Evidence(None, "no clear grokking cell", False, "the grid has no clear grokking cell")
    inside = [sandwiched(rows[i], j) or sandwiched([row[j] for row in rows], i) for i, j in found]
    share = sum(inside) / len(inside)
    return Evidence(share - MIN_BETWEEN, f"{sum(inside)} of {len(inside)} clear grokking cells sandwiched between "
                    "comprehension and memorisation")


def stuck_rqi(cells) -> list[float]:
    """The final RQI of each grid run (of ``cells``' numbers) that never reached 90% test accuracy."""
    return [n["final_rqi"] for n in cells if n["general"] is None]


def _structure_evidence(cells: list) -> Evidence:
    values = [n["rqi_at_general"] for *_, n in cells if n["rqi_at_general"] is not None]
    if not values:
        return Evidence(None, "no run reached 90% test accuracy", False, "no run of the grid reached 90% test accuracy")
    rest = stuck_rqi(n for *_, n in cells)
    shown = f"; the runs that did not end at RQI {min(rest):.2f} to {max(rest):.2f}" if rest else ""
    return Evidence(min(values) - RQI_LEVEL, f"RQI at 90% test accuracy: lowest {min(values):.2f} over {len(values)} "
                    f"runs{shown}")


def _theory_runs(theory: dict) -> list[dict]:
    return [n for runs in theory.values() for n in runs]


def _errors(theory: dict) -> list[float]:
    """Each run's absolute difference between predicted and measured accuracy on all pairs."""
    return [abs(n["predicted"] - n["measured"]) for n in _theory_runs(theory)]


def _mean_error(theory: dict) -> float:
    """The mean of ``_errors``."""
    errors = _errors(theory)
    return sum(errors) / len(errors)


def _prediction_evidence(theory: dict) -> Evidence:
    runs, errors = _theory_runs(theory), _errors(theory)
    mean = sum(errors) / len(errors)
    fitted = all(n["final_train"] >= LEVEL for n in runs)
    return Evidence(MAX_PREDICTION_ERROR - mean, f"mean |predicted - measured| {mean:.3f} over {len(runs)} runs "
                    f"(largest {max(errors):.3f})", fitted, "a run did not fit its training set (90%)")


def judged(r: dict, s: PhaseSettings) -> list:
    """Every finding's verdict on ``r`` (``book.judge``)."""
    return judge_all(FINDINGS, evidence(r, s))


def check(results: dict, s: PhaseSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``): the mechanics, and each finding's verdict as
    ``s.findings`` declares it for the profile; print each with its measured value."""
    r, checks = results, Checks(s.claims)
    checks.expect("every logged metric of every run is finite", r["finite"], r["finite"])
    checks.expect("every run's training loss ended below where it started", r["loss_fell"], r["loss_fell"])
    if s.claims:
        checks.findings(judged(r, s), s.findings)
    return checks.report()


def summary(r: dict, s: PhaseSettings) -> str:
    """The numbers behind the findings, for the chapter's output."""
    pr = s.preset
    lines = [f"phase diagram (seed {s.grid_seed}, budget {pr.steps:,} steps, gap {pr.gap:,}): steps to 90% training / "
             f"test accuracy, phase (* not clear)"]
    for lr, row in r["grid"].items():
        cells = "  ".join(f"{fmt(n['fit']):>5s}/{fmt(n['general']):>5s} {SHORT[n['phase']]:>4s}"
                          f"{' ' if n['clear'] else '*'}" for n in row.values())
        lines.append(f"  lr {lr:.1e}: {cells}")
    lines.append("phases (clear / all): " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in counts(r["grid"]).items()))
    lines.append(f"effective theory (seeds {list(s.theory_seeds)}): size: ideal / predicted / measured accuracy")
    for size, runs in r["theory"].items():
        each = "; ".join(f"{n['ideal']:.2f} / {n['predicted']:.2f} / {n['measured']:.2f}" for n in runs)
        lines.append(f"  {size:3d}: {each}")
    lines.append(f"transformer row (p {pr.transformer_p}, lr {pr.transformer_lr:g}): weight decay: train / test steps, "
                 f"phase")
    for wd, n in r["transformer"].items():
        lines.append(f"  {wd:g}: {fmt(n['fit'])} / {fmt(n['general'])} {n['phase']}"
                     f"{'' if n['clear'] else ' (not clear)'}")
    return "\n".join(lines)


def glued(r: dict, s: PhaseSettings) -> dict[str, str]:
    """The chapter's numbers as the prose quotes them (``book.glue`` each), verdicts included."""
    pr = s.preset
    c = counts(r["grid"])
    out = {"grid_seed": str(s.grid_seed), "steps": f"{pr.steps:,}", "gap": f"{pr.gap:,}", "n_cells": str(
        sum(len(row) for row in r["grid"].values())), "lr_low": f"{s.lrs[0]:.0e}", "lr_high": f"{s.lrs[-1]:.0e}",
        "n_lrs": str(len(s.lrs)), "n_wds": str(len(pr.weight_decays)), "slack": f"{SLACK:g}",
        "rqi_level": f"{RQI_LEVEL:g}", "min_between": f"{MIN_BETWEEN:.0%}",
        "max_prediction_error": f"{MAX_PREDICTION_ERROR:g}", "min_lr_gap": f"{MIN_LR_GAP:g}",
        "min_wd_gap": f"{MIN_WD_GAP:g}", "over_ideal": _over_ideal(r["theory"]),
        "theory_steps": f"{pr.theory_steps:,}", "n_theory_runs": str(len(_theory_runs(r["theory"]))),
        "prediction_error": f"{_mean_error(r['theory']):.3f}", "log_every": str(pr.log_every),
        **_stuck_glue(r["grid"]),
        "transformer_p": str(pr.transformer_p), "transformer_steps": f"{pr.transformer_steps:,}",
        "transformer_gap": f"{pr.transformer_gap:,}", "transformer_lr": f"{pr.transformer_lr:g}",
        "transformer_phases": _transformer_glue(r["transformer"])}
    for name, (clear_n, any_n) in c.items():
        out[f"n_{name}"], out[f"n_clear_{name}"] = str(any_n), str(clear_n)
    for name in PHASES:
        out[f"example_{name}"] = _example_glue(r, name)
    return {**out, **verdict_glue(judged(r, s))}


def _example_glue(r: dict, name: str) -> str:
    """A phase's example cell in words: its learning rate, weight decay and steps to the two levels, or that the grid
    has none."""
    if name not in r["examples"]:
        return "none in this grid"
    lr, wd = r["examples"][name]
    n = r["grid"][lr][wd]
    return (f"learning rate {lr:.1e}, weight decay {wd:g} (90% of the training pairs {_at(n['fit'])}, of the test "
            f"pairs {_at(n['general'])})")


def _at(step: int | None) -> str:
    """When a level was first reached, in words: "at step 1,234" or "never"."""
    return "never" if step is None else f"at step {step:,}"


def _stuck_glue(grid: dict) -> dict[str, str]:
    """The range of the final RQI of the grid's runs that never reached 90% test accuracy, in words."""
    stuck = stuck_rqi(n for row in grid.values() for n in row.values())
    if not stuck:
        return {"rqi_stuck": "(there were none: every run of the grid got there)"}
    return {"rqi_stuck": f"from {min(stuck):.2f} to {max(stuck):.2f}"}


def _over_ideal(theory: dict) -> str:
    """The largest share of test pairs a run got right beyond its ideal test accuracy, and at which size."""
    worst = max(((n["measured_test"] - n["ideal_test"], size) for size, runs in theory.items() for n in runs))
    return f"{worst[0]:+.2f} (at {worst[1]} training pairs)"


def _transformer_glue(row: dict) -> str:
    """The transformer row in words: each weight decay's phase, in order."""
    return "; ".join(f"weight decay {wd:g}: {n['phase']}{'' if n['clear'] else ' (not clear)'}"
                     for wd, n in row.items())


def grid_axes(s: PhaseSettings) -> tuple[list[float], list[float]]:
    """The phase map's axes: the learning rates and the weight decays."""
    return list(s.lrs), list(s.preset.weight_decays)
