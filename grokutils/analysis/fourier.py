"""The Fourier view of modular addition (Nanda et al. 2023), read off a model's weights and hooks.

The Fourier basis of Z_p has one constant row and, for each frequency ``k = 1 .. p // 2``, the rows
``cos(w_k x)`` and ``sin(w_k x)`` with ``w_k = 2 pi k / p`` (only the cosine at ``k = p / 2`` when
``p`` is even), all of unit norm. Everything here works on the grid of all ``p**2`` inputs
``[a, b, =]`` with ``a`` outermost, so tensors indexed by the input reshape to ``[p, p, ...]``.

The progress measures follow the paper: the *restricted loss* keeps only the key-frequency
components ``cos/sin(w_k (a + b))`` of the MLP neurons (mapped to the logits through
``W_out @ W_U``, the other paths replaced by their mean), the *excluded loss* removes exactly those
components from the logits. Both are measured with ``run_with_cache`` on the model's hook points.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from transformer_lens import FactoredMatrix

MLP_POST = "blocks.0.mlp.hook_post"


def fourier_basis(p: int) -> tuple[torch.Tensor, list[str]]:
    """Orthonormal Fourier basis of Z_p as rows ``[p, p]``, and the name of each row."""
    x = torch.arange(p, dtype=torch.float64)
    rows, names = [torch.ones(p, dtype=torch.float64)], ["const"]
    for k in range(1, p // 2 + 1):
        rows.append(torch.cos(2 * math.pi * k * x / p))
        names.append(f"cos {k}")
        if 2 * k < p:
            rows.append(torch.sin(2 * math.pi * k * x / p))
            names.append(f"sin {k}")
    basis = torch.stack(rows)
    return (basis / basis.norm(dim=1, keepdim=True)).float(), names


def row_freqs(p: int) -> torch.Tensor:
    """The frequency of each row of ``fourier_basis(p)`` (0 for the constant row)."""
    return (torch.arange(p) + 1) // 2


def freq_power(x: torch.Tensor) -> torch.Tensor:
    """Power per frequency of ``x [..., p, d]`` along its ``p`` axis: ``[..., p // 2 + 1]``, index 0 = constant."""
    p = x.shape[-2]
    basis, _ = fourier_basis(p)
    power = ((basis.to(x) @ x) ** 2).sum(-1)
    return torch.zeros(*power.shape[:-1], p // 2 + 1, dtype=power.dtype).index_add_(-1, row_freqs(p), power)


def embedding_power(model: torch.nn.Module, p: int) -> torch.Tensor:
    """``freq_power`` of the embedding rows of the numbers ``0 .. p-1`` (``embed.W_E[:p]``)."""
    return freq_power(model.embed.W_E.detach()[:p])


def key_frequencies(power: torch.Tensor, max_freqs: int = 8) -> list[int]:
    """The frequencies that stand out of a power spectrum (``freq_power``; the constant is ignored).

    Sorts the non-constant frequencies by power and cuts at the largest drop in log power among the
    first ``max_freqs + 1``: the key frequencies are those above the cut, in increasing order.
    """
    order = power[1:].argsort(descending=True)
    top = power[1:][order][: max_freqs + 1].clamp_min(1e-30).log()
    n_keep = int((top[:-1] - top[1:]).argmax()) + 1 if len(top) > 1 else 1
    return sorted(int(k) + 1 for k in order[:n_keep])


def power_fraction(power: torch.Tensor, freqs) -> float:
    """Share of the non-constant power of ``power`` that the frequencies ``freqs`` carry."""
    return float(power[list(freqs)].sum() / power[1:].sum())


def freqs_for_fraction(power: torch.Tensor, fraction: float) -> int:
    """How many of the strongest non-constant frequencies it takes to carry ``fraction`` of the power."""
    sorted_power = power[1:].sort(descending=True).values
    cumulative = sorted_power.cumsum(0) / sorted_power.sum()
    return int((cumulative < fraction).sum()) + 1


def all_inputs(p: int, eq_token: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens ``[a, b, =]`` of all ``p**2`` pairs (``a`` outermost) and the labels ``(a + b) mod p``."""
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    eq = torch.full_like(a, p if eq_token is None else eq_token)
    return torch.stack([a, b, eq], dim=1), (a + b) % p


def grid_index(tokens: torch.Tensor, p: int) -> torch.Tensor:
    """Position of each ``[a, b, =]`` row of ``tokens`` on the grid of ``all_inputs`` (``a * p + b``)."""
    return tokens[:, 0] * p + tokens[:, 1]


def neuron_acts(model: torch.nn.Module, p: int) -> torch.Tensor:
    """MLP activations at the last position on all pairs, ``[p, p, d_mlp]``, read from the cache."""
    tokens, _ = all_inputs(p, model.cfg.d_vocab - 1)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, last_only=True, names_filter=MLP_POST)
    return cache[MLP_POST][:, -1].reshape(p, p, -1)


def fourier_2d(grid: torch.Tensor) -> torch.Tensor:
    """Coefficients of ``grid [p, p, ...]`` in the 2D Fourier basis over its first two axes."""
    basis = fourier_basis(grid.shape[0])[0].to(grid)
    over_a = torch.tensordot(basis, grid, dims=([1], [0]))
    return torch.tensordot(basis, over_a, dims=([1], [1])).transpose(0, 1)


def neuron_freq_fractions(acts: torch.Tensor) -> torch.Tensor:
    """Share of each neuron's variance over (a, b) explained by each frequency: ``[d_mlp, p // 2 + 1]``.

    Frequency ``k`` explains the 2D Fourier terms built from the constant, ``cos(w_k ·)`` and
    ``sin(w_k ·)`` in ``a`` and in ``b`` (the constant term itself left out). Column 0 is zero.
    Dead neurons (no variance) get zero everywhere.
    """
    p = acts.shape[0]
    power = fourier_2d(acts) ** 2
    power[0, 0] = 0
    group = row_freqs(p)
    in_freq = (group[None, :] == torch.arange(p // 2 + 1)[:, None]) | (group[None, :] == 0)
    masks = (in_freq[:, :, None] & in_freq[:, None, :]).to(power)
    fractions = torch.einsum("kij,ijn->nk", masks, power) / power.sum((0, 1))[:, None].clamp_min(1e-30)
    fractions[:, 0] = 0
    return fractions


def cluster_neurons(fractions: torch.Tensor, key_freqs, threshold: float) -> dict:
    """Assign each neuron to the key frequency that explains most of its variance.

    Returns ``freq`` (per neuron, the key frequency), ``frac`` (the share it explains), ``sizes``
    (``{freq: neurons explained at least `threshold` by it}``) and ``frac_explained`` (the share of
    neurons that one key frequency explains at least ``threshold``).
    """
    keys = torch.tensor(list(key_freqs))
    best, which = fractions[:, keys].max(dim=1)
    freq = keys[which]
    explained = best >= threshold
    sizes = {int(k): int((explained & (freq == k)).sum()) for k in keys}
    return {"freq": freq, "frac": best, "sizes": sizes, "frac_explained": float(explained.float().mean())}


def logits_grid(model: torch.nn.Module, p: int) -> torch.Tensor:
    """Logits of the answers ``0 .. p-1`` on all pairs, ``[p, p, p]`` (a, b, c)."""
    tokens, _ = all_inputs(p, model.cfg.d_vocab - 1)
    with torch.no_grad():
        return model.final_logits(tokens)[:, :p].reshape(p, p, p)


def logit_fourier_norms(logits: torch.Tensor) -> torch.Tensor:
    """Norm over the answers of each 2D Fourier component of ``logits [p, p, c]``: ``[p, p]``."""
    return fourier_2d(logits - logits.mean(-1, keepdim=True)).norm(dim=-1)


def components_for_fraction(norms: torch.Tensor, fraction: float) -> int:
    """How many 2D Fourier components (strongest first, constant left out) carry ``fraction`` of the squared norm."""
    power = norms.flatten()[1:] ** 2
    cumulative = power.sort(descending=True).values.cumsum(0) / power.sum()
    return int((cumulative < fraction).sum()) + 1


def cos_fit(logits: torch.Tensor, key_freqs) -> tuple[dict[int, float], float]:
    """Fit ``logits [p, p, c]`` (centred over ``c``) by ``sum_k alpha_k cos(w_k (a + b - c))``.

    The directions are orthogonal over the grid, so each ``alpha_k`` is a projection. Returns
    ``({k: alpha_k}, share of the logits' variance the fit explains)``.
    """
    p, n_c = logits.shape[0], logits.shape[-1]
    centred = logits - logits.mean(-1, keepdim=True)
    a, b, c = torch.meshgrid(torch.arange(p), torch.arange(p), torch.arange(n_c), indexing="ij")
    alphas, explained = {}, 0.0
    for k in key_freqs:
        direction = torch.cos(2 * math.pi * k * (a + b - c) / p).to(logits)
        alphas[int(k)] = float((centred * direction).sum() / (direction**2).sum())
        explained += alphas[int(k)] ** 2 * float((direction**2).sum())
    return alphas, explained / float((centred**2).sum())


def trig_sum_directions(p: int, key_freqs) -> torch.Tensor:
    """Unit vectors ``cos(w_k (a + b))`` and ``sin(w_k (a + b))`` over the grid: ``[2 * len(key_freqs), p * p]``."""
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    angles = 2 * math.pi * torch.tensor(list(key_freqs), dtype=torch.float64)[:, None] * (a + b) / p
    directions = torch.cat([torch.cos(angles), torch.sin(angles)])
    return (directions / directions.norm(dim=1, keepdim=True)).float()


def restricted_excluded(model: torch.nn.Module, p: int, key_freqs, is_train: torch.Tensor) -> dict[str, float]:
    """Loss, restricted loss (test pairs) and excluded loss (training pairs) of one model.

    ``is_train`` is a boolean mask over the grid of ``all_inputs``. Losses are over all the model's
    output logits, as in training, in float64 (a grokked model's losses underflow float32).
    """
    tokens, labels = all_inputs(p, model.cfg.d_vocab - 1)
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens, last_only=True, names_filter=MLP_POST)
    logits, acts = logits[:, -1], cache[MLP_POST][:, -1]
    directions = trig_sum_directions(p, key_freqs).to(acts)
    w_logit = FactoredMatrix(model.blocks[0].mlp.W_out.detach(), model.unembed.W_U.detach())
    approx = acts.mean(0) + directions.T @ (directions @ acts)
    restricted = (approx @ w_logit).AB
    restricted = restricted + logits.mean(0) - restricted.mean(0)
    excluded = logits - directions.T @ (directions @ logits)
    logits, restricted, excluded = logits.double(), restricted.double(), excluded.double()
    test = ~is_train
    return {
        "train_loss": float(F.cross_entropy(logits[is_train], labels[is_train])),
        "test_loss": float(F.cross_entropy(logits[test], labels[test])),
        "restricted_loss": float(F.cross_entropy(restricted[test], labels[test])),
        "excluded_loss": float(F.cross_entropy(excluded[is_train], labels[is_train])),
    }


def progress_measures(build_model, states: dict[int, dict], p: int, key_freqs, is_train: torch.Tensor) -> dict:
    """``restricted_excluded`` at every checkpoint ``{step: state_dict}``, as tensors indexed like ``steps``.

    ``build_model()`` returns a fresh model of the checkpoints' architecture; one model is reused.
    """
    model = build_model().eval()
    rows = []
    for step in sorted(states):
        model.load_state_dict(states[step])
        rows.append(restricted_excluded(model, p, key_freqs, is_train))
    out = {"steps": torch.tensor(sorted(states))}
    out.update({name: torch.tensor([r[name] for r in rows], dtype=torch.float64) for name in rows[0]})
    return out


def phase_boundaries(steps: torch.Tensor, test_loss: torch.Tensor, excluded_loss: torch.Tensor,
                     level: float = 0.1, tail: float = 0.1) -> dict[str, int | None]:
    """Estimate the paper's three phase boundaries from a run's own curves (at checkpoints ``steps``).

    On log10 test loss, the plateau level is its maximum and the final level the median of the last
    ``tail`` of the run; ``level`` is a share of the drop between them. ``circuit_formation_end``:
    the last step at which the test loss is still within ``level`` of the plateau (the collapse
    begins). ``cleanup_end``: the first step after it within ``level`` of the final level (the
    collapse is over; None if never). ``memorisation_end``: the step of the lowest excluded loss
    before ``circuit_formation_end`` (after it, the model relies on the key frequencies).
    """
    log_test = test_loss.double().log10()
    n_tail = max(1, int(round(tail * len(steps))))
    high, low = log_test.max(), log_test[-n_tail:].median()
    drop = high - low
    circuit = int((log_test >= high - level * drop).nonzero().max())
    after = (log_test[circuit:] <= low + level * drop).nonzero()
    cleanup = circuit + int(after[0]) if len(after) and drop > 0 else None
    memorisation = int(excluded_loss[: circuit + 1].argmin())
    return {
        "memorisation_end": int(steps[memorisation]),
        "circuit_formation_end": int(steps[circuit]),
        "cleanup_end": None if cleanup is None else int(steps[cleanup]),
    }
