"""The chapter ``book/fourier_circuits.ipynb`` (Nanda et al. 2023): its settings, its numbers and its Checks.

``paper`` is the paper's mainline run: a+b mod 113, 30% of the pairs for training, a 1-layer
transformer (d_model 128, 4 heads of 32, d_mlp 512, ReLU, no LayerNorm), full-batch AdamW (lr 1e-3,
weight decay 1, betas 0.9/0.98), 40,000 epochs, a checkpoint every 100. ``book`` is the same setting
stopped at 18,000 epochs, which covers the paper's three phases (cleanup ends near 14,000) and fits
about 20 minutes on 2 CPU cores (measured: test accuracy 99% near epoch 13,500). ``smoke`` is a tiny
model on p = 23 for a few hundred epochs, for tests: it cannot grok, so its Checks assert only the
mechanics and the published model.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from grokutils.analysis import fourier
from grokutils.book import Checks, resolve_profile
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

_PROFILES = {
    # p, epochs, checkpoint_every (also the logging interval), model widths; snapshots in the static figure
    "smoke": dict(p=23, steps=300, checkpoint_every=30, n_snapshots=4,
                  widths=dict(d_model=32, n_heads=4, d_head=8, d_mlp=64)),
    "book": dict(p=113, steps=18_000, checkpoint_every=100, n_snapshots=8,
                 widths=dict(d_model=128, n_heads=4, d_head=32, d_mlp=512)),
    "paper": dict(p=113, steps=40_000, checkpoint_every=100, n_snapshots=8,
                  widths=dict(d_model=128, n_heads=4, d_head=32, d_mlp=512)),
}


@dataclass(frozen=True)
class FourierSettings:
    """The chapter's run and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        device: the device asked for (None: CUDA when available).
        seed: seed of the split and the initialisation (training is full batch).
        run: the training run (task, model, optimiser; metrics and checkpoints every
            ``checkpoint_every`` epochs).
        claims: whether this profile asserts the chapter's findings (False at ``smoke``, which
            cannot grok: then only the mechanics and the published model are checked).
        max_key_freqs: Checks: at most this many key frequencies...
        key_power: ...carry at least this share of the embedding's non-constant Fourier power.
        neuron_threshold: a neuron counts as explained by a frequency that explains at least this
            share of its variance over (a, b).
        logit_fraction: count the 2D Fourier components of the logits that carry this share of their
            squared norm.
        phase_level: phase boundaries: share of the log test-loss drop that counts as "still on the
            plateau" / "already at the end" (see ``fourier.phase_boundaries``).
        excluded_rise: Checks: during the plateau the excluded loss rises to at least this many times
            its value at the end of memorisation.
        restricted_drop: Checks: during the plateau the restricted loss falls to at most this share
            of its value at the end of memorisation.
        min_test_acc: Checks: final test accuracy at least this.
        published_min_test_acc: Checks (every profile): the authors' model's test accuracy.
        phase_factor: Checks: each phase boundary lies within this factor of the paper's epoch.
        n_snapshots: checkpoints shown in the static small-multiples figure.
    """

    profile: str
    device: str | None
    seed: int
    run: RunConfig
    claims: bool
    max_key_freqs: int = 8
    key_power: float = 0.8
    neuron_threshold: float = 0.85
    logit_fraction: float = 0.95
    phase_level: float = 0.1
    excluded_rise: float = 10.0
    restricted_drop: float = 0.5
    min_test_acc: float = 0.99
    published_min_test_acc: float = 1.0
    phase_factor: float = 2.0
    n_snapshots: int = 8

    data_files = (PUBLISHED_FILE,)

    def __post_init__(self):
        for name in ("key_power", "neuron_threshold", "logit_fraction", "phase_level", "restricted_drop"):
            check_float(name, getattr(self, name), 0, 1, open_low=True, open_high=True)
        for name in ("min_test_acc", "published_min_test_acc"):
            check_float(name, getattr(self, name), 0, 1, open_low=True)
        check_int("max_key_freqs", self.max_key_freqs, 1)
        check_int("n_snapshots", self.n_snapshots, 2)
        check_float("excluded_rise", self.excluded_rise, 1)
        check_float("phase_factor", self.phase_factor, 1)
        if not self.run.train.checkpoint_every:
            raise ValueError("run.train.checkpoint_every must be set: the progress measures read checkpoints")

    @property
    def p(self) -> int:
        """The modulus."""
        return self.run.task.p

    def describe(self) -> list[str]:
        """Lines for the chapter's header."""
        task, train = self.run.task, self.run.train
        return [f"task: a + b mod {task.p}, {task.n_train:,} of {task.n_equations:,} pairs for training",
                f"training: {train.steps:,} full-batch epochs, AdamW lr {train.lr}, weight decay "
                f"{train.weight_decay}, betas {train.betas}; a checkpoint every {train.checkpoint_every}"]


def settings(profile: str | None = None, seed: int = 0, frac_train: float = 0.3, steps: int | None = None,
             device: str | None = None) -> FourierSettings:
    """The chapter's settings at ``profile`` (the notebook's parameters); ``steps=None`` takes the profile's.

    ``seed`` seeds the split and the initialisation (training is full batch). ``steps`` must cover at
    least one checkpoint interval (the progress measures need two checkpoints), and ``frac_train``
    must leave pairs both for training and for the test.
    """
    profile = resolve_profile(profile)
    check_int("seed", seed, 0, 2**63 - 1)
    check_float("frac_train", frac_train, 0, 1, open_low=True, open_high=True)
    check_int("steps", steps, 1, none_ok=True)
    resolve_device(device)
    preset = _PROFILES[profile]
    p, every = preset["p"], preset["checkpoint_every"]
    steps = preset["steps"] if steps is None else steps
    if steps < every:
        raise ValueError(f"steps={steps!r} gives fewer than 2 checkpoints (one every {every} epochs at profile "
                         f"{profile!r}); allowed values: an integer >= {every}, or None")
    if not 1 <= int(frac_train * p * p) < p * p:
        raise ValueError(f"frac_train={frac_train!r} gives {int(frac_train * p * p)} of {p * p} pairs for training; "
                         f"allowed values: a number in [{1 / (p * p):.2g}, 1) leaving pairs to train and to test on")
    run = nanda_run(p, frac_train, steps, log_every=every, seed=seed, checkpoint_every=every, **preset["widths"])
    return FourierSettings(profile, device, seed, run, claims=profile != "smoke", n_snapshots=preset["n_snapshots"])


def measure_run(history: History, s: FourierSettings) -> dict:
    """The final model's numbers: accuracy and losses, the embedding's spectrum, the neurons, the logits.

    Tensors the figures draw are returned too: ``power`` (per frequency), ``acts`` (``[p, p, d_mlp]``),
    ``neuron_freq``/``neuron_frac`` (each neuron's best key frequency and the share it explains),
    ``logit_norms`` (``[p, p]``).
    """
    model, p = history.model(), s.p
    power = fourier.embedding_power(model, p)
    key_freqs = fourier.key_frequencies(power, s.max_key_freqs)
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
        "key_freqs": key_freqs,
        "key_power": fourier.power_fraction(power, key_freqs),
        "n_for_key_power": fourier.freqs_for_fraction(power, s.key_power),
        "acts": acts,
        "neuron_freq": clusters["freq"],
        "neuron_frac": clusters["frac"],
        "n_neurons": len(clusters["freq"]),
        "cluster_sizes": clusters["sizes"],
        "frac_explained": clusters["frac_explained"],
        "logit_norms": norms,
        "n_components": fourier.components_for_fraction(norms, s.logit_fraction),
        "cos_alphas": alphas,
        "cos_explained": cos_explained,
    }


def measure_progress(history: History, key_freqs, s: FourierSettings) -> dict:
    """The progress measures at every checkpoint, the phase boundaries, and the losses over the plateau.

    ``plateau`` (from the end of memorisation to the end of circuit formation) holds the restricted
    and excluded losses the Checks compare; ``spectra`` is the embedding's spectrum at each of
    ``checkpoint_steps``.
    """
    p, start = s.p, time.perf_counter()
    # For a + b mod p the task's example table is the (a, b) grid, a outermost: train_index is a * p + b,
    # the grid index the Fourier analysis uses (no need to rebuild the split).
    is_train = torch.zeros(p * p, dtype=torch.bool)
    is_train[history.train_index] = True
    measures = fourier.progress_measures(s.run.model.build, history.checkpoints, p, key_freqs, is_train)
    seconds = time.perf_counter() - start
    phases = fourier.phase_boundaries(measures["steps"], measures["test_loss"], measures["excluded_loss"],
                                      level=s.phase_level)
    steps = sorted(history.checkpoints)
    spectra = fourier.freq_power(torch.stack([history.checkpoints[k]["embed.W_E"][:p].float() for k in steps]))
    return {
        "measures": measures,
        "measures_finite": all(bool(torch.isfinite(v).all()) for k, v in measures.items() if k != "steps"),
        "phases": phases,
        "plateau": plateau_losses(measures, phases),
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


def measure_published(published: Published, s: FourierSettings) -> dict:
    """The authors' model: its loss and accuracy on its own split, and the same Fourier analysis."""
    model, split = published.model, published.split
    train_loss, train_acc = evaluate(model, split.x_train, split.y_train)
    test_loss, test_acc = evaluate(model, split.x_val, split.y_val)
    power = fourier.embedding_power(model, PUBLISHED_P)
    key_freqs = fourier.key_frequencies(power, s.max_key_freqs)
    fractions = fourier.neuron_freq_fractions(fourier.neuron_acts(model, PUBLISHED_P))
    clusters = fourier.cluster_neurons(fractions, key_freqs, s.neuron_threshold)
    return {
        "published_train_loss": train_loss,
        "published_train_acc": train_acc,
        "published_test_loss": test_loss,
        "published_test_acc": test_acc,
        "published_power": power,
        "published_key_freqs": key_freqs,
        "published_key_power": fourier.power_fraction(power, key_freqs),
        "published_cluster_sizes": clusters["sizes"],
        "published_frac_explained": clusters["frac_explained"],
        "published_epochs": published.epoch,
        "published_weight_decay": published.weight_decay,
    }


def check(results: dict, s: FourierSettings) -> list:
    """Assert the chapter's claims on ``results`` (``measure_run``, ``measure_progress`` and
    ``measure_published`` merged); print each with its measured value."""
    r, checks = results, Checks(s.claims)
    keys, power = r["key_freqs"], r["key_power"]
    checks.expect("the run's logged metrics are finite", r["finite"], r["finite"])
    checks.expect("the progress measures are finite", r["measures_finite"], r["measures_finite"])
    checks.expect("at least one key frequency found", keys, len(keys) >= 1)
    checks.expect("every neuron assigned to a key frequency", f"{r['n_neurons']} of {s.run.model.d_mlp}",
                  r["n_neurons"] == s.run.model.d_mlp)
    checks.expect(f"the authors' model scores at least {s.published_min_test_acc:.0%} on its test split",
                  f"{r['published_test_acc']:.4f}", r["published_test_acc"] >= s.published_min_test_acc)
    checks.claim(f"final test accuracy at least {s.min_test_acc:.0%}", f"{r['final_test_acc']:.4f}",
                 r["final_test_acc"] >= s.min_test_acc)
    checks.claim(f"at most {s.max_key_freqs} key frequencies", len(keys), len(keys) <= s.max_key_freqs)
    checks.claim(f"the key frequencies carry at least {s.key_power:.0%} of the embedding's non-constant power",
                 f"{power:.3f}", power >= s.key_power)
    _check_phases(checks, r.get("phases"), r.get("plateau"), s)
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
    for name in PHASES:
        paper, ours = PAPER[name], phases[name]
        checks.claim(f"{name} within {s.phase_factor:g}x of the paper's epoch {paper:,}", ours,
                     ours is not None and paper / s.phase_factor <= ours <= paper * s.phase_factor)
