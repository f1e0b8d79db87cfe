"""The base of the book's models, and the maps they share with their batched form.

``HookedModel`` is a ``HookedRootModule`` whose ``run_with_cache`` returns an ``ActivationCache``.
``stack(models)`` turns K models of one architecture into one model whose parameters carry a leading
run axis ``[K, ...]`` under the same names (buffers, being constants, stay shared): the forward passes
are written with ``linear``, ``embed`` and ``per_run``, which take either form, so a batched model runs
K runs with batched matrix products (no ``vmap``) and run ``k``'s slice of its parameters is an
ordinary model's state_dict (``unstack``).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from transformer_lens import ActivationCache, HookedRootModule


class HookedModel(HookedRootModule):
    """A ``HookedRootModule`` whose ``run_with_cache`` returns an ``ActivationCache``, as TransformerLens's models do."""

    def run_with_cache(self, *args, **kwargs) -> tuple[torch.Tensor, ActivationCache]:
        """Run the model, returning its output and an ``ActivationCache`` of every hook point's value."""
        out, cache = super().run_with_cache(*args, **kwargs)
        return out, ActivationCache(cache, self, has_batch_dim=not kwargs.get("remove_batch_dim", False))


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``x @ weight.T + bias`` over the last axis; with stacked ``weight [K, out, in]``, per run on ``x [K, ..., in]``.

    The leading dims are flattened into one so each form is a single (batched) matrix product with the
    bias fused in; ``bias`` may be per run ``[K, out]``, shared ``[out]``, or None (no bias).
    """
    if weight.dim() == 2:
        return F.linear(x.flatten(0, -2), weight, bias).unflatten(0, x.shape[:-1])
    if bias is None:
        return torch.bmm(x.flatten(1, -2), weight.transpose(-1, -2)).unflatten(1, x.shape[1:-1])
    out = torch.baddbmm(bias.unsqueeze(-2), x.flatten(1, -2), weight.transpose(-1, -2))
    return out.unflatten(1, x.shape[1:-1])


def embed(tokens: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Rows of ``table [V, d]`` for ``tokens [batch, pos]``; with a stacked ``table [K, V, d]``, run k's rows for
    ``tokens[k]`` (``tokens`` ``[K, batch, pos]``, or one ``[batch, pos]`` shared by every run)."""
    if table.dim() == 2:
        return F.embedding(tokens, table)
    k, v = table.shape[:2]
    offsets = torch.arange(k, device=tokens.device).view(k, 1, 1) * v
    return F.embedding(tokens + offsets, table.flatten(0, 1))


def per_run(p: torch.Tensor, x: torch.Tensor, dims: int) -> torch.Tensor:
    """``p`` (a parameter of ``dims`` axes, or stacked ``[K, ...]``) shaped to broadcast against ``x [K, ...]``."""
    if p.dim() == dims:
        return p
    return p.view(p.shape[0], *([1] * (x.dim() - p.dim())), *p.shape[1:])


def stack(models: list[nn.Module]) -> nn.Module:
    """One model holding ``models``' parameters stacked ``[K, ...]`` under the same names (see module doc)."""
    batched = copy.deepcopy(models[0])
    for name, _ in models[0].named_parameters():
        owner, attr = _owner(batched, name)
        values = [m.get_parameter(name).detach() for m in models]
        setattr(owner, attr, nn.Parameter(torch.stack(values)))
    batched.n_runs = len(models)
    return batched


def unstack(batched: nn.Module, k: int) -> dict[str, torch.Tensor]:
    """Run ``k``'s state_dict (its slice of every parameter, and the shared buffers), copied to the CPU."""
    params = dict(batched.named_parameters())
    return {name: (t[k] if name in params else t).detach().to("cpu", copy=True)
            for name, t in batched.state_dict().items()}


def _owner(module: nn.Module, name: str) -> tuple[nn.Module, str]:
    path, _, attr = name.rpartition(".")
    return (module.get_submodule(path) if path else module), attr
