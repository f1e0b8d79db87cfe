"""Settings of the chapter ``book/fourier_circuits.ipynb`` (Nanda et al. 2023) at each profile.

``paper`` is the paper's mainline run: a+b mod 113, 30% of the pairs for training, a 1-layer
transformer (d_model 128, 4 heads of 32, d_mlp 512, ReLU, no LayerNorm), full-batch AdamW (lr 1e-3,
weight decay 1, betas 0.9/0.98), 40,000 epochs, a checkpoint every 100. ``book`` is the same setting
stopped at 18,000 epochs, which covers the paper's three phases (cleanup ends near 14,000) and fits
about 20 minutes on 2 CPU cores (measured: test accuracy 99% near epoch 13,500). ``smoke`` is a tiny
model on p = 23 for a few hundred epochs, for tests: it cannot grok, so its Checks skip the grokking
claims.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from grokutils.data import ModularConfig
from grokutils.models import TransformerConfig
from grokutils.profiles import resolve_profile
from grokutils.train import RunConfig, TrainConfig

# The paper's mainline numbers (Nanda et al. 2023, Sections 4-5), shown beside ours, never used in the analysis.
PAPER = {"key_freqs": (14, 35, 41, 42, 52), "memorisation_end": 1400, "circuit_formation_end": 9400,
         "cleanup_end": 14000, "epochs": 40000}


@dataclass(frozen=True)
class FourierSettings:
    """The chapter's run and the thresholds its Checks use.

    Attributes:
        profile: the profile these settings belong to.
        run: the training run (task, model, optimiser; checkpoints every ``checkpoint_every`` epochs).
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
        restricted_drop: Checks: before the test loss collapses, the restricted loss falls to at most
            this share of its value at the end of memorisation.
        min_test_acc: Checks: final test accuracy at least this; None where the profile cannot grok
            (then the grokking and phase claims are skipped, and the chapter says so).
        published_min_test_acc: Checks (every profile): the authors' model's test accuracy.
        phase_factor: Checks: each phase boundary lies within this factor of the paper's epoch.
        n_snapshots: checkpoints shown in the static small-multiples figure.
    """

    profile: str
    run: RunConfig
    max_key_freqs: int = 8
    key_power: float = 0.8
    neuron_threshold: float = 0.85
    logit_fraction: float = 0.95
    phase_level: float = 0.1
    excluded_rise: float = 10.0
    restricted_drop: float = 0.5
    min_test_acc: float | None = 0.99
    published_min_test_acc: float = 1.0
    phase_factor: float = 2.0
    n_snapshots: int = 8

    def __post_init__(self):
        for name in ("key_power", "neuron_threshold", "logit_fraction", "phase_level", "restricted_drop"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name}={getattr(self, name)!r} must lie in (0, 1)")
        if self.max_key_freqs < 1 or self.n_snapshots < 2 or self.excluded_rise < 1:
            raise ValueError("max_key_freqs >= 1, n_snapshots >= 2 and excluded_rise >= 1 are required")
        if not self.run.train.checkpoint_every:
            raise ValueError("run.train.checkpoint_every must be set: the progress measures read checkpoints")

    @property
    def grokking_claimed(self) -> bool:
        """Whether this profile asserts grokking, the key-frequency power and the phase claims."""
        return self.min_test_acc is not None


_PROFILES = {
    # p, epochs, checkpoint_every, model widths
    "smoke": dict(p=23, steps=300, checkpoint_every=30, d_model=32, n_heads=4, d_head=8, d_mlp=64),
    "book": dict(p=113, steps=18_000, checkpoint_every=100, d_model=128, n_heads=4, d_head=32, d_mlp=512),
    "paper": dict(p=113, steps=40_000, checkpoint_every=100, d_model=128, n_heads=4, d_head=32, d_mlp=512),
}


def run_config(p: int, frac_train: float, steps: int, checkpoint_every: int, seed: int, **widths) -> RunConfig:
    """The 1-layer transformer on a+b mod ``p``, trained full batch with the paper's AdamW recipe."""
    task = ModularConfig(op="add", p=p, frac_train=frac_train, seed=seed)
    model = TransformerConfig(d_vocab=task.d_vocab, d_vocab_out=task.d_vocab, n_ctx=task.n_ctx, n_layers=1,
                              act_fn="relu", normalization=None, use_attn_bias=False, use_unembed_bias=False,
                              seed=seed, **widths)
    train = TrainConfig(steps=steps, batch_size=None, lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98),
                        optimizer="adamw", warmup_steps=10, n_logs=steps // checkpoint_every + 1,
                        log_spacing="linear", checkpoint_every=checkpoint_every, seed=seed)
    return RunConfig(task, model, train)


def settings(profile: str | None = None, seed: int = 0, frac_train: float = 0.3, **overrides) -> FourierSettings:
    """The chapter's settings at ``profile``.

    ``seed`` seeds the split, the initialisation and nothing else (training is full batch).
    ``overrides`` replace fields of ``FourierSettings`` (e.g. ``min_test_acc``) or of the run's
    configs (e.g. ``steps``, ``p``, ``lr``); an unknown name raises TypeError.
    """
    profile = resolve_profile(profile)
    preset = dict(_PROFILES[profile])
    own = {f.name for f in dataclasses.fields(FourierSettings)} - {"profile", "run"}
    fields = {k: overrides.pop(k) for k in list(overrides) if k in own}
    for key in ("p", "steps", "checkpoint_every"):
        if key in overrides:
            preset[key] = overrides.pop(key)
    run = run_config(frac_train=frac_train, seed=seed, **preset)
    if overrides:
        run = run.replace(**overrides)
    if profile == "smoke":
        fields.setdefault("min_test_acc", None)
        fields.setdefault("n_snapshots", 4)
    return FourierSettings(profile=profile, run=run, **fields)
