"""Liu et al.'s effective theory (2022), in numbers: the phases of learning, the representation quality index and the
accuracy their theory predicts (their ``toy/train_add.py`` and ``phase_diagram_plot/``).

- ``phase``: a run's phase from its steps to 90% training and test accuracy: comprehension (both, the test within
  ``gap`` steps of the training), grokking (both, the test more than ``gap`` later), memorisation (training only),
  confusion (neither), as their phase-diagram notebooks label the cells.
- ``rqi``: the share of the parallelograms ``i + n = j + m`` (``i < j <= m < n``) that a representation closes: after
  it is normalised to zero mean and unit standard deviation, ``E_i + E_n - E_j - E_m`` has a mean square below 0.01.
- ``ideal_accuracy``: what the training set alone lets a network get right (their ``\\overline{Acc}``): the test pairs
  that share their sum with a training pair through a parallelogram the training set implies (linearly dependent on
  the parallelograms inside it).
- ``predicted_accuracy``: the same from the parallelograms a learned representation closes (their Figure 3's
  prediction), on the whole table.
"""
from __future__ import annotations

import torch

PHASES = ("comprehension", "grokking", "memorisation", "confusion")
SHORT = {"comprehension": "com", "grokking": "grok", "memorisation": "mem", "confusion": "conf"}
"""Each phase's short name, for maps and tables (comprehension and confusion share their initial)."""
LEVEL = 0.9
"""Their threshold on training and test accuracy (``threshold_train_acc``, ``threshold_test_acc``)."""
CLOSED = 0.01
"""A parallelogram is closed when its normalised side difference has a mean square below this (``threshold_P``)."""


def reached(step: int | None, budget: int) -> bool:
    """Whether a level was reached within ``budget`` steps: before the last step (their code records an unreached level
    at the last step, so the last step counts as not reached)."""
    return step is not None and step < budget


def phase(train_step: int | None, test_step: int | None, budget: int, gap: int) -> str:
    """The phase of a run from its steps to ``LEVEL`` training and test accuracy (None: never), by their rule: both
    reached, the test more than ``gap`` steps after the training, is grokking; otherwise comprehension (their default
    label, which also takes a gap of exactly ``gap`` and a test level reached without the training one); the training
    level alone is memorisation; neither is confusion."""
    train, test = reached(train_step, budget), reached(test_step, budget)
    if not test:
        return "memorisation" if train else "confusion"
    return "grokking" if train and test_step - train_step > gap else "comprehension"


def parallelograms(p: int) -> torch.Tensor:
    """``[M, 4]``: every ``(i, n, j, m)`` with ``i < j <= m < n`` and ``i + n = j + m`` (their ``parallelograms``)."""
    return torch.tensor([(i, n, j, m) for i in range(p) for j in range(i + 1, p) for m in range(j, p)
                         for n in range(m + 1, p) if i + n == j + m], dtype=torch.long)


def normalised(rep: torch.Tensor) -> torch.Tensor:
    """``rep [..., p, d]`` with each dimension at zero mean and unit (unbiased) standard deviation over the symbols."""
    return (rep - rep.mean(-2, keepdim=True)) / rep.std(-2, keepdim=True)


def side_errors(rep: torch.Tensor, quads: torch.Tensor) -> torch.Tensor:
    """``[..., M]``: the mean square over dimensions of ``E_a + E_b - E_c - E_d`` for each ``(a, b, c, d)`` of ``quads``
    on the normalised ``rep [..., p, d]``."""
    e = normalised(rep.double())
    diff = e[..., quads[:, 0], :] + e[..., quads[:, 1], :] - e[..., quads[:, 2], :] - e[..., quads[:, 3], :]
    return diff.pow(2).mean(-1)


def rqi(rep: torch.Tensor) -> torch.Tensor:
    """The representation quality index of ``rep [..., p, d]`` (one per leading index): the share of the
    ``parallelograms`` it closes."""
    quads = parallelograms(rep.shape[-2])
    return (side_errors(rep, quads) < CLOSED).double().mean(-1)


def equal_sum_pairs(pairs: torch.Tensor) -> list[tuple[int, int]]:
    """Every two positions ``s < t`` of the table ``pairs [N, 2]`` whose pairs have the same sum (their ``P0``)."""
    sums = pairs.sum(1).tolist()
    return [(s, t) for s in range(len(sums)) for t in range(s + 1, len(sums)) if sums[s] == sums[t]]


def _quads(pairs: torch.Tensor, links: list[tuple[int, int]]) -> torch.Tensor:
    """``[L, 4]``: the symbols ``(a, b, c, d)`` of each link ``(s, t)``, pair ``s = (a, b)`` and pair ``t = (c, d)``."""
    return torch.tensor([[*pairs[s].tolist(), *pairs[t].tolist()] for s, t in links], dtype=torch.long).view(-1, 4)


def covered(train: set[int], n_pairs: int, links: list[tuple[int, int]]) -> set[int]:
    """The training positions and every other position linked to a training one (their ``calculate_Dbar``)."""
    out = set(train)
    for s, t in links:
        if s in train and t not in train:
            out.add(t)
        if t in train and s not in train:
            out.add(s)
    return out


def table_accuracy(train: set[int], n_pairs: int, links: list[tuple[int, int]]) -> tuple[float, float]:
    """``(accuracy on the whole table, on the test pairs)`` when the training pairs and the test pairs ``covered`` by
    ``links`` are right and the others wrong."""
    right = covered(train, n_pairs, links)
    return len(right) / n_pairs, (len(right) - len(train)) / (n_pairs - len(train))


def implied_links(pairs: torch.Tensor, train: set[int], p: int) -> list[tuple[int, int]]:
    """The equal-sum links the training set implies (their ``PD``): those inside it, and every other one whose equation
    ``E_a + E_b - E_c - E_d = 0`` is a linear combination of theirs (adding it leaves the rank unchanged)."""
    links = equal_sum_pairs(pairs)
    inside = [(s, t) for s, t in links if s in train and t in train]
    rows = _rows(pairs, inside, p)
    rank = int(torch.linalg.matrix_rank(rows)) if len(inside) else 0
    implied = [link for link in links if link not in inside and
               int(torch.linalg.matrix_rank(torch.cat([rows, _rows(pairs, [link], p)]))) == rank]
    return inside + implied


def _rows(pairs: torch.Tensor, links: list[tuple[int, int]], p: int) -> torch.Tensor:
    """Each link's equation as a row of coefficients on the ``p`` symbols (+1 for ``a``, ``b``; -1 for ``c``, ``d``)."""
    rows = torch.zeros(len(links), p, dtype=torch.float64)
    for r, (a, b, c, d) in enumerate(_quads(pairs, links).tolist()):
        for symbol, sign in ((a, 1), (b, 1), (c, -1), (d, -1)):
            rows[r, symbol] += sign
    return rows


def ideal_accuracy(pairs: torch.Tensor, train_index: torch.Tensor, p: int) -> tuple[float, float]:
    """Their ideal accuracy (whole table, test pairs): what the training set alone implies (``implied_links``)."""
    train = set(train_index.tolist())
    return table_accuracy(train, len(pairs), implied_links(pairs, train, p))


def closed_links(pairs: torch.Tensor, rep: torch.Tensor) -> list[tuple[int, int]]:
    """The equal-sum links whose parallelogram the representation ``rep [p, d]`` closes (their ``PR``)."""
    links = equal_sum_pairs(pairs)
    errors = side_errors(rep, _quads(pairs, links))
    return [link for link, error in zip(links, errors.tolist()) if error < CLOSED]


def predicted_accuracy(pairs: torch.Tensor, train_index: torch.Tensor, rep: torch.Tensor) -> tuple[float, float]:
    """Their predicted accuracy (whole table, test pairs) from the parallelograms ``rep [p, d]`` closes (``PR``),
    the training pairs counted right."""
    return table_accuracy(set(train_index.tolist()), len(pairs), closed_links(pairs, rep))
