"""Muon (Jordan et al. 2024): momentum whose update is orthogonalised, for the hidden weight matrices of a run.

``Muon`` has the interface of ``step.Adam`` (``params``, ``zero_grad``, ``step(lr_factor)``), so the one update step
drives it unchanged, alone or for K stacked runs. It follows ``torch.optim.Muon`` with torch's defaults (momentum
0.95, Nesterov, five Newton-Schulz iterations with coefficients (3.4445, -4.775, 2.0315), eps 1e-7) and its
``adjust_lr_fn="match_rms_adamw"``: the orthogonalised update is scaled by ``0.2 * sqrt(max(rows, columns))``, so that
its size matches an AdamW update and one learning rate and weight decay serve both halves. The embeddings, the
unembedding and the biases, which Muon is not meant for, are trained by AdamW (``step.Adam``) at the same learning
rate and weight decay. The Newton-Schulz iteration runs in float32 (torch's runs in bfloat16, which on a CPU is
slower and coarser); ``ns_dtype`` chooses.
"""
from __future__ import annotations

import math

import torch

from grokutils.step import Adam, run_values

MOMENTUM = 0.95
NS_COEFFICIENTS = (3.4445, -4.775, 2.0315)
NS_STEPS = 5
NS_EPS = 1e-7
RMS_MATCH = 0.2
"""torch's ``match_rms_adamw``: the update is scaled by this times the square root of the matrix's larger side."""
NOT_MUON = ("embed.", "pos_embed.", "unembed.")
"""Parameters Muon leaves to AdamW, by the start of their name: the token and position embeddings and the unembedding
(TransformerLens names); biases are left by their name (``b_...``)."""


def is_hidden_matrix(name: str, p: torch.Tensor, stacked: bool) -> bool:
    """Whether Muon trains parameter ``name``: a weight (``W_...``) with two or more axes per run, not an embedding or
    the unembedding. Weights with more axes (an attention layer's ``[heads, d_model, d_head]``) are one matrix per
    leading index (per head)."""
    axes = p.dim() - int(stacked)
    return (axes >= 2 and name.rsplit(".", 1)[-1].startswith("W") and not name.startswith(NOT_MUON))


def orthogonalise(g: torch.Tensor, ns_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The Newton-Schulz approximation of ``U V^T`` for ``g = U S V^T``, over the last two axes of ``g`` (one matrix
    per leading index), in ``ns_dtype``; a 2-D ``g`` takes exactly ``torch.optim.Muon``'s operations."""
    a, b, c = NS_COEFFICIENTS
    x = g.to(ns_dtype)
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = x.mT
    if x.dim() == 2:
        x = x / x.norm().clamp(min=NS_EPS)
        for _ in range(NS_STEPS):
            gram = x @ x.T
            x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    else:
        lead, x = x.shape[:-2], x.flatten(0, -3)
        x = x / torch.linalg.vector_norm(x, dim=(-2, -1), keepdim=True).clamp(min=NS_EPS)
        for _ in range(NS_STEPS):
            gram = torch.bmm(x, x.mT)
            x = torch.baddbmm(x, torch.baddbmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
        x = x.unflatten(0, lead)
    return x.mT if tall else x


class Muon:
    """Muon on the hidden weight matrices of ``named`` parameters (``is_hidden_matrix``), AdamW on the others; one
    learning rate and weight decay per run (``lrs``, ``weight_decays``), ``betas`` and ``eps`` for the AdamW half.

    ``params`` are all the parameters, single or stacked ``[K, ...]`` (``stacked``), as ``step.Adam`` holds them.
    """

    def __init__(self, named: dict[str, torch.Tensor], lrs: list[float], weight_decays: list[float],
                 betas: tuple[float, float], stacked: bool, eps: float = 1e-8, fused: bool = False,
                 ns_dtype: torch.dtype = torch.float32):
        self.params = list(named.values())
        self.matrices = [p for name, p in named.items() if is_hidden_matrix(name, p, stacked)]
        chosen = {id(p) for p in self.matrices}
        rest = [p for p in self.params if id(p) not in chosen]
        self.adamw = Adam(rest, lrs, weight_decays, betas, decoupled=True, stacked=stacked, eps=eps,
                          fused=fused) if rest else None
        self.lrs, self.weight_decays, self.ns_dtype = list(lrs), list(weight_decays), ns_dtype
        self.momentum = [torch.zeros_like(p) for p in self.matrices]
        self.t = 0

    def zero_grad(self) -> None:
        """Drop the gradients."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr_factor: float = 1.0) -> None:
        """One update from the parameters' ``.grad``; ``lr_factor`` scales every run's lr (warm-up)."""
        self.t += 1
        shared = len(set(self.lrs)) == 1 and len(set(self.weight_decays)) == 1
        for p, buf in zip(self.matrices, self.momentum):
            buf.lerp_(p.grad, 1 - MOMENTUM)
            update = orthogonalise(p.grad.lerp(buf, MOMENTUM), self.ns_dtype)
            scale = RMS_MATCH * math.sqrt(max(p.shape[-2:]))
            if shared:
                lr = self.lrs[0] * lr_factor
                p.mul_(1 - lr * self.weight_decays[0])
                p.add_(update, alpha=-lr * scale)
                continue
            lr = run_values(self.lrs, p) * lr_factor
            p.mul_(1 - lr * run_values(self.weight_decays, p))
            p.sub_(update * (lr * scale))
        if self.adamw is not None:
            self.adamw.step(lr_factor)
