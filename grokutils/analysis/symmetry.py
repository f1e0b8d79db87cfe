"""What a commutative operation gives away: held-out pairs ``(a, b)`` whose mirror ``(b, a)`` is in the training set.

A network that learns only that ``a ∘ b = b ∘ a`` answers exactly these held-out pairs, and nothing else.
"""
from __future__ import annotations

import torch

from grokutils.tasks.split import Split


def mirror_share(split: Split, operands: tuple[int, int] = (0, 1)) -> float:
    """The share of ``split``'s validation pairs ``(a, b)``, ``a != b``, whose mirror ``(b, a)`` is a training pair of the
    same operation, among all its validation pairs. ``operands``: the positions of ``a`` and ``b`` in the inputs (``(0,
    1)`` in ``[a, b, =]``, ``(0, 2)`` in ``[a, op, b, =]``); a training row counts only where its other tokens (the
    operator, ``=``) are the validation rows' (a multi-task set's random-label rows do not)."""
    i, j = operands
    other = [k for k in range(split.x_val.shape[1]) if k not in operands]
    same = (split.x_train[:, other] == split.x_val[0, other]).all(1)
    x_train = split.x_train[same]
    n = int(max(split.x_train[:, [i, j]].max(), split.x_val[:, [i, j]].max())) + 1
    trained = torch.zeros(n, n, dtype=torch.bool)
    trained[x_train[:, i], x_train[:, j]] = True
    a, b = split.x_val[:, i], split.x_val[:, j]
    return ((a != b) & trained[b, a]).float().mean().item()
