"""The Fourier analysis of modular addition (grokutils.analysis.fourier)."""
import math

import pytest
import torch

from grokutils.analysis import fourier as fo
from grokutils.recipes import nanda_run


def test_basis_is_orthonormal_with_named_rows():
    for p in (7, 8, 113):
        basis, names = fo.fourier_basis(p)
        torch.testing.assert_close(basis @ basis.T, torch.eye(p), atol=1e-5, rtol=0)
        assert names[:3] == ["const", "cos 1", "sin 1"] and len(names) == p
        assert fo.row_freqs(p)[-1] == p // 2


def _embedding(p: int, freqs: dict[int, float], d: int = 16, seed: int = 0) -> torch.Tensor:
    """Rows ``x = 0..p-1``: planted cosines/sines of the given amplitudes plus small noise."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.arange(p, dtype=torch.float32)[:, None]
    emb = 0.01 * torch.randn(p, d, generator=gen)
    for i, (k, amp) in enumerate(freqs.items()):
        emb[:, 2 * i] += amp * torch.cos(2 * math.pi * k * x[:, 0] / p)
        emb[:, 2 * i + 1] += amp * torch.sin(2 * math.pi * k * x[:, 0] / p)
    return emb


def test_key_frequencies_are_the_planted_ones():
    power = fo.freq_power(_embedding(31, {3: 1.0, 7: 0.8, 11: 0.6}))
    assert power.shape == (16,)
    keys = fo.key_frequencies(power)
    assert keys == [3, 7, 11]
    assert fo.power_fraction(power, keys) > 0.95
    assert fo.freqs_for_fraction(power, 0.8) == 2 and fo.freqs_for_fraction(power, 0.9) == 3
    batched = fo.freq_power(torch.stack([_embedding(31, {3: 1.0}), _embedding(31, {5: 1.0})]))
    assert batched.argmax(-1).tolist() == [3, 5]


def test_neuron_fractions_find_each_neurons_frequency():
    p = 23
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    w = lambda k: 2 * math.pi * k / p  # noqa: E731
    acts = torch.stack([torch.relu(torch.cos(w(k) * a) + torch.cos(w(k) * b + 1.0)) for k in (2, 5, 5)], -1)
    acts = torch.cat([acts, torch.zeros(p, p, 1)], -1)  # a dead neuron
    fractions = fo.neuron_freq_fractions(acts)
    assert fractions.shape == (4, p // 2 + 1)
    assert fractions[:3].argmax(1).tolist() == [2, 5, 5] and (fractions[:3].max(1).values > 0.6).all()
    assert fractions[3].abs().sum() == 0
    clusters = fo.cluster_neurons(fractions, [2, 5], threshold=0.6)
    assert clusters["sizes"] == {2: 1, 5: 2} and clusters["frac_explained"] == 0.75


def test_logits_read_off_as_cos_of_a_plus_b_minus_c():
    p = 17
    a, b, c = torch.meshgrid(torch.arange(p), torch.arange(p), torch.arange(p), indexing="ij")
    logits = 3.0 * torch.cos(2 * math.pi * 4 * (a + b - c) / p) + 1.5 * torch.cos(2 * math.pi * 6 * (a + b - c) / p)
    alphas, explained = fo.cos_fit(logits, [4, 6])
    assert alphas[4] == pytest.approx(3.0, abs=1e-4) and alphas[6] == pytest.approx(1.5, abs=1e-4)
    assert explained == pytest.approx(1.0, abs=1e-4)
    # cos(w(a+b-c)) = cos(wa)cos(wb)cos(wc) - ...: 4 components in (a, b) per frequency
    assert fo.components_for_fraction(fo.logit_fourier_norms(logits), 0.999) == 8


def test_trig_directions_are_orthonormal():
    d = fo.trig_sum_directions(13, [1, 4, 6])
    torch.testing.assert_close(d @ d.T, torch.eye(6), atol=1e-5, rtol=0)


# Nanda et al.'s setup on a+b mod 23, small: only its configs are used (nothing trains).
TINY_RUN = nanda_run(23, 0.3, 20, log_every=10, seed=0, checkpoint_every=10, d_model=32, n_heads=4, d_head=8, d_mlp=64)


def _tiny_run():
    p = TINY_RUN.task.p
    model, split = TINY_RUN.model.build(), TINY_RUN.task.build()
    is_train = torch.zeros(p ** 2, dtype=torch.bool)
    is_train[fo.grid_index(split.x_train, p)] = True
    assert torch.equal(is_train.nonzero().flatten(), split.train_index.sort().values)  # train_index is the grid index
    return TINY_RUN, model, split, is_train


def test_restricted_and_excluded_losses_of_one_model():
    cfg, model, split, is_train = _tiny_run()
    p = cfg.task.p
    out = fo.restricted_excluded(model, p, [1, 2], is_train)
    assert set(out) == {"train_loss", "test_loss", "restricted_loss", "excluded_loss"}
    with torch.no_grad():
        logits = model.final_logits(split.x_train)
    assert out["train_loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, split.y_train)), rel=1e-4)
    assert all(v > 0 and math.isfinite(v) for v in out.values())


def test_progress_measures_follow_the_checkpoints():
    cfg, model, _, is_train = _tiny_run()
    other = cfg.model.build()
    with torch.no_grad():
        for param in other.parameters():
            param.mul_(2)
    states = {10: other.state_dict(), 0: model.state_dict()}
    measures = fo.progress_measures(cfg.model.build, states, cfg.task.p, [1, 3], is_train)
    assert measures["steps"].tolist() == [0, 10]
    single = fo.restricted_excluded(model, cfg.task.p, [1, 3], is_train)
    assert measures["excluded_loss"][0] == pytest.approx(single["excluded_loss"])


def test_phase_boundaries_of_a_synthetic_run():
    steps = torch.arange(0, 20_001, 100)
    s = steps.double()
    log_test = torch.where(s < 1500, 0.7 + s / 1500 * 0.7, torch.tensor(1.4))  # memorise, then plateau
    log_test = torch.where(s > 9000, 1.4 - (s - 9000) / 5000 * 4.4, log_test).clamp_min(-3.0)  # collapse 9k-14k
    excluded = torch.where(s < 1600, 1.0 - s / 1600, (s - 1600) / 1000).clamp_min(1e-3) * 10 ** -(s < 1600).double()
    bounds = fo.phase_boundaries(steps, 10 ** log_test, excluded)
    assert bounds["memorisation_end"] == 1500 or abs(bounds["memorisation_end"] - 1600) <= 100
    assert abs(bounds["circuit_formation_end"] - 9500) <= 100
    assert abs(bounds["cleanup_end"] - 13500) <= 100
    flat = fo.phase_boundaries(steps, torch.ones(len(steps)), torch.ones(len(steps)))
    assert flat["cleanup_end"] is None

