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


MIRROR_CLASSES = ("mirror answers", "mirror differs", "no mirror")
"""The kinds of held-out pair ``(a, b)``: its mirror ``(b, a)`` is a training pair of the same answer (commutativity
answers it), a training pair of another answer (a product that does not commute), or not a training pair (the
diagonal ``a = b`` included)."""


def mirror_classes(split: Split, operands: tuple[int, int] = (0, 1)) -> torch.Tensor:
    """``[n_val]``: each validation pair's index in ``MIRROR_CLASSES``, read from ``split`` alone (a mirror's answer is its
    training label). Single-task splits only (``[a, b, =]`` or ``[a, op, b, =]``)."""
    i, j = operands
    n = int(max(split.x_train[:, [i, j]].max(), split.x_val[:, [i, j]].max())) + 1
    answer = torch.full((n, n), -1, dtype=torch.long)
    answer[split.x_train[:, i], split.x_train[:, j]] = split.y_train.long()
    a, b = split.x_val[:, i], split.x_val[:, j]
    mirror = answer[b, a]
    trained = (a != b) & (mirror >= 0)
    return torch.where(trained, torch.where(mirror == split.y_val.long(), 0, 1), 2)


@torch.no_grad()
def held_out_correct(model: torch.nn.Module, split: Split) -> torch.Tensor:
    """``[n_val]``: whether ``model`` (with ``final_logits``, in eval mode) answers each validation pair of ``split``."""
    return model.final_logits(split.x_val).argmax(-1) == split.y_val


def accuracy_by_class(correct: torch.Tensor, classes: torch.Tensor) -> dict[str, dict[str, float | int | None]]:
    """Per kind of ``MIRROR_CLASSES``: its ``count`` of held-out pairs, its ``share`` of them and the ``accuracy`` on its
    pairs (None where it has none)."""
    out = {}
    for k, name in enumerate(MIRROR_CLASSES):
        members = classes == k
        out[name] = {"count": int(members.sum()), "share": members.float().mean().item(),
                     "accuracy": correct[members].float().mean().item() if members.any() else None}
    return out


def pooled_accuracy(readings: list[dict], kinds: tuple[str, ...]) -> float | None:
    """The accuracy on the held-out pairs of ``kinds`` (of ``MIRROR_CLASSES``) pooled over several ``accuracy_by_class``
    readings (a run's fractions, say), each pair counting once (None: no such pair)."""
    cells = [r[k] for r in readings for k in kinds if r[k]["count"]]
    total = sum(c["count"] for c in cells)
    return None if not total else sum(c["count"] * c["accuracy"] for c in cells) / total
