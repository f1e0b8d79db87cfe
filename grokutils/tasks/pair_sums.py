"""Liu et al.'s toy addition (2022): ``a + b`` over the unordered pairs ``a <= b`` of ``p`` symbols.

The ``p (p + 1) / 2`` pairs (55 for p = 10; ``a`` outermost) are the whole table; the label of ``(a, b)`` is the
sum ``a + b``, one of ``2p - 1`` classes. The split follows their ``toy/train_add.py``: one NumPy legacy random
stream per seed (``np.random.seed``) draws the ``2p - 1`` output templates first (the model's, ``models.RepDecoder``)
and then the training pairs, so the split skips the templates' draws to pick the same pairs as their code at the
same seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from grokutils.config import check_int
from grokutils.tasks.split import Split


@dataclass(frozen=True)
class PairSumConfig:
    """The sums of the unordered pairs of ``p`` symbols, ``n_train`` of them for training.

    Attributes:
        p: number of symbols (Liu et al.: 10).
        n_train: training pairs (their ``train_num``: 45 of the 55).
        seed: seed of the split (their ``seed``; NumPy's legacy generator, in ``[0, 2**32 - 1]``).
        d_template: the width of the templates their code draws from the same stream before the split (their
            ``output_dim``, 30): the split at ``seed`` is theirs when this equals the model's ``d_out``.
    """

    p: int = 10
    n_train: int = 45
    seed: int = 0
    d_template: int = 30

    def __post_init__(self):
        check_int("p", self.p, 2)
        check_int("n_train", self.n_train, 1, self.n_pairs - 1)
        check_int("seed", self.seed, 0, 2**32 - 1)
        check_int("d_template", self.d_template, 1)

    @property
    def n_pairs(self) -> int:
        """Number of pairs in the table, ``p (p + 1) / 2``."""
        return self.p * (self.p + 1) // 2

    @property
    def n_classes(self) -> int:
        """Number of possible sums, ``2p - 1``."""
        return 2 * self.p - 1

    @property
    def d_vocab(self) -> int:
        """Number of input tokens: the symbols."""
        return self.p

    def pairs(self) -> torch.Tensor:
        """Every pair ``(a, b)`` with ``a <= b``, ``[n_pairs, 2]``, ``a`` outermost (their ``D0_id``)."""
        return torch.tensor([(a, b) for a in range(self.p) for b in range(a, self.p)])

    def train_index(self) -> torch.Tensor:
        """The positions of the training pairs in ``pairs()``, in the order their code draws them."""
        stream = np.random.RandomState(self.seed)
        stream.normal(0, 1, size=(self.n_classes, self.d_template))  # the templates' draws, as in their one stream
        return torch.from_numpy(stream.choice(self.n_pairs, self.n_train, replace=False)).long()

    def build(self, device: torch.device | str = "cpu") -> Split:
        """The split, as tensors on ``device``: inputs ``[N, 2]`` (the pair), labels ``[N]`` (the sum)."""
        pairs, train = self.pairs(), self.train_index()
        held = torch.ones(self.n_pairs, dtype=torch.bool)
        held[train] = False
        val = held.nonzero()[:, 0]
        split = Split(pairs[train], pairs[train].sum(1), pairs[val], pairs[val].sum(1), train_index=train)
        return split.to(device)
