"""Modular-arithmetic datasets (Power et al. 2022; Nanda et al. 2023).

An equation ``a ∘ b = c (mod p)`` becomes the token sequence ``[a, b, =]`` (Nanda's layout) or
``[a, ∘, b, =]`` (``with_op_token=True``); the label is ``c``. With ``with_eos`` too it is framed as
``openai/grok`` frames it: the input is ``[<eos>, a, ∘, b, =, c]`` and the labels are ``[c, <eos>]``, the
next tokens after ``=`` and after ``c`` (labels ``[N, 2]``). Token ids ``0..p-1`` are the numbers, then come
the operator token (when used), ``<eos>`` (when used) and ``=``, which is always the last id.

Every dataset lives as whole tensors on one device, split once by ``frac_train`` and ``seed``; the
split keeps the positions of its training equations in the table of ``modular_equations``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from grokutils.config import check_choice, check_float, check_int
from grokutils.tasks.split import Split

OPERATIONS = ("add", "sub", "mul", "div", "div_or_sub", "x^2+y^2", "x^2+xy+y^2", "x^2+xy+y^2+x", "x^3+xy",
              "x^3+xy^2+y")
"""``a + b``, ``a - b``, ``a * b``, ``a / b``, then Power et al.'s other operations (their Appendix A.1, as
``openai/grok``'s ``data.py`` computes them): ``div_or_sub`` is ``a / b`` for odd ``b`` and ``a - b`` for even ``b``
(``b = 0`` included, being even), and the polynomials in ``x = a``, ``y = b``, all mod p."""
PRIME_OPS = ("mul", "div", "div_or_sub")


def is_prime(n: int) -> bool:
    """True when ``n`` is a prime number."""
    if n < 2:
        return False
    return all(n % d for d in range(2, int(n**0.5) + 1))


class EquationTable:
    """What a task posed as a table of equations ``a ∘ b = c`` shares (``ModularConfig``, ``PermutationConfig``): the
    token layout, the split's size, the checks of the split's fields and ``build``.

    A subclass is a frozen dataclass with the fields ``frac_train``, ``seed``, ``with_op_token``, ``with_eos`` and
    ``max_val`` and defines ``n_symbols`` (operand values, each one token), ``n_equations`` and ``equations()``.
    """

    def _check_split(self) -> None:
        if self.with_eos and not self.with_op_token:
            raise ValueError("with_eos=True needs with_op_token=True (openai/grok's sequences carry the operator)")
        check_float("frac_train", self.frac_train, 0, 1, open_low=True, open_high=True)
        check_int("seed", self.seed)
        if not 1 <= self.n_train < self.n_equations:
            raise ValueError(f"frac_train={self.frac_train!r} gives {self.n_train} of {self.n_equations} equations "
                             f"for training; allowed: a fraction leaving at least one for training and one held out")
        check_int("max_val", self.max_val, 1, none_ok=True)

    @property
    def d_vocab(self) -> int:
        """Number of input tokens: the operands, the operator and ``<eos>`` (if used) and ``=``."""
        return self.n_symbols + 1 + self.with_op_token + self.with_eos

    @property
    def n_ctx(self) -> int:
        """Length of an input sequence."""
        return 3 + self.with_op_token + 2 * self.with_eos

    @property
    def n_targets(self) -> int:
        """Labelled positions per example: 2 (``c`` and ``<eos>``) with ``with_eos``, else 1."""
        return 2 if self.with_eos else 1

    @property
    def n_classes(self) -> int:
        """Number of possible answers (the operand values)."""
        return self.n_symbols

    @property
    def n_train(self) -> int:
        """Size of the training set."""
        return int(self.frac_train * self.n_equations)

    def build(self, device: torch.device | str = "cpu") -> Split:
        """The split of this task, as tensors on ``device``."""
        return table_split(self, *self.equations()).to(device)


@dataclass(frozen=True)
class ModularConfig(EquationTable):
    """The task ``a ∘ b (mod p)``.

    Attributes:
        op: one of ``OPERATIONS``. Division keeps every ``a / b`` with ``b != 0`` (Power et al.: ``p * (p - 1)``
            equations); the others keep all ``p**2`` pairs.
        p: the modulus. ``mul``, ``div`` and ``div_or_sub`` need a prime.
        frac_train: fraction of all equations used for training, in (0, 1).
        seed: seed of the random train/validation split (independent of the model's seed).
        with_op_token: put an operator token between the operands (Power's layout, ``n_ctx = 4``)
            instead of ``[a, b, =]`` (Nanda's layout, ``n_ctx = 3``).
        with_eos: frame each equation as Power et al.'s code does, ``<eos> a ∘ b = c <eos>``, training on
            the two tokens after ``=`` (``n_ctx = 6``, ``n_targets = 2``); needs ``with_op_token``.
        max_val: keep at most this many of the held-out equations for validation (the first of the same
            shuffle, so a fixed random sample; None: all of them). Metrics are computed on the whole
            validation set at every logged step, so a smaller one makes logging cheaper.
        held_out_from: validation takes the shuffle's equations from this position on (None: from ``n_train``),
            so that runs of one ``seed`` whose training sets are nested prefixes share one test set (Varma et al.'s
            ungrokking); at least ``n_train``.
    """

    op: str = "add"
    p: int = 113
    frac_train: float = 0.3
    seed: int = 0
    with_op_token: bool = False
    with_eos: bool = False
    max_val: int | None = None
    held_out_from: int | None = None

    def __post_init__(self):
        check_choice("op", self.op, OPERATIONS)
        check_int("p", self.p, 2)
        if self.op in PRIME_OPS and not is_prime(self.p):
            raise ValueError(f"p={self.p} must be prime for op={self.op!r} (the group needs inverses)")
        self._check_split()
        check_int("held_out_from", self.held_out_from, self.n_train, self.n_equations - 1, none_ok=True)

    @property
    def n_symbols(self) -> int:
        """Number of operand values, each one token (``p``)."""
        return self.p

    @property
    def n_equations(self) -> int:
        """Size of the whole dataset before the split."""
        return self.p * (self.p - 1) if self.op == "div" else self.p * self.p

    def equations(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The whole table (``modular_equations``)."""
        return modular_equations(self.op, self.p)


def modular_equations(op: str, p: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All operand pairs ``(a, b)`` of ``op`` mod ``p`` and their answers ``c``, ``a`` outermost."""
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    if op == "div":
        keep = b != 0
        a, b = a[keep], b[keep]
    inverse = torch.tensor([pow(int(x), p - 2, p) for x in range(p)])  # Fermat: b^(p-2) = 1/b for prime p
    formulas = {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a * inverse[b],
                "div_or_sub": lambda: torch.where(b % 2 == 1, a * inverse[b], a - b),
                "x^2+y^2": lambda: a**2 + b**2, "x^2+xy+y^2": lambda: a**2 + a * b + b**2,
                "x^2+xy+y^2+x": lambda: a**2 + a * b + b**2 + a, "x^3+xy": lambda: a**3 + a * b,
                "x^3+xy^2+y": lambda: a**3 + a * b**2 + b}
    if op not in formulas:
        raise ValueError(f"op={op!r} is not supported; allowed values: {OPERATIONS}")
    return a, b, formulas[op]() % p


def tokenize(cfg, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
    """Token sequences ``[a, b, =]``, ``[a, op, b, =]`` or (``with_eos``) ``[<eos>, a, op, b, =, c]``; ``cfg`` is a
    task of operands ``0..n_symbols-1`` (``ModularConfig``, ``PermutationConfig``), whose next ids are the operator
    and ``<eos>`` (when used) and whose last is ``=``."""
    eq, op = torch.full_like(a, cfg.d_vocab - 1), torch.full_like(a, cfg.n_symbols)
    if cfg.with_eos:
        return torch.stack([torch.full_like(a, cfg.n_symbols + 1), a, op, b, eq, c], dim=1)
    if cfg.with_op_token:
        return torch.stack([a, op, b, eq], dim=1)
    return torch.stack([a, b, eq], dim=1)


def labels(cfg, c: torch.Tensor) -> torch.Tensor:
    """The labels: ``c`` ``[N]``, or ``[c, <eos>]`` ``[N, 2]`` with ``with_eos``."""
    return torch.stack([c, torch.full_like(c, cfg.n_symbols + 1)], dim=1) if cfg.with_eos else c


def table_split(cfg, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> Split:
    """Shuffle a table of equations ``a ∘ b = c`` with ``cfg.seed``, keep the first ``cfg.n_train`` for training and
    the rest (from ``cfg.held_out_from`` where a task has it; at most ``cfg.max_val`` of them) for validation."""
    x, c = tokenize(cfg, a, b, c), labels(cfg, c)
    perm = torch.randperm(len(c), generator=torch.Generator().manual_seed(cfg.seed))
    held_out_from = getattr(cfg, "held_out_from", None)
    train, val = perm[: cfg.n_train], perm[cfg.n_train if held_out_from is None else held_out_from :][: cfg.max_val]
    return Split(x[train], c[train], x[val], c[val], train_index=train)
