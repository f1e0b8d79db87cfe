"""What a commutative operation gives away: held-out pairs ``(a, b)`` whose mirror ``(b, a)`` is in the training set.

A network that learns only that ``a ∘ b = b ∘ a`` answers exactly these held-out pairs, and nothing else.
"""
from __future__ import annotations

import torch

from grokutils.tasks.split import Split


def mirror_share(split: Split) -> float:
    """The share of ``split``'s validation pairs ``(a, b)``, ``a != b``, whose mirror ``(b, a)`` is a training pair, among all
    its validation pairs; the operands are the first two tokens of ``[a, b, =]`` inputs."""
    n = int(max(split.x_train[:, :2].max(), split.x_val[:, :2].max())) + 1
    trained = torch.zeros(n, n, dtype=torch.bool)
    trained[split.x_train[:, 0], split.x_train[:, 1]] = True
    a, b = split.x_val[:, 0], split.x_val[:, 1]
    return ((a != b) & trained[b, a]).float().mean().item()
