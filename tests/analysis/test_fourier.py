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
    assert set(out) == {"train_loss", "train_acc", "test_loss", "test_acc", "restricted_loss", "restricted_acc",
                        "excluded_loss", "excluded_acc", "mlp_restricted_loss", "excluded_loss_per_freq"}
    with torch.no_grad():
        logits = model.final_logits(split.x_train)
    assert out["train_loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, split.y_train)), rel=1e-4)
    assert out["excluded_loss_per_freq"].shape == (2,)
    assert all(v > 0 and math.isfinite(v) for k, v in out.items() if k.endswith("loss"))
    assert all(0 <= v <= 1 for k, v in out.items() if k.endswith("acc"))


def _trig_logits(p: int):
    """Logits over the grid: a constant per answer, cos/sin(w_k (a + b)) terms at k = 2 and at k = 5, and a
    term at k = 3 in a alone (not a key direction)."""
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T.double()
    c = torch.arange(p).double()
    w = lambda k: 2 * math.pi * k / p  # noqa: E731
    k2 = torch.cos(w(2) * (a + b))[:, None] * torch.cos(w(2) * c) + torch.sin(w(2) * (a + b))[:, None] * torch.sin(w(2) * c)
    k5 = 0.5 * torch.sin(w(5) * (a + b))[:, None] * torch.cos(w(5) * c)
    const = torch.linspace(-1, 1, p, dtype=torch.float64)[None, :].expand(p * p, p)
    other = 0.3 * torch.cos(w(3) * a)[:, None] * torch.sin(w(3) * c)
    return const, k2, k5, other


def test_split_key_directions_keeps_the_constant_and_the_key_terms():
    p = 13
    const, k2, k5, other = _trig_logits(p)
    parts = fo.split_key_directions(const + k2 + k5 + other, [2, 5])
    torch.testing.assert_close(parts["restricted"], const + k2 + k5)
    torch.testing.assert_close(parts["excluded"], const + other)
    assert parts["excluded_each"].shape == (2, p * p, p)
    torch.testing.assert_close(parts["excluded_each"][0], const + k5 + other)  # k = 2 removed
    torch.testing.assert_close(parts["excluded_each"][1], const + k2 + other)  # k = 5 removed


def test_split_key_directions_on_chosen_rows_equals_the_rows_of_the_whole():
    p = 13
    logits = sum(_trig_logits(p))
    rows = torch.rand(p * p, generator=torch.Generator().manual_seed(0)) < 0.3
    whole, chosen = fo.split_key_directions(logits, [2, 5]), fo.split_key_directions(logits, [2, 5], rows=rows)
    torch.testing.assert_close(chosen["restricted"], whole["restricted"], rtol=0, atol=0)
    torch.testing.assert_close(chosen["excluded"], whole["excluded"][rows], rtol=0, atol=0)
    torch.testing.assert_close(chosen["excluded_each"], whole["excluded_each"][:, rows], rtol=0, atol=0)


def test_restricted_through_a_map_equals_the_restricted_values_mapped():
    p, gen = 13, torch.Generator().manual_seed(1)
    values = sum(_trig_logits(p)) @ torch.randn(p, 7, dtype=torch.float64, generator=gen)
    weight = torch.randn(7, 5, dtype=torch.float64, generator=gen)
    expected = fo.split_key_directions(values, [2, 5], each=False)["restricted"] @ weight
    torch.testing.assert_close(fo.restricted_through(values, [2, 5], weight), expected, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(fo.restricted_through(values, [3], weight), expected)  # other directions differ


def test_key_frequencies_of_a_planted_neuron_logit_map():
    p = 31
    w_l = _embedding(p, {4: 1.0, 9: 0.7, 13: 0.5}, d=24).T  # [d_mlp, p]: periodic in the answer c
    power = fo.freq_power(w_l.T)
    assert fo.key_frequencies(power) == [4, 9, 13]
    w_out, w_u = torch.eye(24), torch.cat([w_l, torch.randn(24, 1)], dim=1)  # an extra non-number output
    torch.testing.assert_close(fo.weights_logit_map(w_out, w_u, p), w_l.double())


def test_gini_coefficient():
    assert fo.gini(torch.ones(10)).item() == pytest.approx(0.0)
    assert fo.gini(torch.tensor([0.0, 0.0, 0.0, 5.0])).item() == pytest.approx(0.75)
    assert fo.gini(torch.zeros(4)).item() == 0.0
    batched = fo.gini(torch.tensor([[1.0, 1.0], [0.0, 2.0]]))
    assert batched.tolist() == pytest.approx([0.0, 0.5])
    with pytest.raises(ValueError, match="non-negative"):
        fo.gini(torch.tensor([1.0, -1.0]))
    sparse, dense = _embedding(31, {3: 1.0}), torch.randn(31, 16, generator=torch.Generator().manual_seed(0))
    assert fo.gini(fo.component_norms(sparse)) > 0.8 > fo.gini(fo.component_norms(dense))


def test_gini_over_checkpoints():
    cfg, model, _, _ = _tiny_run()
    p = cfg.task.p
    sparse = {k: v.clone() for k, v in model.state_dict().items()}
    sparse["embed.W_E"][:p] = _embedding(p, {3: 1.0}, d=32, seed=1)
    out = fo.gini_over_checkpoints({20: sparse, 10: model.state_dict()}, p)
    assert out["steps"].tolist() == [10, 20] and out["W_E"].shape == (2,) and out["W_L"].shape == (2,)
    assert out["W_E"][1] > out["W_E"][0]
    assert out["W_L"][0] == pytest.approx(fo.gini(fo.component_norms(fo.neuron_logit_map(model, p).T)).item())


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



def _grokking_curve(steps: torch.Tensor) -> torch.Tensor:
    """log10 test loss: memorise (rise), plateau at 1.4, collapse 9k-14k to -3."""
    s = steps.double()
    log_test = torch.where(s < 1500, 0.7 + s / 1500 * 0.7, torch.tensor(1.4))
    return torch.where(s > 9000, 1.4 - (s - 9000) / 5000 * 4.4, log_test).clamp_min(-3.0)


def test_phase_boundaries_ignore_a_late_spike_at_the_plateau_height():
    steps = torch.arange(0, 20_001, 100)
    log_test = _grokking_curve(steps)
    spiked = log_test.clone()
    spiked[(steps >= 16_000) & (steps <= 16_300)] = 1.5  # a late spike, above the plateau
    excluded = torch.ones(len(steps))
    excluded[15] = 0.01
    clean, late = (fo.phase_boundaries(steps, 10 ** curve, excluded) for curve in (log_test, spiked))
    assert late == clean
    assert abs(clean["circuit_formation_end"] - 9500) <= 100 and abs(clean["cleanup_end"] - 13500) <= 100
    assert clean["memorisation_end"] == 1500


def test_count_spikes():
    steps = torch.arange(0, 5000, 10)
    loss = torch.full((len(steps),), 1e-7, dtype=torch.float64)
    loss[:50] = torch.logspace(0, -7, 50, dtype=torch.float64)  # the fit: falling, never a spike
    for start in (1500, 3000, 4500):
        loss[(steps >= start) & (steps < start + 60)] = 1e-2  # three excursions to 1e-2
    loss[(steps >= 3500) & (steps < 3520)] = 3e-6  # a bump of 30x: below the factor
    out = fo.count_spikes(steps, loss, factor=100, window=20)
    assert out["n_spikes"] == 3 and out["spike_steps"] == [1500, 3000, 4500]
    assert out["max_rise"] == pytest.approx(1e5) and out["min_loss"] == pytest.approx(1e-7)
    assert fo.count_spikes(steps, loss, end=2000)["n_spikes"] == 1
    assert fo.count_spikes(steps, loss, start=2000)["spike_steps"] == [3000, 4500]
    assert fo.count_spikes(steps, loss, factor=10)["n_spikes"] == 4
    assert fo.count_spikes(steps, torch.logspace(0, -9, len(steps)))["n_spikes"] == 0
    rounding = torch.where(torch.arange(len(steps)) % 7 == 0, 1.2e-7, 0.0).double()  # a float32 loss near zero
    assert fo.count_spikes(steps, rounding)["n_spikes"] > 0
    assert fo.count_spikes(steps, rounding, floor=2.0**-23)["n_spikes"] == 0
    assert fo.count_spikes(steps, loss, floor=2.0**-23)["n_spikes"] == 3
    with pytest.raises(ValueError, match="floor=-1"):
        fo.count_spikes(steps, loss, floor=-1)
    with pytest.raises(ValueError, match="factor=1"):
        fo.count_spikes(steps, loss, factor=1)
    with pytest.raises(ValueError, match="window=0"):
        fo.count_spikes(steps, loss, window=0)
