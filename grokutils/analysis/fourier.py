"""The Fourier view of modular addition (Nanda et al. 2023), read off a model's weights and hooks.

The Fourier basis of Z_p has one constant row and, for each frequency ``k = 1 .. p // 2``, the rows
``cos(w_k x)`` and ``sin(w_k x)`` with ``w_k = 2 pi k / p`` (only the cosine at ``k = p / 2`` when
``p`` is even), all of unit norm. Everything here works on the grid of all ``p**2`` inputs
``[a, b, =]`` with ``a`` outermost, so tensors indexed by the input reshape to ``[p, p, ...]``.

The key frequencies are read off ``W_L = W_out W_U`` (the map from the MLP's neurons to the logits of
the numbers ``0 .. p-1``), as the paper's Appendix C does. The progress measures follow the paper's
Section 5.1, at the logits of the numbers: the *restricted loss* keeps the constant and the
``cos/sin(w_k (a + b))`` directions of the key frequencies (the 2D Fourier transform over ``(a, b)``)
and is measured on all pairs; the *excluded loss* removes those directions and is measured on the
training pairs, for all key frequencies together and for each alone. The TransformerLens demo's
variant, which keeps those directions of the MLP neurons and maps them to the logits, is kept as a
second, named measure (``mlp_restricted_loss``). The Gini coefficient of the norms of the Fourier
components of ``W_E`` and ``W_L`` measures how sparse they are (the paper's cleanup signature).
"""
from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

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


def neuron_logit_map(model: torch.nn.Module, p: int) -> torch.Tensor:
    """``W_L = W_out @ W_U``, restricted to the logits of the numbers ``0 .. p-1``: ``[d_mlp, p]``."""
    return weights_logit_map(model.blocks[0].mlp.W_out.detach(), model.unembed.W_U.detach(), p)


def weights_logit_map(w_out: torch.Tensor, w_u: torch.Tensor, p: int) -> torch.Tensor:
    """``W_L`` from ``W_out [d_mlp, d_model]`` and ``W_U [d_model, d_vocab]`` (TransformerLens layouts): ``[d_mlp, p]``."""
    return w_out.double() @ w_u.double()[:, :p]


def logit_map_power(model: torch.nn.Module, p: int) -> torch.Tensor:
    """``freq_power`` of ``W_L`` over the answers ``c`` (its ``p`` columns): ``[p // 2 + 1]``."""
    return freq_power(neuron_logit_map(model, p).T)


def key_frequencies(power: torch.Tensor, max_freqs: int = 8) -> list[int]:
    """The frequencies that stand out of a power spectrum (``freq_power``, e.g. of ``W_L``; the constant is ignored).

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


def component_norms(x: torch.Tensor) -> torch.Tensor:
    """Norm of each Fourier component of ``x [..., p, d]`` along its ``p`` axis: ``[..., p]`` (rows of ``fourier_basis``)."""
    basis = fourier_basis(x.shape[-2])[0].to(torch.float64)
    return (basis @ x.double()).norm(dim=-1)


def gini(values: torch.Tensor) -> torch.Tensor:
    """Gini coefficient of non-negative ``values [..., n]`` along the last axis (Hurley and Rickard's sparsity
    measure): 0 when all are equal, ``1 - 1/n`` when one holds everything. Zero vectors give 0."""
    if bool((values < 0).any()):
        raise ValueError("values must be non-negative: the Gini coefficient is defined for magnitudes")
    x, n = values.double().sort(dim=-1).values, values.shape[-1]
    rank = torch.arange(1, n + 1, dtype=torch.float64)
    total = x.sum(-1)
    g = ((2 * rank - n - 1) * x).sum(-1) / (n * total.clamp_min(1e-300))
    return torch.where(total > 0, g, torch.zeros_like(g))


def gini_over_checkpoints(states: dict[int, dict], p: int) -> dict[str, torch.Tensor]:
    """Gini coefficients of the Fourier component norms of ``W_E`` (number rows) and ``W_L`` at each checkpoint.

    Returns ``steps``, ``W_E`` and ``W_L`` (``[n_checkpoints]`` each, in step order).
    """
    steps = sorted(states)
    w_e = torch.stack([states[k]["embed.W_E"][:p].double() for k in steps])
    w_l = torch.stack([weights_logit_map(states[k]["blocks.0.mlp.W_out"], states[k]["unembed.W_U"], p).T
                       for k in steps])
    return {"steps": torch.tensor(steps), "W_E": gini(component_norms(w_e)), "W_L": gini(component_norms(w_l))}


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


def trig_sum_directions(p: int, key_freqs, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Unit vectors ``cos(w_k (a + b))`` and ``sin(w_k (a + b))`` over the grid: ``[2 * len(key_freqs), p * p]``
    (all cosines first, then the sines, in the order of ``key_freqs``)."""
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    angles = 2 * math.pi * torch.tensor(list(key_freqs), dtype=torch.float64)[:, None] * (a + b) / p
    directions = torch.cat([torch.cos(angles), torch.sin(angles)])
    return (directions / directions.norm(dim=1, keepdim=True)).to(dtype)


def _loss_acc(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy (float64) and accuracy of ``logits [N, C]``."""
    logits = logits.double()
    return float(F.cross_entropy(logits, labels)), float((logits.argmax(-1) == labels).double().mean())


def split_key_directions(logits: torch.Tensor, key_freqs, each: bool = True,
                         rows: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The paper's ablations of ``logits [p * p, C]`` (grid order, float64): ``restricted`` keeps the constant
    and the ``cos/sin(w_k (a + b))`` directions of the key frequencies over ``(a, b)``, ``excluded``
    removes those directions, and (with ``each``) ``excluded_each`` ``[len(key_freqs), n, C]`` removes one key
    frequency's two directions at a time. ``rows`` (a boolean mask over the grid) keeps only those rows of
    ``excluded`` and ``excluded_each`` (``n`` of them; all ``p * p`` without it); ``restricted`` has every row."""
    p = math.isqrt(logits.shape[0])
    directions = _directions(p, tuple(int(k) for k in key_freqs))
    logits = logits.double()
    coefficients = directions @ logits
    kept = directions.T @ coefficients
    out = {"restricted": logits.mean(0) + kept,
           "excluded": logits - kept if rows is None else logits[rows] - kept[rows]}
    if each:
        n = len(directions) // 2
        chosen, base = (directions, logits) if rows is None else (directions[:, rows], logits[rows])
        parts = [chosen[[i, i + n]].T @ coefficients[[i, i + n]] for i in range(n)]
        out["excluded_each"] = base - torch.stack(parts) if parts else base[None, :0]
    return out


def restricted_through(values: torch.Tensor, key_freqs, weight: torch.Tensor) -> torch.Tensor:
    """``split_key_directions(values, key_freqs)["restricted"] @ weight`` for ``values [p * p, d]`` and ``weight
    [d, C]``, in float64: the kept directions are mapped through ``weight`` before they are spread over the grid,
    which never forms the ``[p * p, d]`` restricted values (the same numbers to rounding, ~20x less work for the MLP
    neurons)."""
    p = math.isqrt(values.shape[0])
    directions, values, weight = _directions(p, tuple(int(k) for k in key_freqs)), values.double(), weight.double()
    return values.mean(0) @ weight + directions.T @ ((directions @ values) @ weight)


@functools.lru_cache(maxsize=8)
def _directions(p: int, key_freqs: tuple[int, ...]) -> torch.Tensor:
    """``trig_sum_directions`` in float64, computed once per ``(p, key_freqs)`` (the progress measures ask for the
    same directions at every checkpoint). Read only: callers never write to it."""
    return trig_sum_directions(p, key_freqs, torch.float64)


def restricted_excluded(model: torch.nn.Module, p: int, key_freqs, is_train: torch.Tensor) -> dict:
    """The paper's progress measures of one model (Section 5.1), at the logits of the numbers ``0 .. p-1``.

    ``is_train`` is a boolean mask over the grid of ``all_inputs``. Returns floats ``train_loss``,
    ``train_acc``, ``test_loss`` and ``test_acc`` (over all the model's outputs, as in training),
    ``restricted_loss`` and ``restricted_acc`` (``split_key_directions``' restricted logits, all pairs),
    ``excluded_loss`` and ``excluded_acc`` (its excluded logits, training pairs),
    ``mlp_restricted_loss`` (the TransformerLens demo's variant: the directions kept in the MLP
    neurons, mapped to the logits through ``W_L``, the other paths' mean restored; all pairs), and a
    tensor ``excluded_loss_per_freq`` (one key frequency removed at a time, training pairs). All in
    float64 (a grokked model's losses underflow float32).
    """
    tokens, labels = all_inputs(p, model.cfg.d_vocab - 1)
    with torch.no_grad():
        full, cache = model.run_with_cache(tokens, last_only=True, names_filter=MLP_POST)
    full, acts = full[:, -1].double(), cache[MLP_POST][:, -1].double()
    logits = full[:, :p]
    parts = split_key_directions(logits, key_freqs, rows=is_train)
    neurons = restricted_through(acts, key_freqs, neuron_logit_map(model, p))
    neurons = neurons - neurons.mean(0) + logits.mean(0)
    train_labels = labels[is_train]
    out = {}
    out["train_loss"], out["train_acc"] = _loss_acc(full[is_train], train_labels)
    out["test_loss"], out["test_acc"] = _loss_acc(full[~is_train], labels[~is_train])
    out["restricted_loss"], out["restricted_acc"] = _loss_acc(parts["restricted"], labels)
    out["excluded_loss"], out["excluded_acc"] = _loss_acc(parts["excluded"], train_labels)
    out["mlp_restricted_loss"] = _loss_acc(neurons, labels)[0]
    out["excluded_loss_per_freq"] = torch.tensor([_loss_acc(x, train_labels)[0] for x in parts["excluded_each"]],
                                                 dtype=torch.float64)
    return out


def progress_measures(build_model, states: dict[int, dict], p: int, key_freqs, is_train: torch.Tensor) -> dict:
    """``restricted_excluded`` at every checkpoint ``{step: state_dict}``, as tensors indexed like ``steps``.

    ``excluded_loss_per_freq`` is ``[n_checkpoints, len(key_freqs)]``. ``build_model()`` returns a fresh
    model of the checkpoints' architecture; one model is reused.
    """
    model = build_model().eval()
    rows = []
    for step in sorted(states):
        model.load_state_dict(states[step])
        rows.append(restricted_excluded(model, p, key_freqs, is_train))
    out = {"steps": torch.tensor(sorted(states))}
    for name in rows[0]:
        values = [r[name] for r in rows]
        out[name] = torch.stack(values) if torch.is_tensor(values[0]) else torch.tensor(values, dtype=torch.float64)
    return out


def phase_boundaries(steps: torch.Tensor, test_loss: torch.Tensor, excluded_loss: torch.Tensor,
                     level: float = 0.1, tail: float = 0.1) -> dict[str, int | None]:
    """Estimate the paper's three phase boundaries from a run's own curves (at checkpoints ``steps``).

    On log10 test loss, the final level is the median of the last ``tail`` of the run and the plateau
    level the maximum before ``cleanup_end``, the first step at which the test loss comes within
    ``level`` (a share of the drop between them) of the final level. Found in two passes (the first
    with the global maximum), so a spike after the collapse, even one above the plateau's height,
    moves neither boundary. ``circuit_formation_end`` is the last step
    before ``cleanup_end`` at which the test loss is still within ``level`` of the plateau (the collapse
    begins). ``memorisation_end`` is the step of the lowest excluded loss up to ``circuit_formation_end``
    (after it, the model relies on the key frequencies). With no drop (a flat curve) ``cleanup_end`` is
    None and the plateau is the whole run.
    """
    log_test = test_loss.double().log10()
    n_tail = max(1, int(round(tail * len(steps))))
    low = log_test[-n_tail:].median()
    cleanup, high = None, log_test.max()
    for _ in range(2):  # the first pass's plateau may be a late spike; the second takes the maximum before cleanup
        reached = (log_test <= low + level * (high - low)).nonzero().flatten()
        cleanup = int(reached[0]) if high > low and len(reached) and int(reached[0]) > 0 else None
        before = log_test[: (len(log_test) if cleanup is None else cleanup)]
        high = before.max()
    circuit = int((before >= high - level * (high - low)).nonzero().max())
    memorisation = int(excluded_loss[: circuit + 1].argmin())
    return {
        "memorisation_end": int(steps[memorisation]),
        "circuit_formation_end": int(steps[circuit]),
        "cleanup_end": None if cleanup is None else int(steps[cleanup]),
    }


def count_spikes(steps: torch.Tensor, loss: torch.Tensor, factor: float = 100.0, window: int = 20,
                 start: int | None = None, end: int | None = None, floor: float = 0.0) -> dict:
    """Count upward loss spikes: a spike starts where the loss rises to at least ``factor`` times its
    lowest value over the previous ``window`` logged steps, and ends once it is back below
    ``sqrt(factor)`` times that value (one spike per excursion). Losses below ``floor`` count as
    ``floor`` (e.g. float32's resolution, so that a float32 loss rounding between 0 and 1e-7 is no spike).

    Only logged steps in ``[start, end]`` are read (None: no bound). Returns ``n_spikes``, the
    ``spike_steps`` at which each starts, ``max_rise`` (the largest ratio of a loss to the lowest loss of
    the ``window`` before it, over the whole range, spike or not) and ``min_loss``.
    """
    if factor <= 1 or not math.isfinite(factor):
        raise ValueError(f"factor={factor!r} must be a finite number > 1")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window={window!r} must be an integer >= 1")
    if not floor >= 0:
        raise ValueError(f"floor={floor!r} must be a number >= 0")
    keep = torch.ones(len(steps), dtype=torch.bool)
    keep &= steps >= start if start is not None else keep
    keep &= steps <= end if end is not None else keep
    steps, log_loss = steps[keep], loss[keep].double().clamp_min(max(floor, 1e-300)).log10()
    threshold, spikes, baseline, max_rise = math.log10(factor), [], None, 0.0
    for i in range(1, len(log_loss)):
        floor = float(log_loss[max(0, i - window):i].min())
        max_rise = max(max_rise, float(log_loss[i]) - floor)
        if baseline is None and float(log_loss[i]) - floor >= threshold:
            baseline = floor
            spikes.append(int(steps[i]))
        elif baseline is not None and float(log_loss[i]) - baseline < threshold / 2:
            baseline = None
    return {"n_spikes": len(spikes), "spike_steps": spikes, "max_rise": 10 ** max_rise,
            "min_loss": float(10 ** log_loss.min()) if len(log_loss) else math.nan}
