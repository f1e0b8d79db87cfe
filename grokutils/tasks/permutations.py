"""Products in the symmetric group S_n (Power et al.'s S5 tasks), framed as the modular tasks are.

The ``n!`` permutations of ``0..n-1`` are numbered in lexicographic order (``itertools.permutations``, as
``openai/grok`` lists them), each one token. A permutation ``x`` is the map ``i -> x[i]``, and ``x.y`` applies ``x``
first, then ``y``: ``(x.y)[i] = y[x[i]]`` (``openai/grok``'s ``c = b[a]``). Every ordered pair is an equation.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from grokutils.config import check_choice, check_int
from grokutils.tasks.modular import EquationTable

PRODUCTS = ("x.y", "x.y.x^-1", "x.y.x")
"""The products Power et al. train on: ``x.y``, the conjugate ``x.y.x^-1`` and ``x.y.x``."""


def permutations(n: int) -> torch.Tensor:
    """``[n!, n]``: every permutation of ``0..n-1``, in lexicographic order (row ``i`` is token ``i``)."""
    return torch.tensor(list(itertools.permutations(range(n))))


def compose(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``x.y`` row by row: ``x`` first, then ``y`` (``[N, n]`` each)."""
    return torch.gather(y, 1, x)


def inverse(x: torch.Tensor) -> torch.Tensor:
    """The inverse of each row of ``x`` ``[N, n]``."""
    return torch.argsort(x, dim=1)


def permutation_equations(op: str, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All ordered pairs ``(a, b)`` of permutation tokens and the token of ``op(a, b)``, ``a`` outermost."""
    check_choice("op", op, PRODUCTS)
    table = permutations(n)
    a, b = torch.cartesian_prod(torch.arange(len(table)), torch.arange(len(table))).T
    x, y = table[a], table[b]
    c = compose(x, y)
    if op == "x.y.x^-1":
        c = compose(c, inverse(x))
    elif op == "x.y.x":
        c = compose(c, x)
    return a, b, token_of(c, n)


def token_of(perms: torch.Tensor, n: int) -> torch.Tensor:
    """The lexicographic index of each row of ``perms`` ``[N, n]`` (its Lehmer code read in factorial base)."""
    smaller_later = (perms[:, None, :] < perms[:, :, None]).triu(1).sum(-1)  # [N, n]: later entries below entry i
    weights = torch.tensor([math.factorial(n - 1 - i) for i in range(n)])
    return (smaller_later * weights).sum(-1)


@dataclass(frozen=True)
class PermutationConfig(EquationTable):
    """A product in S_n as a table of equations ``a ∘ b = c`` over ``n!`` tokens.

    Attributes:
        op: one of ``PRODUCTS``.
        n: the group is S_n (Power et al.: 5, 120 elements and 14,400 equations).
        frac_train: fraction of the equations used for training, in (0, 1).
        seed: seed of the random train/validation split.
        with_op_token: ``[a, ∘, b, =]`` instead of ``[a, b, =]``.
        with_eos: ``openai/grok``'s framing ``<eos> a ∘ b = c <eos>`` (needs ``with_op_token``).
        max_val: keep at most this many held-out equations for validation (None: all).
    """

    op: str = "x.y"
    n: int = 5
    frac_train: float = 0.5
    seed: int = 0
    with_op_token: bool = False
    with_eos: bool = False
    max_val: int | None = None

    def __post_init__(self):
        check_choice("op", self.op, PRODUCTS)
        check_int("n", self.n, 2, 6)
        self._check_split()

    @property
    def n_symbols(self) -> int:
        """Number of group elements, each one token (``n!``)."""
        return math.factorial(self.n)

    @property
    def n_equations(self) -> int:
        """Size of the whole table (every ordered pair)."""
        return self.n_symbols**2

    def equations(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The whole table (``permutation_equations``)."""
        return permutation_equations(self.op, self.n)
