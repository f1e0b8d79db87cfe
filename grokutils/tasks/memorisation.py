"""Tasks with nothing to generalise: random labels on the pairs of ``Z_p`` (Huang et al. 2024).

``RandomLabelConfig`` gives every pair ``(a, b)`` a label drawn once, uniformly from ``0..p-1``, by ``label_seed``;
with ``symmetric`` (Huang et al.'s choice, since ``a + b = b + a``) ``(a, b)`` and ``(b, a)`` share theirs. A network
can only memorise it, so its training accuracy measures memorisation capacity. Its validation accuracy is above
chance only through the symmetry: a held-out pair whose mirror was trained shares that pair's label.

``MultiTaskConfig`` mixes two tasks in one training set (Huang et al.'s Section 5): ``a + b mod p`` and random labels,
told apart by their operator token in ``[a, op, b, =]``. The validation set is the held-out addition pairs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from grokutils.config import check_float, check_int
from grokutils.tasks.modular import EquationTable, modular_equations
from grokutils.tasks.split import Split


def random_labels(p: int, label_seed: int, symmetric: bool = True) -> torch.Tensor:
    """A random label in ``0..p-1`` for every pair ``(a, b)`` of ``0..p-1``, ``a`` outermost (``[p * p]``); with
    ``symmetric`` the label of ``(a, b)`` is that of ``(min(a, b), max(a, b))``."""
    table = torch.randint(p, (p, p), generator=torch.Generator().manual_seed(label_seed))
    if symmetric:
        upper = torch.triu(table)
        table = upper + torch.triu(table, diagonal=1).T
    return table.flatten()


@dataclass(frozen=True)
class RandomLabelConfig(EquationTable):
    """Random labels on the ``p * p`` pairs, split like a modular task.

    Attributes:
        p: the number of operand values (and of labels).
        frac_train: fraction of the pairs used for training, in (0, 1); the rest are validation.
        seed: seed of the train/validation split.
        label_seed: seed of the labels (``random_labels``), independent of the split.
        symmetric: ``(a, b)`` and ``(b, a)`` share a label (Huang et al.).
        with_op_token: put an operator token between the operands (``[a, op, b, =]``).
        with_eos: ``openai/grok``'s framing (see ``ModularConfig``); needs ``with_op_token``.
        max_val: keep at most this many held-out pairs for validation (None: all).
    """

    p: int = 113
    frac_train: float = 0.9
    seed: int = 0
    label_seed: int = 0
    symmetric: bool = True
    with_op_token: bool = False
    with_eos: bool = False
    max_val: int | None = None

    def __post_init__(self):
        check_int("p", self.p, 2)
        check_int("label_seed", self.label_seed)
        if not isinstance(self.symmetric, bool):
            raise ValueError(f"symmetric={self.symmetric!r} must be True or False")
        self._check_split()

    @property
    def n_symbols(self) -> int:
        """Number of operand values, each one token (``p``)."""
        return self.p

    @property
    def n_equations(self) -> int:
        """Number of pairs (``p * p``)."""
        return self.p * self.p

    def equations(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every pair and its random label, ``a`` outermost."""
        a, b = torch.cartesian_prod(torch.arange(self.p), torch.arange(self.p)).T
        return a, b, random_labels(self.p, self.label_seed, self.symmetric)


@dataclass(frozen=True)
class MultiTaskConfig:
    """``a + b mod p`` trained beside a random-label task of ``mem_ratio`` times as many examples.

    Inputs are ``[a, op, b, =]``: operator token ``p`` for addition, ``p + 1`` for the random-label task, ``=`` is
    ``p + 2``. The training set is the first ``n_add`` addition pairs of a shuffle by ``seed`` followed by ``n_mem``
    random-label pairs (the first of another shuffle by ``seed``, labelled by ``random_labels``); validation is the
    held-out addition pairs (at most ``max_val``).

    Attributes:
        p: the modulus.
        frac_train: fraction of the ``p * p`` addition pairs used for training, in (0, 1).
        mem_ratio: random-label examples per addition training example (0: addition alone, in the same layout).
        seed: seed of the addition split and of the choice of random-label pairs.
        label_seed: seed of the random labels.
        symmetric: ``(a, b)`` and ``(b, a)`` of the random-label task share a label.
        max_val: keep at most this many held-out addition pairs for validation (None: all).
    """

    p: int = 113
    frac_train: float = 0.3
    mem_ratio: float = 1.0
    seed: int = 0
    label_seed: int = 0
    symmetric: bool = True
    max_val: int | None = None

    def __post_init__(self):
        check_int("p", self.p, 2)
        check_float("frac_train", self.frac_train, 0, 1, open_low=True, open_high=True)
        check_float("mem_ratio", self.mem_ratio, 0)
        check_int("seed", self.seed)
        check_int("label_seed", self.label_seed)
        check_int("max_val", self.max_val, 1, none_ok=True)
        if not isinstance(self.symmetric, bool):
            raise ValueError(f"symmetric={self.symmetric!r} must be True or False")
        if not 1 <= self.n_add < self.p * self.p:
            raise ValueError(f"frac_train={self.frac_train!r} gives {self.n_add} of {self.p * self.p} addition pairs "
                             "for training; allowed: a fraction leaving at least one for training and one held out")
        if self.n_mem > self.p * self.p:
            raise ValueError(f"mem_ratio={self.mem_ratio!r} asks for {self.n_mem} random-label pairs; allowed: at "
                             f"most the {self.p * self.p} pairs there are (mem_ratio <= {self.p * self.p / self.n_add:.3g})")

    @property
    def d_vocab(self) -> int:
        """Number of input tokens: the numbers, the two operators and ``=``."""
        return self.p + 3

    @property
    def n_ctx(self) -> int:
        """Length of an input sequence, ``[a, op, b, =]``."""
        return 4

    @property
    def n_targets(self) -> int:
        """Labelled positions per example."""
        return 1

    @property
    def n_classes(self) -> int:
        """Number of possible answers."""
        return self.p

    @property
    def n_add(self) -> int:
        """Addition examples in the training set."""
        return int(self.frac_train * self.p * self.p)

    @property
    def n_mem(self) -> int:
        """Random-label examples in the training set."""
        return round(self.mem_ratio * self.n_add)

    @property
    def n_train(self) -> int:
        """Size of the training set."""
        return self.n_add + self.n_mem

    def build(self, device: torch.device | str = "cpu") -> Split:
        """The mixed training set and the held-out addition pairs, as tensors on ``device``. ``train_index`` numbers
        the addition pairs ``0..p*p-1`` and the random-label pairs ``p*p..2*p*p-1`` (each ``a`` outermost)."""
        a, b, c = modular_equations("add", self.p)
        memorised = random_labels(self.p, self.label_seed, self.symmetric)
        gen = torch.Generator().manual_seed(self.seed)
        add_perm, mem_perm = torch.randperm(len(c), generator=gen), torch.randperm(len(c), generator=gen)
        x_add, x_mem = self._tokens(a, b, 0), self._tokens(a, b, 1)
        train, val, mem = add_perm[: self.n_add], add_perm[self.n_add:][: self.max_val], mem_perm[: self.n_mem]
        split = Split(torch.cat([x_add[train], x_mem[mem]]), torch.cat([c[train], memorised[mem]]), x_add[val], c[val],
                      train_index=torch.cat([train, mem + len(c)]))
        return split.to(device)

    def _tokens(self, a: torch.Tensor, b: torch.Tensor, task: int) -> torch.Tensor:
        return torch.stack([a, torch.full_like(a, self.p + task), b, torch.full_like(a, self.p + 2)], dim=1)
