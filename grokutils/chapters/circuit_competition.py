"""The chapter ``book/circuit_competition.ipynb``: memorisation against generalisation (Varma et al. 2023; Huang et
al. 2024, as Peale and Casacuberta's slides present them).

Four parts, all a + b mod p (or random labels on its pairs) on Nanda et al.'s 1-layer transformer of width ``w``
(``d_model = w``, four heads of ``w / 4``, ``d_mlp = 4 w``), full-batch AdamW (lr 1e-3, weight decay 1):

- ``capacity``: random labels on a fraction of the pairs; the examples memorised against the width;
- ``grid``: from scratch at each (width, training-set size): the zone of each cell (``analysis.competition.Zones``)
  and the critical size D_crit per width;
- ``ungrok``: a grokked network (the ``parent``) trained on, from its final weights, on nested subsets of its training
  set, each tested on the parent's held-out pairs;
- ``multitask``: addition beside random labels on as many (1:1) or twice as many (2:1) examples, against the width.

Each finding (``FINDINGS``) is judged on every seed, with a margin (``ACC_MARGIN``) and a power condition; the Checks
assert the verdict each profile declares (``BOOK_FINDINGS`` at ``book``), and the prose quotes the verdicts.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
from collections import Counter
from dataclasses import dataclass

from grokutils.analysis.competition import ZONES, Zones, accuracy_near, classify, critical_size, delay, memorised
from grokutils.analysis.symmetry import mirror_share
from grokutils.book import (DOES_NOT_HOLD, HOLDS, UNDECIDED, Checks, Evidence, Finding, asserts_findings, check_seed,
                            judge_all, resolve_profile, turn, verdict_glue)
from grokutils.config import RunConfig, TrainConfig, check_int, resolve_device
from grokutils.history import History
from grokutils.recipes import nanda_adamw, nanda_model
from grokutils.tasks import ModularConfig, MultiTaskConfig, RandomLabelConfig

ACC_MARGIN = 0.03
"""How far (in accuracy, or in share of the training set for capacity) a measurement must clear its threshold for a
verdict either way; inside it the finding is undecided. Set in issue 27, after the ``book`` run of issue 16 had width
16 end at 88.8% at 800 examples (90.x% on another machine) and the capacity of width 4 move from 144 to 168 pairs."""
_D_CRIT = (f"every cell's final test accuracy moved {ACC_MARGIN * 100:.0f} points either way: +1 where it holds for every "
           "choice, -1 where it fails for every choice, 0 where the choice decides it")
_GRID_POWER = "some width reached the level at the grid's largest size"
_MT_POWER = "addition alone generalised (best test accuracy at the level) at the widths concerned"
FINDINGS = (
    Finding("capacity_grows", "memorisation capacity grows with width", "huang2024unified",
            "memorised random labels from the smallest capacity width to the largest, grown by at least 10% of the "
            "pairs and never falling by more from one width to the next (the smaller slack, as a share of the pairs)",
            "the largest width memorised at least half of its labels", margin=ACC_MARGIN),
    Finding("d_crit_within_grid", "every width has a critical size within the grid", "huang2024unified",
            "the critical size D_crit (the smallest size from which every larger one ends at 90% test accuracy) of "
            "every width lies within the grid: the lowest final test accuracy at the grid's largest size, minus 90%",
            _GRID_POWER, margin=ACC_MARGIN),
    Finding("d_crit_not_increasing", "the critical size does not increase with width", "huang2024unified",
            "D_crit of each width at most that of the next smaller one (a width without one counting as larger), the "
            "largest width having one, with " + _D_CRIT, _GRID_POWER),
    Finding("d_crit_falls", "the critical size falls with width", "huang2024unified",
            "D_crit of the largest width below that of the smallest, and no width's above the next smaller one's (a "
            "width without one counting as larger), with " + _D_CRIT, _GRID_POWER),
    Finding("ungrokking", "a grokked network continued on too little data ungroks", "varma2023explaining",
            "continued on the smallest subset it ends below 50% test accuracy, on the largest at 90% or more (the "
            "smaller slack)", "the parent generalised (final test accuracy at the level)", margin=ACC_MARGIN),
    Finding("ungrok_at_d_crit", "one critical size governs grokking and ungrokking", "varma2023explaining",
            "the ungrokking threshold within a factor 1.5 of the parent width's D_crit, with " + _D_CRIT,
            "the parent generalised, and its width has a critical size in the grid"),
    Finding("ungrok_below_d_crit", "the ungrokking threshold lies below D_crit by more than a factor 1.5 (ours; "
            "against one critical size)", "varma2023explaining",
            "the threshold times 1.5 below the parent width's D_crit, with " + _D_CRIT,
            "the parent generalised, and its width has a critical size in the grid"),
    Finding("memorisation_hinders", "random labels beside addition hinder it at the smallest width", "huang2024unified",
            "the best addition test accuracy alone minus beside random labels (1:1), at least 10 points (the slack)",
            _MT_POWER, margin=ACC_MARGIN),
    Finding("ratio_matters_little", "the amount of random-label data matters little", "huang2024unified",
            "at every width the 1:1 and 2:1 mixtures' best addition test accuracies within 15 points (the smallest "
            "slack)", _MT_POWER, margin=ACC_MARGIN),
    Finding("more_labels_hurt_smallest", "at the smallest width twice the random labels hurt addition, for want of "
            "room (ours; against the ratio mattering little)", "huang2024unified",
            "the 2:1 mixture more than 15 points below the 1:1 one (the slack), where its training accuracy ends below "
            "99% (where it fits, -1)", _MT_POWER, margin=ACC_MARGIN),
    Finding("mixture_at_mirror_share", "beside as many random labels (1:1), addition gets no more than the pairs "
            "commutativity answers, at any width (ours)", "huang2024unified",
            "5 points minus the largest excess, over the widths, of the best 1:1 addition test accuracy over the share "
            "of held-out pairs whose mirror (b, a) is an addition training pair", _MT_POWER, margin=ACC_MARGIN),
)
"""The sources' findings and two of our own that contradict them, each measured on every seed."""
SOURCES = dict(dict.fromkeys((f.name for f in FINDINGS), HOLDS), ungrok_below_d_crit=DOES_NOT_HOLD,
               more_labels_hurt_smallest=DOES_NOT_HOLD, mixture_at_mirror_share=UNDECIDED)
"""What the sources state (the two findings of our own that contradict them: "does not hold"; the mirror reading of
the mixtures, which they do not address, is not declared). The mirror reading is one-sided: in the first run of issue
32 (seed 0) width 16's 1:1 mixture ended at 27.5%, below the share (50.1%), widths 24 and 32 at 51.0% and 50.4%; the
two-sided form ("at the share") failed on width 16 alone, so the finding was restated, after seeing those runs, as
what the issue's reading says: nothing beyond commutativity."""
BOOK_FINDINGS = dict(SOURCES, d_crit_not_increasing=UNDECIDED, d_crit_falls=UNDECIDED, ungrok_at_d_crit=DOES_NOT_HOLD,
                     ungrok_below_d_crit=HOLDS, memorisation_hinders=UNDECIDED, ratio_matters_little=UNDECIDED,
                     more_labels_hurt_smallest=UNDECIDED)
"""What the ``book`` runs show on seeds 0 and 1 (issue 32's closing note; each chapter seed's grid has three seeds).
Decided on both: capacity grows; every width has a critical size within the grid (on every grid seed the lowest
final test accuracy at 800 examples clears 90% by more than the margin); the parent ungroks on 100 examples (23.0% and 32.9%) and keeps 100% on 700; the ungrokking
threshold (265 and 191) lies more than 1.5x below D_crit (500 for width 32 on every grid seed). Undecided: whether
D_crit does not increase, or falls, with width (the grid seeds disagree: 600 / 500 / 500 for widths 16 / 32 / 128 on
one, 500 / 500 / 600 on another), and the four multi-task findings (at seed 1 addition alone reaches only 54% within
6,000 updates, so they are not tested there; at seed 0 the mixtures stay at or below the mirror share)."""
RATIOS = (0.0, 1.0, 2.0)
"""Random-label examples per addition training example in the multi-task runs (0: addition alone)."""

@dataclass(frozen=True)
class CompetitionProfile:
    """What a profile sets: the capacity, grid, ungrokking and multi-task runs, their budgets, and the verdicts it declares.

    Attributes:
        p: the modulus of the capacity, grid and ungrokking runs.
        cap_widths: the capacity runs' widths.
        cap_frac: the share of the pairs the capacity runs train on (random labels).
        cap_steps: the capacity runs' budget.
        widths: the grid's widths.
        sizes: the grid's training-set sizes D.
        steps: the grid's budget (and the parent's).
        parent: the ungrokking parent's width and training-set size.
        subsets: the sizes of the nested subsets the parent continues on.
        ungrok_steps: the ungrokking runs' budget.
        grid_early: a shorter budget at which the grid is also read (issue 16's; half of ``steps`` at ``book``) ...
        ungrok_early: ... and the ungrokking runs (half of ``ungrok_steps``), to show how the budget moves D_crit and
            the ungrokking threshold.
        mt_p: the multi-task runs' modulus.
        mt_widths: the multi-task runs' widths.
        n_add: the multi-task runs' addition examples.
        mt_steps: the multi-task runs' budget.
        n_seeds: seeds of each capacity and multi-task point.
        grid_seeds: seeds of each grid cell (D_crit rests on single cells at the level: 3 at book, issue 27).
        n_logs: logged steps (log-spaced).
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``).
        findings: each finding's name -> the verdict this profile's runs give, which the Checks assert.
    """

    p: int
    cap_widths: tuple[int, ...]
    cap_frac: float
    cap_steps: int
    widths: tuple[int, ...]
    sizes: tuple[int, ...]
    steps: int
    parent: tuple[int, int]
    subsets: tuple[int, ...]
    ungrok_steps: int
    grid_early: int
    ungrok_early: int
    mt_p: int
    mt_widths: tuple[int, ...]
    n_add: int
    mt_steps: int
    n_seeds: int
    grid_seeds: int
    n_logs: int
    mode: str | None
    findings: dict


PROFILES = {
    "smoke": CompetitionProfile(p=11, cap_widths=(4, 8), cap_frac=0.9, cap_steps=40, widths=(8, 16), sizes=(60, 90), steps=40,
                                parent=(8, 90), subsets=(20, 60), ungrok_steps=30, grid_early=20, ungrok_early=15,
                                mt_p=11, mt_widths=(8,), n_add=50, mt_steps=40, n_seeds=1, grid_seeds=1,
                                n_logs=8, mode=None, findings=SOURCES),
    # book: pilot single runs at p = 31 (issue 16, one thread each). From scratch within 4,000 updates, width 32:
    # 3.6% validation at 300 examples, 23% at 400, 57% at 500, 99% by update 2,004 at 600, 711 at 700, 845 at 800
    # (5-22 s a run); width 128: 5.7% at 300, 31% at 400, 99% at 4,000 at 500 (46-70 s a run). Random labels on all
    # 961 pairs within 3,000 updates: width 4 fits 163, width 8 493, widths 16-64 all. A width-32 network grokked at
    # 800, continued 3,000 updates on nested subsets: 26.6% at 100, 81.5% at 200, 100% from 300 on. Multi-task at p = 31
    # with 480 addition examples (2:1 must fit in the 961 pairs): addition alone ended at 44-52% after 6,000 updates at
    # widths 16-64, so nothing could be hindered; at p = 37 with 684 (50%), width 32 alone reached 93%, width 16 57%;
    # so p = 41 (1,681 pairs) with 840, and widths up to 32 (a 2:1 run at width 32 costs about 110 s). Cold, these
    # settings took 10 min 28 s and 9 min 59 s (issue 16; 8 min 22 s before width 24 was added to the multi-task runs).
    # Issue 32: the grid read at 4,000 updates was not converged. Pilot at twice the budget (8,000 updates, seed 0, one
    # thread a run): width 32 at 500 examples 98.0% (57% at 4,000), width 128 at 500 reaches 99% at update 3,935,
    # widths 16 and 64 at 500 end at 45% and 47%, every width reaches 99% at 600; at 400 every width ends below 44%,
    # at 300 (issue 16) below 6% at 4,000. So the grid doubles its budget and adds width 128, drops 300 (far below
    # every D_crit), and is also read at 4,000; the ungrokking runs double theirs (3,000 -> 6,000) and are also read at
    # 3,000. With widths 16-128 x sizes 400-800 x 3 seeds and the multi-task width 24 the chapter took 1,117 s cold
    # (2,177 worker-seconds: grid 1,549, of which width 128 682 and width 64 371; multi-task 451, of which width 24
    # 150; size 700 224 over the widths), so width 64, size 700 and multi-task width 24 were cut: 697 worker-seconds
    "book": CompetitionProfile(p=31, cap_widths=(4, 8, 12, 16), cap_frac=0.9, cap_steps=3_000, widths=(16, 32, 128),
                               sizes=(400, 500, 600, 800), steps=8_000, parent=(32, 800),
                               subsets=(100, 138, 191, 265, 366, 506, 700), ungrok_steps=6_000, grid_early=4_000,
                               ungrok_early=3_000, mt_p=41, mt_widths=(16, 32), n_add=840,
                               mt_steps=6_000, n_seeds=1, grid_seeds=3, n_logs=40, mode="workers_by_size", findings=BOOK_FINDINGS),
    # paper: Huang's grid (d_h = d_model; D 2,000-4,000 by 200) with 3 seeds, capacity on all but one pair in a hundred,
    # Varma's ungrokking sizes (7 geometric in [390, 1494]) from the grid's width-64 network at 4,000 examples, and
    # Huang's 3,000 addition examples; 40,000 updates (Huang's figures show 30k-40k epochs)
    "paper": CompetitionProfile(p=113, cap_widths=(4, 8, 16, 24, 32, 48, 64), cap_frac=0.99, cap_steps=40_000,
                                widths=(32, 36, 40, 44, 48, 56, 64), sizes=tuple(range(2_000, 4_001, 200)), steps=40_000,
                                parent=(64, 4_000), subsets=(390, 487, 608, 760, 949, 1_185, 1_494), ungrok_steps=40_000,
                                grid_early=20_000, ungrok_early=20_000,
                                mt_p=113, mt_widths=(32, 64, 128), n_add=3_000, mt_steps=40_000, n_seeds=3, grid_seeds=3, n_logs=200, mode=None,
                                findings=SOURCES),
}


@dataclass(frozen=True)
class CompetitionSettings:
    """The chapter's runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: seed of each point's first run (the others ``seed + 1``, ...): split, labels, initialisation.
        p: the modulus.
        capacity: ``{width: [run per seed]}``, random labels.
        grid: ``{width: {size: [run per seed]}}``, from scratch, with as many seeds as D_crit needs (3 at ``book``).
        parent: the grokked run the ungrokking runs start from (a grid cell's config, trained to its budget).
        ungrok: ``{subset size: [its run]}``, each continued from ``parent`` (one parent, so one run per subset at
            every profile).
        multitask: ``{width: {ratio: [run per seed]}}`` (``RATIOS``).
        mode: how the sweep engine trains missing runs (``dispatch.MODES``; None: ``dispatch.default_mode``).
        findings: each finding's name -> the verdict this profile's runs give (``book.VERDICTS``), which the Checks
            assert (None: ``grid_seeds`` was turned away from the profile's; the verdicts are printed, not asserted).
        claims: whether this profile asserts the findings (False at ``smoke``).
        zones: the thresholds that name a run's zone; its ``general_acc`` is the level of D_crit and of the ungrokking
            threshold.
        ungrok_low: continued on the smallest subset, a network has *ungrokked* below this test accuracy (50%).
        capacity_margin: the least growth in memorised examples, as a share of the training set (10%).
        d_crit_factor: how far apart the ungrokking threshold and D_crit may be to count as one critical size (1.5x).
        hinder_margin: the least drop in addition accuracy that counts as hindering (10 points).
        ratio_tol: the largest gap between the 1:1 and 2:1 mixtures that counts as mattering little (15 points).
        grid_early: the shorter budget at which the grid is also read (``CompetitionProfile.grid_early``) ...
        ungrok_early: ... and the ungrokking runs.
        mirror_tol: how far above the share of mirrored held-out pairs a mixture's addition accuracy may reach and
            still count as commutativity alone (5 points, as in the interventions chapter).
    """

    profile: str
    device: str | None
    seed: int
    p: int
    capacity: dict
    grid: dict
    parent: RunConfig
    ungrok: dict
    multitask: dict
    mode: str | None
    findings: dict | None
    claims: bool
    zones: Zones = Zones()
    ungrok_low: float = 0.5
    capacity_margin: float = 0.1
    d_crit_factor: float = 1.5
    hinder_margin: float = 0.1
    ratio_tol: float = 0.15
    grid_early: int = 0
    ungrok_early: int = 0
    mirror_tol: float = 0.05

    data_files = ()

    @property
    def level(self) -> float:
        """The test accuracy that counts as generalised (``zones.general_acc``)."""
        return self.zones.general_acc

    def runs(self) -> dict[str, RunConfig]:
        """Every run by its label (``run_label``), the parent first."""
        out = {"parent": self.parent}
        out.update({run_label("capacity", w, k=k): c for w, cfgs in self.capacity.items() for k, c in enumerate(cfgs)})
        out.update({run_label("grid", w, n, k): c for w, sizes in self.grid.items() for n, cfgs in sizes.items()
                    for k, c in enumerate(cfgs)})
        out.update({run_label("ungrok", n=n, k=k): c for n, cfgs in self.ungrok.items() for k, c in enumerate(cfgs)})
        out.update({run_label("multitask", w, r, k): c for w, ratios in self.multitask.items()
                    for r, cfgs in ratios.items() for k, c in enumerate(cfgs)})
        return out

    def example(self, part: str) -> RunConfig:
        """The first run of ``part`` (``"capacity"``, ``"grid"``, ``"ungrok"``, ``"multitask"``): the settings the
        part's runs share (its budget, its task's p) are read off it."""
        points = getattr(self, part)
        while isinstance(points, dict):
            points = _first(points)
        return points[0]

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        cap, cell, kid, mt = (self.example(part) for part in ("capacity", "grid", "ungrok", "multitask"))
        return [f"a + b mod {self.p} ({self.p ** 2:,} pairs); 1-layer transformer, d_model = width, full-batch AdamW "
                f"lr 1e-3, weight decay 1; seeds per point: {len(_first(self.capacity))}, per grid cell: "
                f"{len(_first(_first(self.grid)))}",
                f"capacity: random labels on {cap.task.n_train:,} pairs, widths {_join(self.capacity)}, "
                f"{cap.train.steps:,} updates",
                f"grid: widths {_join(self.grid)} x sizes {_join(self.grid[min(self.grid)])}, {cell.train.steps:,} "
                "updates",
                f"ungrokking: from width {self.parent.model.d_model} at {self.parent.task.n_train:,} examples, subsets "
                f"{_join(self.ungrok)}, {kid.train.steps:,} more updates each",
                f"multi-task: mod {mt.task.p}, {mt.task.n_add:,} addition examples plus random labels at ratios "
                f"{', '.join('0 (alone)' if r == 0 else f'{r:g}:1' for r in RATIOS)}, widths {_join(self.multitask)}, "
                f"{mt.train.steps:,} updates"]


def _first(mapping: dict):
    return next(iter(mapping.values()))


def _join(mapping) -> str:
    return ", ".join(f"{key:,}" if isinstance(key, int) else f"{key:g}" for key in mapping)


def run_label(part: str, w: int | None = None, n: float | None = None, k: int = 0) -> str:
    """A run's label: its part, width, size or ratio, and (after the first) its seed index."""
    bits = [part] + ([f"width {w}"] if w is not None else [])
    if part == "multitask":
        bits += [] if n is None else ["addition alone" if n == 0 else f"ratio {n:g}:1"]
    else:
        bits += [] if n is None else [f"{n:,} examples"]
    return ", ".join(bits + ([f"seed {k}"] if k else []))


def frac_for(n: int, total: int) -> float:
    """The ``frac_train`` that gives exactly ``n`` of ``total`` examples (``int(frac * total) == n``)."""
    return (n + 0.5) / total


def settings(profile: str | None = None, grid_seeds: int | None = None, seed: int = 0,
             device: str | None = None) -> CompetitionSettings:
    """The chapter's runs at ``profile`` (the notebook's parameters); ``grid_seeds`` replaces the seeds of each grid
    cell (None: the profile's), and then the profile's declared verdicts do not apply."""
    profile = resolve_profile(profile)
    check_int("grid_seeds", grid_seeds, 1, 20, none_ok=True)
    pre, turned = turn(PROFILES[profile], grid_seeds=grid_seeds)
    check_seed(seed, max(pre.n_seeds, pre.grid_seeds))
    resolve_device(device)
    seeds = [seed + k for k in range(pre.n_seeds)]
    capacity = {w: [_run(pre, RandomLabelConfig(p=pre.p, frac_train=pre.cap_frac, seed=s, label_seed=s), w, s,
                         pre.cap_steps, stop=False) for s in seeds] for w in pre.cap_widths}
    grid_seeds = [seed + k for k in range(pre.grid_seeds)]
    grid = {w: {n: [_run(pre, _addition(pre, n, s), w, s, pre.steps) for s in grid_seeds] for n in pre.sizes}
            for w in pre.widths}
    w_parent, n_parent = pre.parent
    parent = _run(pre, _addition(pre, n_parent, seed), w_parent, seed, pre.steps, stop=False)
    ungrok = {n: [_child(pre, parent, n)] for n in pre.subsets}
    multitask = {w: {r: [_run(pre, MultiTaskConfig(p=pre.mt_p, frac_train=frac_for(pre.n_add, pre.mt_p ** 2),
                                                   mem_ratio=r, seed=s, label_seed=s), w, s, pre.mt_steps)
                         for s in seeds] for r in RATIOS} for w in pre.mt_widths}
    return CompetitionSettings(profile, device, seed, pre.p, capacity, grid, parent, ungrok, multitask, pre.mode,
                               None if turned else pre.findings, claims=asserts_findings(profile),
                               grid_early=pre.grid_early, ungrok_early=pre.ungrok_early)


def _addition(pre: CompetitionProfile, n: int, seed: int, **fields) -> ModularConfig:
    return ModularConfig(op="add", p=pre.p, frac_train=frac_for(n, pre.p ** 2), seed=seed, **fields)


def _run(pre: CompetitionProfile, task, width: int, seed: int, steps: int, stop: bool = True) -> RunConfig:
    """Nanda et al.'s recipe at ``width`` on ``task``; runs that ``stop`` end at 99% validation accuracy."""
    model = nanda_model(task, seed, d_model=width, n_heads=4, d_head=max(1, width // 4), d_mlp=4 * width)
    train = TrainConfig(steps=steps, **nanda_adamw(), loss="cross_entropy_f64", n_logs=pre.n_logs,
                        log_spacing="log", stop_at_val_acc=0.99 if stop else None, seed=seed)
    return RunConfig(task, model, train)


def _child(pre: CompetitionProfile, parent: RunConfig, n: int) -> RunConfig:
    """``parent`` trained on from its final weights, on its first ``n`` training pairs, tested on its held-out pairs."""
    task = _addition(pre, n, parent.task.seed, held_out_from=parent.task.n_train)
    train = dataclasses.replace(parent.train, steps=pre.ungrok_steps)
    return RunConfig(task, parent.model, train, init_from=parent)




def _mean(values) -> float:
    return statistics.fmean(values)


def _cell(histories: list[History], zones: Zones) -> dict:
    """A grid cell from its seeds' runs: mean final and best test accuracy, the most common zone, the median delay
    (None unless every seed generalised)."""
    delays = [delay(h, zones) for h in histories]
    return {"final": _mean(h.val_acc[-1].item() for h in histories),
            "best": _mean(h.val_acc.max().item() for h in histories),
            "zone": Counter(classify(h, zones) for h in histories).most_common(1)[0][0],
            "delay": None if None in delays else int(statistics.median(delays))}


def measure(histories: dict[str, History], s: CompetitionSettings) -> dict:
    """The chapter's numbers: ``capacity`` (width -> memorised), ``grid`` (width -> size -> ``_cell``), ``d_crit``
    (width -> size or None), ``parent`` (its final test accuracy), ``ungrok`` (size -> final test accuracy),
    ``ungrok_threshold``, ``multitask`` (width -> ratio -> best test accuracy), ``multitask_train`` (the same, final
    training accuracy on the mixture) and ``finite``."""
    def runs_of(part, points, key):
        return [histories[run_label(part, *key, k=k)] for k in range(len(points))]
    grid = {w: {n: _cell(runs_of("grid", cfgs, (w, n)), s.zones) for n, cfgs in sizes.items()}
            for w, sizes in s.grid.items()}
    ungrok = {n: _mean(h.val_acc[-1].item() for h in runs_of("ungrok", cfgs, (None, n))) for n, cfgs in s.ungrok.items()}
    multitask = {w: {r: runs_of("multitask", cfgs, (w, r)) for r, cfgs in ratios.items()}
                 for w, ratios in s.multitask.items()}
    early = {w: {n: _mean(accuracy_near(h, s.grid_early) for h in runs_of("grid", cfgs, (w, n)))
                 for n, cfgs in sizes.items()} for w, sizes in s.grid.items()}
    ungrok_early = {n: _mean(accuracy_near(h, s.ungrok_early) for h in runs_of("ungrok", cfgs, (None, n)))
                    for n, cfgs in s.ungrok.items()}
    return {"capacity": {w: _mean(memorised(h) for h in runs_of("capacity", cfgs, (w,))) for w, cfgs in s.capacity.items()},
            "grid_early": early,
            "d_crit_early": {w: critical_size(cells, s.level) for w, cells in early.items()},
            "ungrok_early": ungrok_early, "ungrok_threshold_early": critical_size(ungrok_early, s.level),
            "mirror": {r: _mean(mirror_shares(s, r)) for r in RATIOS},
            "n_capacity": s.example("capacity").task.n_train,
            "grid": grid,
            "d_crit": {w: critical_size({n: c["final"] for n, c in cells.items()}, s.level) for w, cells in grid.items()},
            "parent": histories["parent"].val_acc[-1].item(),
            "ungrok": ungrok, "ungrok_threshold": critical_size(ungrok, s.level),
            "multitask": {w: {r: _mean(h.val_acc.max().item() for h in hs) for r, hs in ratios.items()}
                          for w, ratios in multitask.items()},
            "multitask_train": {w: {r: _mean(h.train_acc[-1].item() for h in hs) for r, hs in ratios.items()}
                                for w, ratios in multitask.items()},
            "finite": all(h.is_finite() for h in histories.values()),
            "by_seed": [seed_numbers(histories, s, k) for k in range(len(_first(_first(s.grid))))]}


def mirror_shares(s: CompetitionSettings, ratio: float) -> list[float]:
    """Per seed, the share of the multi-task runs' held-out addition pairs whose mirror is an addition training pair
    at ``ratio`` (the same at every width: one split per seed)."""
    return [mirror_share(cfg.task.build(), operands=(0, 2)) for cfg in _first(s.multitask)[ratio]]


def seed_numbers(histories: dict[str, History], s: CompetitionSettings, k: int) -> dict:
    """Seed ``k``'s numbers, the findings' evidence: ``finals`` (width -> size -> final test accuracy), ``ungrok`` (size
    -> final test accuracy: one parent, so every seed's) and ``parent``; where the capacity and multi-task runs have a
    seed ``k`` too, ``capacity`` (width -> memorised), ``multitask`` (width -> ratio -> best test accuracy) and
    ``multitask_train`` (final training accuracy)."""
    def last(label, metric="val_acc"):
        return getattr(histories[label], metric)[-1].item()
    out = {"finals": {w: {n: last(run_label("grid", w, n, k)) for n in sizes} for w, sizes in s.grid.items()},
           "ungrok": {n: last(run_label("ungrok", n=n)) for n in s.ungrok}, "parent": last("parent")}
    if k < len(_first(s.capacity)):
        mt = {w: {r: histories[run_label("multitask", w, r, k)] for r in ratios} for w, ratios in s.multitask.items()}
        out.update(capacity={w: memorised(histories[run_label("capacity", w, k=k)]) for w in s.capacity},
                   multitask={w: {r: h.val_acc.max().item() for r, h in hs.items()} for w, hs in mt.items()},
                   multitask_train={w: {r: h.train_acc[-1].item() for r, h in hs.items()} for w, hs in mt.items()},
                   mirror=mirror_shares(s, 1.0)[k])
    return out


def _robust(holds, options: dict) -> float:
    """+1 where ``holds`` is true for every choice among each key's ``options``, -1 where it is true for none, 0 where
    the choice decides it (the measurement lies inside the margin)."""
    keys = list(options)
    outcomes = {bool(holds(dict(zip(keys, combo)))) for combo in itertools.product(*(options[k] for k in keys))}
    return 1.0 if outcomes == {True} else -1.0 if outcomes == {False} else 0.0


def _crit_options(finals: dict[int, float], level: float, margin: float) -> tuple[int | None, int | None]:
    """A critical size with every accuracy moved up by ``margin``, and down by it."""
    return (critical_size({n: a + margin for n, a in finals.items()}, level),
            critical_size({n: a - margin for n, a in finals.items()}, level))


def _not_increasing(crit: dict) -> bool:
    sizes = [crit[w] for w in sorted(crit)]
    return sizes[-1] is not None and all(_size(b) <= _size(a) for a, b in zip(sizes, sizes[1:]))


def _falls(crit: dict) -> bool:
    sizes = [crit[w] for w in sorted(crit)]
    return _not_increasing(crit) and _size(sizes[-1]) < _size(sizes[0])


def _grid_evidence(x: dict, s: CompetitionSettings, label: str) -> dict[str, Evidence]:
    """One grid seed's measurement of the critical-size and ungrokking findings (``x`` from ``seed_numbers``)."""
    level, f = s.level, s.d_crit_factor
    crit = {w: _crit_options(finals, level, ACC_MARGIN) for w, finals in x["finals"].items()}
    w_parent, parent_ok = s.parent.model.d_model, x["parent"] >= level
    pair = {"t": _crit_options(x["ungrok"], level, ACC_MARGIN), "d": crit[w_parent]}
    pair_powered, pair_why = parent_ok and crit[w_parent][0] is not None, ("the parent did not generalise, or its "
                                                                            "width has no critical size in the grid")
    grid_powered, grid_why = (any(finals[max(finals)] >= level for finals in x["finals"].values()),
                              "no width reached the level at the grid's largest size")
    crit_text = fmt_sizes({w: critical_size(finals, level) for w, finals in x["finals"].items()})
    pair_text = (f"threshold {fmt_size(critical_size(x['ungrok'], level))}, "
                 f"D_crit {fmt_size(critical_size(x['finals'][w_parent], level))}")
    lowest, ungrok = min(finals[max(finals)] for finals in x["finals"].values()), x["ungrok"]
    return {
        "d_crit_within_grid": Evidence(lowest - level, crit_text, grid_powered, grid_why, label),
        "d_crit_not_increasing": Evidence(_robust(_not_increasing, crit), crit_text, grid_powered, grid_why, label),
        "d_crit_falls": Evidence(_robust(_falls, crit), crit_text, grid_powered, grid_why, label),
        "ungrokking": Evidence(min(s.ungrok_low - ungrok[min(ungrok)], ungrok[max(ungrok)] - level) if parent_ok
                               else None, fmt_accs(ungrok), parent_ok, f"the parent ended at {x['parent']:.1%}", label),
        "ungrok_at_d_crit": Evidence(_robust(lambda c: None not in c.values() and max(c.values()) <= f * min(c.values()),
                                             pair) if parent_ok else None, pair_text, pair_powered, pair_why, label),
        "ungrok_below_d_crit": Evidence(_robust(lambda c: None not in c.values() and f * c["t"] < c["d"], pair)
                                        if parent_ok else None, pair_text, pair_powered, pair_why, label),
    }


def _point_evidence(x: dict, s: CompetitionSettings, label: str) -> dict[str, Evidence]:
    """One seed's measurement of the capacity and multi-task findings (``x`` from ``seed_numbers``)."""
    cap, n_cap = list(x["capacity"].values()), s.example("capacity").task.n_train
    mt, smallest = x["multitask"], min(x["multitask"])
    alone, small = [ratios[0.0] >= s.level for ratios in mt.values()], mt[smallest]
    alone_why = f"addition alone reached {small[0.0]:.1%} at width {smallest}"
    slack_cap = min([cap[-1] - cap[0] - s.capacity_margin * n_cap] + [b - a + s.capacity_margin * n_cap
                                                                        for a, b in zip(cap, cap[1:])]) / n_cap
    fits_2_1 = x["multitask_train"][smallest][2.0] >= s.zones.fit_acc
    excess = max(r[1.0] - x["mirror"] for r in mt.values())
    return {
        "capacity_grows": Evidence(slack_cap, fmt_counts(x["capacity"]), cap[-1] >= 0.5 * n_cap,
                                   f"the largest width memorised {cap[-1]:,.0f} of {n_cap:,} labels", label),
        "memorisation_hinders": Evidence(small[0.0] - small[1.0] - s.hinder_margin if alone[0] else None,
                                         fmt_ratios(small), alone[0], alone_why, label),
        "ratio_matters_little": Evidence(min(s.ratio_tol - abs(r[1.0] - r[2.0]) for r in mt.values()) if all(alone)
                                         else None, "; ".join(f"width {w}: {fmt_ratios(r)}" for w, r in mt.items()),
                                         all(alone), "addition alone did not generalise at every width", label),
        "more_labels_hurt_smallest": Evidence(
            (-1.0 if fits_2_1 else small[1.0] - small[2.0] - s.ratio_tol) if alone[0] else None,
            f"test {fmt_ratios(small)}; training {fmt_ratios(x['multitask_train'][smallest])}", alone[0], alone_why,
            label),
        "mixture_at_mirror_share": Evidence(s.mirror_tol - excess if all(alone) else None,
                                            f"1:1 best {', '.join(f'{r[1.0]:.1%}' for r in mt.values())} against a "
                                            f"mirror share of {x['mirror']:.1%}", all(alone),
                                            "addition alone did not generalise at every width", label),
    }


def evidence(r: dict, s: CompetitionSettings) -> dict[str, list[Evidence]]:
    """Each finding's measurement on every seed it was measured on (``r["by_seed"]``, from ``measure``): the grid's
    findings on each grid seed, the others on each seed of their points."""
    out: dict[str, list[Evidence]] = {f.name: [] for f in FINDINGS}
    for k, x in enumerate(r["by_seed"]):
        label = f"seed {s.seed + k}"
        found = {**_grid_evidence(x, s, label), **(_point_evidence(x, s, label) if "capacity" in x else {})}
        for name, e in found.items():
            if name != "ungrokking" or k == 0:  # one parent: the ungrokking runs are the same for every grid seed
                out[name].append(e)
    return out


def judged(r: dict, s: CompetitionSettings) -> list:
    """Every finding's verdict on ``r`` (``book.judge``)."""
    return judge_all(FINDINGS, evidence(r, s))


def parent_d_crit(r: dict, s: CompetitionSettings) -> int | None:
    """The critical size of the parent's width in ``r`` (None: above the grid)."""
    return r["d_crit"].get(s.parent.model.d_model)


def _size(n: int | None) -> float:
    """A critical size, "above the grid" (None) counting as larger than any."""
    return math.inf if n is None else n


def check(results: dict, s: CompetitionSettings) -> list:
    """Assert the chapter's claims on ``results`` (from ``measure``): the mechanics, and each finding's verdict as
    ``s.findings`` declares it; print each with its measured value."""
    r, checks = results, Checks(s.claims)
    checks.expect("every logged metric of every run is finite", r["finite"], r["finite"])
    if s.claims:
        checks.findings(judged(r, s), s.findings)
    return checks.report()


def fmt_size(n: int | None) -> str:
    """A size, or "above the grid" for None."""
    return "above the grid" if n is None else f"{n:,}"


def fmt_sizes(by_width: dict[int, int | None]) -> str:
    """``"width 16: 600, width 32: 500"``."""
    return ", ".join(f"width {w}: {fmt_size(n)}" for w, n in by_width.items())


def fmt_counts(by_width: dict[int, float]) -> str:
    """``"width 4: 163, width 8: 493"``."""
    return ", ".join(f"width {w}: {n:,.0f}" for w, n in by_width.items())


def fmt_accs(by_size: dict[int, float]) -> str:
    """``"100: 26.6%, 200: 81.5%"``."""
    return ", ".join(f"{n:,}: {acc:.1%}" for n, acc in by_size.items())


def fmt_ratios(by_ratio: dict[float, float]) -> str:
    """``"alone 99.0%, 1:1 40.2%, 2:1 35.0%"``."""
    return ", ".join(f"{'alone' if r == 0 else f'{r:g}:1'} {acc:.1%}" for r, acc in by_ratio.items())


def zone_table(r: dict) -> tuple[list[str], list[list[str]]]:
    """A header and rows for ``book.text_table``: per width, each size's zone, final test accuracy and delay."""
    sizes = list(_first(r["grid"]))
    rows = [[f"width {w}", *(f"{c['zone']}, {c['final']:.0%}" + ("" if c["delay"] is None else f", +{c['delay']:,}")
                             for c in cells.values()), fmt_size(r["d_crit"][w])] for w, cells in r["grid"].items()]
    return ["", *(f"{n:,}" for n in sizes), "D_crit"], rows


def d_crit_scaling(r: dict, p: int) -> str:
    """D_crit per width as a share of the ``p * p`` pairs: ``"width 16: 62%, ..."``."""
    return ", ".join(f"width {w}: {'above the grid' if n is None else f'{n / p ** 2:.0%}'}" for w, n in r["d_crit"].items())


def glued(r: dict, s: CompetitionSettings) -> dict[str, str]:
    """The chapter's numbers as the prose quotes them (``book.glue`` each)."""
    mt, grid = r["multitask"], r["grid"]
    zones = Counter(c["zone"] for cells in grid.values() for c in cells.values())
    cap_cfg, cell, kid, mt_cfg = (s.example(part) for part in ("capacity", "grid", "ungrok", "multitask"))
    sizes, crit = list(_first(s.grid)), parent_d_crit(r, s)
    out = {"p": str(s.p), "n_pairs": f"{s.p ** 2:,}", "level": f"{s.level:.0%}",
           "acc_margin": f"{ACC_MARGIN * 100:.0f} points", "grid_seeds": str(len(_first(_first(s.grid)))),
           "d_crit_by_seed": "; ".join(f"seed {s.seed + k}: " + fmt_sizes({w: critical_size(f, s.level)
                                                                           for w, f in x["finals"].items()})
                                       for k, x in enumerate(r["by_seed"])),
           "capacity": fmt_counts(r["capacity"]), "n_capacity": f"{r['n_capacity']:,}",
           "cap_steps": f"{cap_cfg.train.steps:,}", "cap_widths": _join(s.capacity),
           "grid_widths": _join(s.grid), "grid_sizes": _join(sizes), "grid_steps": f"{cell.train.steps:,}",
           "d_crit_by_width": fmt_sizes(r["d_crit"]), "d_crit_share": d_crit_scaling(r, s.p),
           "zone_counts": ", ".join(f"{z} {zones[z]}" for z in ZONES if zones[z]),
           "parent_width": str(s.parent.model.d_model), "parent_size": f"{s.parent.task.n_train:,}",
           "parent_acc": f"{r['parent']:.1%}", "parent_steps": f"{s.parent.train.steps:,}",
           "ungrok_sizes": _join(s.ungrok), "ungrok_steps": f"{kid.train.steps:,}",
           "ungrok_accs": fmt_accs(r["ungrok"]), "ungrok_threshold": fmt_size(r["ungrok_threshold"]),
           "ungrok_parent_d_crit": fmt_size(crit),
           "n_add": f"{mt_cfg.task.n_add:,}", "mt_p": str(mt_cfg.task.p), "mt_pairs": f"{mt_cfg.task.p ** 2:,}",
           "mt_steps": f"{mt_cfg.train.steps:,}", "mt_widths": _join(s.multitask),
           "multitask": "; ".join(f"width {w}: {fmt_ratios(x)}" for w, x in mt.items()),
           "multitask_train": "; ".join(f"width {w}: {fmt_ratios(x)}" for w, x in r["multitask_train"].items()),
           "grid_finals": "; ".join(f"width {w}: " + ", ".join(f"{n:,}: {c['final']:.1%}" for n, c in cells.items())
                                    for w, cells in grid.items()),
           "fit_acc": f"{s.zones.fit_acc:.0%}", "floor_acc": f"{s.zones.floor_acc:.0%}",
           "delay_factor": f"{s.zones.delay_factor:g}", "ungrok_low": f"{s.ungrok_low:.0%}",
           "capacity_margin": f"{s.capacity_margin:.0%}", "d_crit_factor": f"{s.d_crit_factor:g}",
           "cap_held_out": f"{s.p ** 2 - r['n_capacity']:,}",
           "grid_step": fmt_size(min((b - a for a, b in zip(sizes, sizes[1:])), default=None)),
           "mt_share": f"{mt_cfg.task.n_add / mt_cfg.task.p ** 2:.0%}",
           "hinder_margin": f"{s.hinder_margin * 100:.0f} points", "ratio_tol": f"{s.ratio_tol * 100:.0f} points",
           "mt_gap": "; ".join(f"width {w}: {abs(x[1.0] - x[2.0]) * 100:.0f} points" for w, x in mt.items()),
           "ungrok_ratio": fmt_ratio(r["ungrok_threshold"], crit)}
    out.update(early_glue(r, s))
    return {**out, **verdict_glue(judged(r, s))}


def logged_near(cfg: RunConfig, step: int) -> int:
    """The logged step of ``cfg`` nearest to ``step`` (where ``accuracy_near`` reads a run that did not stop)."""
    return min(cfg.train.log_steps(), key=lambda x: abs(x - step))


def early_glue(r: dict, s: CompetitionSettings) -> dict[str, str]:
    """The shorter budget's numbers (``grid_early``, ``ungrok_early``) beside the full budget's, the reading of how the
    budget moves the ungrokking threshold and D_crit, and the 1:1 mixture's mirror share."""
    crit, early_crit = parent_d_crit(r, s), r["d_crit_early"].get(s.parent.model.d_model)
    threshold, early_threshold = r["ungrok_threshold"], r["ungrok_threshold_early"]
    return {"grid_early": f"{s.grid_early:,}", "grid_early_logged": f"{logged_near(s.example('grid'), s.grid_early):,}",
            "ungrok_early": f"{s.ungrok_early:,}",
            "ungrok_early_logged": f"{logged_near(s.example('ungrok'), s.ungrok_early):,}",
            "d_crit_early_by_width": fmt_sizes(r["d_crit_early"]), "ungrok_accs_early": fmt_accs(r["ungrok_early"]),
            "ungrok_threshold_early": fmt_size(early_threshold), "ungrok_parent_d_crit_early": fmt_size(early_crit),
            "budget_reading": budget_reading(early_threshold, threshold, early_crit, crit),
            "ungrok_ratio_early": fmt_ratio(early_threshold, early_crit), "mirror_1_1": f"{r['mirror'][1.0]:.1%}"}


def fmt_ratio(threshold: int | None, crit: int | None) -> str:
    """D_crit over the ungrokking threshold, ``"1.9"``, or "n/a" where either lies above the grid."""
    return "n/a" if None in (threshold, crit) else f"{crit / threshold:.1f}"


def budget_reading(early_threshold: int | None, threshold: int | None, early_crit: int | None,
                   crit: int | None) -> str:
    """How twice the budget moved the ungrokking threshold and the parent width's D_crit, as a sentence: where the
    ratio of D_crit to the threshold fell, the gap between them closed, and that part of it was the budget's (a size
    above the grid counting as infinite)."""
    def moved(name: str, before: int | None, after: int | None) -> str:
        change = "stayed at" if _size(after) == _size(before) else "rose to" if _size(after) > _size(before) else "fell to"
        return f"{name} {change} {fmt_size(after)}"
    def gap(t: int | None, d: int | None) -> float:
        return _size(d) / _size(t) if None not in (t, d) else math.inf
    closed = gap(threshold, crit) < gap(early_threshold, early_crit)
    return (f"with twice the budget {moved('the ungrokking threshold', early_threshold, threshold)} and "
            f"{moved('D_crit', early_crit, crit)}: " +
            ("the gap between them closed, so part of it was the budget's" if closed else
             "the gap between them did not close, so it is not the budget's"))


def curves(r: dict) -> dict:
    """The multi-task results for ``plots.competition.plot_multitask``: ratio -> [(width, best test accuracy)]."""
    return {ratio: [(w, ratios[ratio]) for w, ratios in r["multitask"].items()] for ratio in RATIOS}


def zone_grid(r: dict) -> tuple[list[int], list[int], list[list[float]], list[list[str]], list[list[int | None]]]:
    """The grid for ``plots.competition.plot_zone_map``: widths, sizes, final test accuracy, zone and delay per cell."""
    widths, sizes = list(r["grid"]), list(_first(r["grid"]))
    cells = [[r["grid"][w][n] for n in sizes] for w in widths]
    return (widths, sizes, [[c["final"] for c in row] for row in cells], [[c["zone"] for c in row] for row in cells],
            [[c["delay"] for c in row] for row in cells])

