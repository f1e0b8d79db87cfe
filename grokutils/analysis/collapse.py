"""Softmax collapse (Prieto et al. 2025): where a precision rounds the softmax away, and how much of a run it reached.

A softmax computes ``exp(z_j - max z)`` and their sum; the largest term is exactly 1, so once every other term is
below half the spacing of floating-point numbers just above 1 the sum is exactly 1, the correct class's probability
rounds to 1 and its cross-entropy to exactly 0. ``collapse_margin`` finds, for a precision and a number of classes,
the margin (the correct logit minus all the others, taken equal) from which that happens, by bisection on the
arithmetic itself; ``margin_losses`` is the cross-entropy of such an example over a range of margins. The per-run
meter is ``history.softmax_collapse`` (a probe logged during training); ``stored_collapse`` applies it to the weights
a run kept (its checkpoints), so runs trained without the probe can be measured after the fact.
"""
from __future__ import annotations

import torch

from grokutils.history import PRECISIONS, History, softmax_collapse, softmax_sums


def _logits_at(margin: float, n_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """One example's logits: ``margin`` for class 0, 0 for the other ``n_classes - 1``."""
    z = torch.zeros(n_classes, dtype=torch.float64)
    z[0] = margin
    return z.to(dtype)


def collapses_at(margin: float, n_classes: int, dtype: torch.dtype) -> bool:
    """Whether an example whose correct logit leads all ``n_classes - 1`` others by ``margin`` has a softmax sum of
    exactly 1 in ``dtype``."""
    return bool(softmax_sums(_logits_at(margin, n_classes, dtype), dtype) == 1)


def collapse_margin(n_classes: int, dtype: torch.dtype, high: float = 200.0, tol: float = 1e-3) -> float:
    """The smallest margin (to ``tol``) at which such an example's softmax collapses in ``dtype``: the bisection of
    ``collapses_at`` between 0 (never collapsed: the sum is ``n_classes``) and ``high`` (collapsed in every format the
    book uses)."""
    if not collapses_at(high, n_classes, dtype):
        raise ValueError(f"high={high!r} does not collapse in {dtype}; allowed: a margin at which it does")
    low = 0.0
    while high - low > tol:
        mid = (low + high) / 2
        low, high = (low, mid) if collapses_at(mid, n_classes, dtype) else (mid, high)
    return high


def collapse_margins(n_classes: int) -> dict[str, float]:
    """``collapse_margin`` for each of ``history.PRECISIONS``, by name (``f16``, ``f32``, ``f64``)."""
    return {name: collapse_margin(n_classes, dtype) for name, dtype in PRECISIONS.items()}


def margin_losses(margins: torch.Tensor, n_classes: int) -> dict[str, torch.Tensor]:
    """The cross-entropy, with the log-softmax in each of ``PRECISIONS``, of examples whose correct logit leads the
    ``n_classes - 1`` others by each of ``margins``; float64 ``[len(margins)]`` per precision (exactly 0 where the
    softmax has collapsed)."""
    z = torch.zeros(len(margins), n_classes, dtype=torch.float64)
    z[:, 0] = margins.double()
    return {name: -torch.log_softmax(z.to(dtype), -1)[:, 0].double() for name, dtype in PRECISIONS.items()}


@torch.no_grad()
def stored_collapse(history: History, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The collapse meter on the weights ``history`` kept, at each checkpoint and at the end: ``{"steps": [S],
    column: [S]}``, each column (``history.softmax_collapse``'s) the share of the examples ``(x, y)`` (the run's
    training set) at that step."""
    states = {**history.checkpoints, int(history.steps[-1]): history.final_state}
    model = history.config.model.build().eval()
    out: dict[str, list[float]] = {}
    for step in sorted(states):
        model.load_state_dict(states[step])
        shares = softmax_collapse(model.final_logits(x), y)
        out.setdefault("steps", []).append(step)
        for name, hits in shares.items():
            out.setdefault(name, []).append(hits.double().mean().item())
    return {name: torch.tensor(values) for name, values in out.items()}
