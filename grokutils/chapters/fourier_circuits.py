"""The chapter ``book/fourier_circuits.ipynb`` (Nanda et al. 2023): its settings, its numbers and its Checks.

``paper`` is the paper's mainline run: a+b mod 113, 30% of the pairs for training, a 1-layer
transformer (d_model 128, 4 heads of 32, d_mlp 512, ReLU, no LayerNorm), full-batch AdamW (lr 1e-3,
weight decay 1, betas 0.9/0.98), the loss's log-softmax in float64, 40,000 epochs, a checkpoint every
100, over 3 seeds. ``book`` is the same setting stopped at 18,000 epochs, one seed: the paper's three
phases are over by epoch 14,000. Both add two short spike controls: the same run with the loss in
float32, and in float32 with Adam's eps raised to 1e-5 (Thilak et al. 2022), over the first
``control_steps`` epochs. ``smoke`` is a tiny model on p = 23 for a few hundred epochs, for tests: it
cannot grok, so its Checks assert only the mechanics and the published model.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import torch

from grokutils.analysis import fourier
from grokutils.book import Checks, asserts_findings, check_seed, resolve_profile
from grokutils.config import RunConfig, check_float, check_int, resolve_device
from grokutils.history import History
from grokutils.published import P as PUBLISHED_P
from grokutils.published import PUBLISHED_FILE, Published
from grokutils.recipes import nanda_run
from grokutils.train import evaluate

# The paper's mainline numbers (Nanda et al. 2023, Sections 4-5), shown beside ours, never used in the analysis.
PAPER = {"key_freqs": (14, 35, 41, 42, 52), "memorisation_end": 1400, "circuit_formation_end": 9400,
         "cleanup_end": 14000, "epochs": 40000}
PHASES = ("memorisation_end", "circuit_formation_end", "cleanup_end")
MAIN = "float64 loss (the run)"
MAIN_FULL = "float64 loss (the run), all epochs"
CONTROLS = ("float32 loss", "float32 loss, Adam eps 1e-5")
"""The spike controls: the run with the float32 loss, and with the float32 loss and Adam's eps at 1e-5."""

_PROFILES = {
    # p, epochs, checkpoint_every, log_every (metrics), control_steps (spike controls' window), n_seeds
    # (default seeds), model widths, snapshots in the static figure
    "smoke": dict(p=23, steps=300, checkpoint_every=30, log_every=10, control_steps=60, n_seeds=1, n_snapshots=4,
                  widths=dict(d_model=32, n_heads=4, d_head=8, d_mlp=64)),
    "book": dict(p=113, steps=18_000, checkpoint_every=100, log_every=10, control_steps=3_000, n_seeds=1,
                 n_snapshots=8, widths=dict(d_model=128, n_heads=4, d_head=32, d_mlp=512)),
    "paper": dict(p=113, steps=40_000, checkpoint_every=100, log_every=10, control_steps=40_000, n_seeds=3,
                  n_snapshots=8, widths=dict(d_model=128, n_heads=4, d_head=32, d_mlp=512)),
}


@dataclass(frozen=True)
class FourierSettings:
    """The chapter's runs and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: seed of the split and the initialisation (training is full batch).
        run: the training run (task, model, optimiser; metrics every ``log_every`` epochs, checkpoints
            every ``checkpoint_every``).
        claims: whether this profile asserts the chapter's findings (False at ``smoke``, which
            cannot grok: then only the mechanics and the published model are checked).
        controls: the spike controls ``{name: run}`` (``CONTROLS``), the run's first ``control_steps``
            epochs with the loss in float32, and with it and Adam's eps 1e-5; no checkpoints.
        seed_runs: the run at the further seeds ``seed + 1, ...`` (empty when one seed is asked for).
        max_key_freqs: the key frequencies are the largest of ``W_L``'s spectrum down to its largest
            drop among the strongest ``max_key_freqs + 1``.
        key_power: Checks: the key frequencies carry at least this share of the non-constant power of
            ``W_L`` and of ``W_E``.
        neuron_threshold: a neuron counts as explained by a frequency that explains at least this
            share of its variance over (a, b).
        logit_fraction: count the 2D Fourier components of the logits that carry this share of their
            squared norm.
        phase_level: phase boundaries: share of the log test-loss drop that counts as "still on the
            plateau" / "already at the end" (see ``fourier.phase_boundaries``).
        excluded_rise: Checks: during the plateau the excluded loss rises to at least this many times
            its value at the end of memorisation; and removing any one key frequency raises the final
            training loss at least this many times.
        restricted_drop: Checks: during the plateau the restricted loss falls to at most this share
            of its value at the end of memorisation.
        min_test_acc: Checks: final test accuracy, and final restricted accuracy, at least this.
        max_excluded_acc: Checks: final excluded accuracy (training pairs) at most this.
        published_min_test_acc: Checks (every profile): the authors' model's test accuracy.
        phase_factor: Checks: each phase boundary lies within this factor of the paper's epoch (a bound
            beyond the run's budget is not asserted: it cannot fail).
        spike_factor: a training-loss spike is a rise to at least this many times the lowest loss of
            the ``spike_window`` logged steps before it (``fourier.count_spikes``).
        spike_window: see ``spike_factor``.
        spike_floor: losses below this count as this when spikes are counted: float32's resolution
            (2^-23, about 1.2e-7), below which a float32 loss is rounding.
        spiking: Checks: the runs (``MAIN`` and ``CONTROLS``) that show at least one spike in the
            controls' window; the others show none.
        n_snapshots: checkpoints shown in the static small-multiples figure.
    """

    profile: str
    device: str | None
    seed: int
    run: RunConfig
    claims: bool
    controls: dict = field(default_factory=dict)
    seed_runs: tuple = ()
    max_key_freqs: int = 8
    key_power: float = 0.8
    neuron_threshold: float = 0.85
    logit_fraction: float = 0.95
    phase_level: float = 0.1
    excluded_rise: float = 10.0
    restricted_drop: float = 0.5
    min_test_acc: float = 0.99
    max_excluded_acc: float = 0.5
    published_min_test_acc: float = 1.0
    phase_factor: float = 2.0
    spike_factor: float = 100.0
    spike_window: int = 20
    spike_floor: float = 2.0**-23
    spiking: tuple = (CONTROLS[0],)
    n_snapshots: int = 8

    data_files = (PUBLISHED_FILE,)

    def __post_init__(self):
        for name in ("key_power", "neuron_threshold", "logit_fraction", "phase_level", "restricted_drop"):
            check_float(name, getattr(self, name), 0, 1, open_low=True, open_high=True)
        for name in ("min_test_acc", "published_min_test_acc", "max_excluded_acc"):
            check_float(name, getattr(self, name), 0, 1, open_low=True)
        check_int("max_key_freqs", self.max_key_freqs, 1)
        check_int("n_snapshots", self.n_snapshots, 2)
        check_int("spike_window", self.spike_window, 1)
        check_float("excluded_rise", self.excluded_rise, 1)
        check_float("phase_factor", self.phase_factor, 1)
        check_float("spike_factor", self.spike_factor, 1, open_low=True)
        check_float("spike_floor", self.spike_floor, 0)
        for name in self.spiking:
            if name not in (MAIN, *CONTROLS):
                raise ValueError(f"spiking={self.spiking!r}: {name!r} is not a run; allowed values: {(MAIN, *CONTROLS)}")
        if not self.run.train.checkpoint_every:
            raise ValueError("run.train.checkpoint_every must be set: the progress measures read checkpoints")

    @property
    def p(self) -> int:
        """The modulus."""
        return self.run.task.p

    @property
    def control_steps(self) -> int:
        """The epochs the spike controls cover (the run's first ones); 0 without controls."""
        return max((c.train.steps for c in self.controls.values()), default=0)

    @property
    def spike_window_epochs(self) -> int:
        """``spike_window`` in epochs (logged steps are evenly spaced)."""
        logged = self.run.train.log_steps()
        return self.spike_window * (logged[1] - logged[0])

    @property
    def seeds(self) -> list[int]:
        """Every seed the chapter trains: ``seed`` and those of ``seed_runs``."""
        return [self.seed] + [r.model.seed for r in self.seed_runs]

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        task, train = self.run.task, self.run.train
        return [f"task: a + b mod {task.p}, {task.n_train:,} of {task.n_equations:,} pairs for training",
                f"training: {train.steps:,} full-batch epochs, AdamW lr {train.lr}, weight decay "
                f"{train.weight_decay}, betas {train.betas}, loss {train.loss}; a checkpoint every "
                f"{train.checkpoint_every}",
                f"spike controls: the first {self.control_steps:,} epochs with {', and with '.join(self.controls)}",
                f"seeds: {self.seeds}"]


def settings(profile: str | None = None, seed: int = 0, frac_train: float = 0.3, steps: int | None = None,
             n_seeds: int | None = None, device: str | None = None) -> FourierSettings:
    """The chapter's settings at ``profile`` (the notebook's parameters); ``steps=None`` takes the profile's.

    ``seed`` seeds the split and the initialisation (training is full batch); ``n_seeds`` runs the
    seeds ``seed, seed + 1, ...`` (None: the profile's, 3 at ``paper``, else 1). ``steps`` must cover at
    least one checkpoint interval (the progress measures need two checkpoints), and ``frac_train`` must
    leave pairs both for training and for the test. The spike controls cover the first
    ``min(steps, control_steps)`` epochs.
    """
    profile = resolve_profile(profile)
    check_int("n_seeds", n_seeds, 1, 100, none_ok=True)
    check_seed(seed, n_seeds or _PROFILES[profile]["n_seeds"])
    check_float("frac_train", frac_train, 0, 1, open_low=True, open_high=True)
    check_int("steps", steps, 1, none_ok=True)
    resolve_device(device)
    preset = _PROFILES[profile]
    p, every = preset["p"], preset["checkpoint_every"]
    steps = preset["steps"] if steps is None else steps
    n_seeds = preset["n_seeds"] if n_seeds is None else n_seeds
    if steps < every:
        raise ValueError(f"steps={steps!r} gives fewer than 2 checkpoints (one every {every} epochs at profile "
                         f"{profile!r}); allowed values: an integer >= {every}, or None")
    if not 1 <= int(frac_train * p * p) < p * p:
        raise ValueError(f"frac_train={frac_train!r} gives {int(frac_train * p * p)} of {p * p} pairs for training; "
                         f"allowed values: a number in [{1 / (p * p):.2g}, 1) leaving pairs to train and to test on")
    widths, log_every = preset["widths"], preset["log_every"]
    run = nanda_run(p, frac_train, steps, log_every=log_every, seed=seed, checkpoint_every=every, **widths)
    window = nanda_run(p, frac_train, min(steps, preset["control_steps"]), log_every=log_every, seed=seed,
                       checkpoint_every=None, **widths).replace(loss="cross_entropy")
    controls = {CONTROLS[0]: window, CONTROLS[1]: window.replace(adam_eps=1e-5)}
    seed_runs = tuple(nanda_run(p, frac_train, steps, log_every=log_every, seed=seed + i, checkpoint_every=every,
                                **widths) for i in range(1, n_seeds))
    return FourierSettings(profile, device, seed, run, claims=asserts_findings(profile), controls=controls,
                           seed_runs=seed_runs, n_snapshots=preset["n_snapshots"])


def measure_run(history: History, s: FourierSettings) -> dict:
    """The final model's numbers: accuracy and losses, the spectra of ``W_L`` and ``W_E``, the neurons, the logits.

    The key frequencies are read off ``W_L``'s spectrum (``fourier.logit_map_power``). Tensors the
    figures draw are returned too: ``power`` (``W_E``'s spectrum), ``wl_power`` (``W_L``'s), ``acts``
    (``[p, p, d_mlp]``), ``neuron_freq``/``neuron_frac`` (each neuron's best key frequency and the share
    it explains), ``logit_norms`` (``[p, p]``).
    """
    model, p = history.model(), s.p
    power, wl_power = fourier.embedding_power(model, p), fourier.logit_map_power(model, p)
    key_freqs = fourier.key_frequencies(wl_power, s.max_key_freqs)
    acts = fourier.neuron_acts(model, p)
    clusters = fourier.cluster_neurons(fourier.neuron_freq_fractions(acts), key_freqs, s.neuron_threshold)
    logits = fourier.logits_grid(model, p)
    norms = fourier.logit_fourier_norms(logits)
    alphas, cos_explained = fourier.cos_fit(logits, key_freqs)
    return {
        "finite": history.is_finite(),
        "final_test_acc": history.val_acc[-1].item(),
        "final_train_loss": history.train_loss[-1].item(),
        "final_test_loss": history.val_loss[-1].item(),
        "power": power,
        "wl_power": wl_power,
        "key_freqs": key_freqs,
        "key_power": fourier.power_fraction(wl_power, key_freqs),
        "embed_key_power": fourier.power_fraction(power, key_freqs),
        "n_for_key_power": fourier.freqs_for_fraction(wl_power, s.key_power),
        "acts": acts,
        "neuron_freq": clusters["freq"],
        "neuron_frac": clusters["frac"],
        "cluster_sizes": clusters["sizes"],
        "frac_explained": clusters["frac_explained"],
        "logit_norms": norms,
        "n_components": fourier.components_for_fraction(norms, s.logit_fraction),
        "cos_alphas": alphas,
        "cos_explained": cos_explained,
    }


def grid_train_mask(history: History, p: int) -> torch.Tensor:
    """The training pairs as a mask over the (a, b) grid of ``fourier.all_inputs``.

    For a + b mod p the task's example table is that grid, a outermost, so ``train_index`` is ``a * p + b``.
    """
    is_train = torch.zeros(p * p, dtype=torch.bool)
    is_train[history.train_index] = True
    return is_train


def measure_progress(history: History, key_freqs, s: FourierSettings) -> dict:
    """The progress measures at every checkpoint, the phase boundaries, the losses over the plateau,
    the final restricted and excluded numbers, and the Gini coefficients of ``W_E`` and ``W_L``.

    ``plateau`` (from the end of memorisation to the end of circuit formation) holds the restricted
    and excluded losses the Checks compare; ``gini`` the coefficients at every checkpoint and at the
    phase boundaries; ``spectra`` is the embedding's spectrum at each of ``checkpoint_steps``.
    """
    p, start = s.p, time.perf_counter()
    states = history.checkpoints
    measures = fourier.progress_measures(s.run.model.build, states, p, key_freqs, grid_train_mask(history, p))
    gini = fourier.gini_over_checkpoints(states, p)
    seconds = time.perf_counter() - start
    phases = fourier.phase_boundaries(measures["steps"], measures["test_loss"], measures["excluded_loss"],
                                      level=s.phase_level)
    steps = sorted(states)
    spectra = fourier.freq_power(torch.stack([states[k]["embed.W_E"][:p].float() for k in steps]))
    return {
        "measures": measures,
        "measures_finite": all(bool(torch.isfinite(v).all()) for k, v in measures.items() if k != "steps"),
        "phases": phases,
        "plateau": plateau_losses(measures, phases),
        "final_measures": {name: measures[name][-1].item() for name in
                           ("restricted_loss", "restricted_acc", "excluded_loss", "excluded_acc", "train_loss")},
        "excluded_per_freq": dict(zip(key_freqs, measures["excluded_loss_per_freq"][-1].tolist())),
        "gini": gini,
        "gini_at": gini_at_phases(gini, phases),
        "analysis_seconds": seconds,
        "n_checkpoints": len(steps),
        "checkpoint_steps": steps,
        "spectra": spectra,
    }


def plateau_losses(measures: dict, phases: dict) -> dict:
    """Restricted and excluded losses from the end of memorisation to the end of circuit formation."""
    steps = measures["steps"].tolist()
    i_mem, i_circ = steps.index(phases["memorisation_end"]), steps.index(phases["circuit_formation_end"])
    plateau = slice(i_mem, i_circ + 1)
    restricted, excluded = measures["restricted_loss"], measures["excluded_loss"]
    return {
        "restricted_start": restricted[i_mem].item(),
        "restricted_min": restricted[plateau].min().item(),
        "excluded_start": excluded[i_mem].item(),
        "excluded_max": excluded[plateau].max().item(),
        "restricted_below_test": bool((restricted[plateau] < measures["test_loss"][plateau]).any()),
    }


def gini_at_phases(gini: dict, phases: dict) -> dict:
    """``{matrix: {phase: Gini coefficient at that boundary}}`` for ``W_E`` and ``W_L`` (None where a boundary is)."""
    steps = gini["steps"].tolist()
    return {m: {name: (None if phases[name] is None else gini[m][steps.index(phases[name])].item()) for name in PHASES}
            for m in ("W_E", "W_L")}


def measure_spikes(history: History, controls: dict[str, History], s: FourierSettings) -> dict:
    """Training-loss spikes (``fourier.count_spikes``) over the controls' window: the run's first
    ``control_steps`` epochs and each control. ``{name: counts}``, ``MAIN`` first, then the controls,
    then ``MAIN_FULL``: the run over all its epochs."""
    window = s.control_steps or int(history.steps[-1])
    runs = {MAIN: history, **controls}
    out = {name: fourier.count_spikes(h.steps, h.train_loss, s.spike_factor, s.spike_window, end=window,
                                      floor=s.spike_floor)
           for name, h in runs.items()}
    out[MAIN_FULL] = fourier.count_spikes(history.steps, history.train_loss, s.spike_factor, s.spike_window,
                                          floor=s.spike_floor)
    return out


def measure_published(published: Published, s: FourierSettings) -> dict:
    """The authors' model: its loss and accuracy on its own split, and the same Fourier analysis."""
    model, split = published.model, published.split
    train_loss, train_acc = evaluate(model, split.x_train, split.y_train)
    test_loss, test_acc = evaluate(model, split.x_val, split.y_val)
    power, wl_power = fourier.embedding_power(model, PUBLISHED_P), fourier.logit_map_power(model, PUBLISHED_P)
    key_freqs = fourier.key_frequencies(wl_power, s.max_key_freqs)
    fractions = fourier.neuron_freq_fractions(fourier.neuron_acts(model, PUBLISHED_P))
    clusters = fourier.cluster_neurons(fractions, key_freqs, s.neuron_threshold)
    return {
        "published_train_loss": train_loss,
        "published_train_acc": train_acc,
        "published_test_loss": test_loss,
        "published_test_acc": test_acc,
        "published_power": power,
        "published_wl_power": wl_power,
        "published_key_freqs": key_freqs,
        "published_key_power": fourier.power_fraction(wl_power, key_freqs),
        "published_cluster_sizes": clusters["sizes"],
        "published_frac_explained": clusters["frac_explained"],
        "published_epochs": published.epoch,
        "published_weight_decay": published.weight_decay,
    }


def measure_seeds(results: dict, histories: list[History], s: FourierSettings) -> dict:
    """The phase boundaries over seeds: the run's own (``results``, from ``measure_run`` and
    ``measure_progress``) and each further seed's (``histories``, the runs of ``s.seed_runs``), measured
    the same way. Returns ``per_seed`` (seed, final test accuracy, key frequencies and phases per seed)
    and ``summary`` ``{phase: (median, min, max)}``, None for a phase that some seed never reaches."""
    per_seed = [{"seed": s.seed, "final_test_acc": results["final_test_acc"], "key_freqs": results["key_freqs"],
                 **results["phases"]}]
    for history in histories:
        key_freqs = fourier.key_frequencies(fourier.logit_map_power(history.model(), s.p), s.max_key_freqs)
        measures = fourier.progress_measures(s.run.model.build, history.checkpoints, s.p, key_freqs,
                                             grid_train_mask(history, s.p))
        phases = fourier.phase_boundaries(measures["steps"], measures["test_loss"], measures["excluded_loss"],
                                          level=s.phase_level)
        per_seed.append({"seed": history.config.model.seed, "final_test_acc": history.val_acc[-1].item(),
                         "key_freqs": key_freqs, **phases})
    summary = {}
    for name in PHASES:
        values = [row[name] for row in per_seed]
        summary[name] = None if None in values else (statistics.median(values), min(values), max(values))
    return {"per_seed": per_seed, "summary": summary}


def fmt_over_seeds(summary: tuple | None) -> str:
    """A phase over seeds for the prose: ``"9,400"`` (one seed), ``"9,400 (8,100-10,200)"`` (median and
    range), or ``"not reached"``."""
    if summary is None:
        return "not reached"
    median, low, high = summary
    return f"{median:,.0f}" if low == high else f"{median:,.0f} ({low:,}-{high:,})"


def check(results: dict, s: FourierSettings) -> list:
    """Assert the chapter's claims on ``results`` (``measure_run``, ``measure_progress``,
    ``measure_published`` merged, and ``spikes`` from ``measure_spikes``); print each with its measured value."""
    r, checks = results, Checks(s.claims)
    checks.expect("the run's logged metrics are finite", r["finite"], r["finite"])
    checks.expect("the progress measures are finite", r["measures_finite"], r["measures_finite"])
    checks.expect(f"the authors' model scores at least {s.published_min_test_acc:.0%} on its test split",
                  f"{r['published_test_acc']:.4f}", r["published_test_acc"] >= s.published_min_test_acc)
    checks.claim(f"final test accuracy at least {s.min_test_acc:.0%}", f"{r['final_test_acc']:.4f}",
                 r["final_test_acc"] >= s.min_test_acc)
    checks.claim(f"the key frequencies (from W_L) carry at least {s.key_power:.0%} of W_L's non-constant power",
                 f"{r['key_power']:.3f}", r["key_power"] >= s.key_power)
    checks.claim(f"the same frequencies carry at least {s.key_power:.0%} of the embedding W_E's non-constant power",
                 f"{r['embed_key_power']:.3f}", r["embed_key_power"] >= s.key_power)
    _check_phases(checks, r.get("phases"), r.get("plateau"), s)
    _check_final_measures(checks, r.get("final_measures"), r.get("excluded_per_freq"), s)
    _check_gini(checks, r.get("gini_at"))
    _check_spikes(checks, r.get("spikes"), s)
    return checks.report()


def _check_phases(checks: Checks, phases: dict | None, plateau: dict | None, s: FourierSettings) -> None:
    """The phase claims: order, the progress measures over the plateau, and the epochs against the paper's."""
    phases, plateau = phases or dict.fromkeys(PHASES), plateau or {}
    mem, circ, clean = (phases[name] for name in PHASES)
    checks.claim("the three phases end in order (cleanup reached)", phases,
                 None not in (mem, circ, clean) and mem < circ < clean)
    checks.claim("on the plateau the restricted loss falls below the test loss", plateau.get("restricted_below_test"),
                 bool(plateau.get("restricted_below_test")))
    checks.claim(f"on the plateau the restricted loss falls to at most {s.restricted_drop:g} of its value at the "
                 f"end of memorisation",
                 lambda: f"{plateau['restricted_start']:.3g} -> {plateau['restricted_min']:.3g}" if plateau else None,
                 lambda: bool(plateau) and plateau["restricted_min"] <= s.restricted_drop * plateau["restricted_start"])
    checks.claim(f"on the plateau the excluded loss rises to at least {s.excluded_rise:g}x its value at the end "
                 f"of memorisation",
                 lambda: f"{plateau['excluded_start']:.3g} -> {plateau['excluded_max']:.3g}" if plateau else None,
                 lambda: bool(plateau) and plateau["excluded_max"] >= s.excluded_rise * plateau["excluded_start"])
    budget = s.run.train.steps
    for name in PHASES:
        paper, ours = PAPER[name], phases[name]
        low, high = paper / s.phase_factor, paper * s.phase_factor
        if high < budget:
            checks.claim(f"{name} within {s.phase_factor:g}x of the paper's epoch {paper:,}", ours,
                         ours is not None and low <= ours <= high)
        else:  # the upper bound lies beyond the budget: it could not fail, so only the lower one is asserted
            checks.claim(f"{name} at least the paper's epoch {paper:,} / {s.phase_factor:g}", ours,
                         ours is not None and ours >= low)


def _check_final_measures(checks: Checks, final: dict | None, per_freq: dict | None, s: FourierSettings) -> None:
    """At the end: keeping only the key frequencies keeps the accuracy; removing them, or any one, loses it."""
    final, per_freq = final or {}, per_freq or {}
    checks.claim(f"final restricted accuracy (key frequencies only, all pairs) at least {s.min_test_acc:.0%}",
                 final.get("restricted_acc"), final.get("restricted_acc", 0) >= s.min_test_acc)
    checks.claim(f"final excluded accuracy (key frequencies removed, training pairs) at most {s.max_excluded_acc:.0%}",
                 final.get("excluded_acc"), final.get("excluded_acc", 1) <= s.max_excluded_acc)
    train = final.get("train_loss")
    checks.claim(f"removing any one key frequency raises the final training loss at least {s.excluded_rise:g}x",
                 lambda: {k: f"{v:.2g}" for k, v in per_freq.items()} | {"full model": f"{train:.2g}"} if final else None,
                 lambda: bool(per_freq) and all(v >= s.excluded_rise * train for v in per_freq.values()))


def _check_gini(checks: Checks, gini_at: dict | None) -> None:
    """The cleanup signature: W_E and W_L grow sparser in the Fourier basis during cleanup."""
    for m in ("W_E", "W_L"):
        at = (gini_at or {}).get(m) or dict.fromkeys(PHASES)
        start, end = at["circuit_formation_end"], at["cleanup_end"]
        checks.claim(f"the Gini coefficient of {m}'s Fourier norms rises during cleanup",
                     None if None in (start, end) else f"{start:.3f} -> {end:.3f}",
                     None not in (start, end) and end > start)


def _check_spikes(checks: Checks, spikes: dict | None, s: FourierSettings) -> None:
    """The spike controls: the runs in ``s.spiking`` spike at least once in the window, the others never."""
    spikes = spikes or {}
    for name in (MAIN, *CONTROLS):
        n = spikes.get(name, {}).get("n_spikes")
        if name in s.spiking:
            checks.claim(f"{name}: training-loss spikes in the first {s.control_steps:,} epochs", n,
                         n is not None and n >= 1)
        else:
            checks.claim(f"{name}: no training-loss spike in the first {s.control_steps:,} epochs", n, n == 0)
