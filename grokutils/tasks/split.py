"""A task's data as full-batch tensors: the training set, the validation set, and where the training set came from."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Split:
    """A train/validation split held as full-batch tensors.

    Attributes:
        x_train: inputs of the training set, ``[n_train, ...]``.
        y_train: integer labels of the training set, ``[n_train]``.
        x_val: inputs of the held-out set.
        y_val: labels of the held-out set.
        train_index: positions of the training examples in the task's full table of examples (for
            modular arithmetic: the equation table, ``a`` outermost), or None.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    train_index: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> "Split":
        """The same split on ``device`` (``train_index`` stays on the CPU)."""
        tensors = (t.to(device) for t in (self.x_train, self.y_train, self.x_val, self.y_val))
        return Split(*tensors, train_index=self.train_index)
