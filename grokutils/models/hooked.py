"""The base of the book's models: a ``HookedRootModule`` whose ``run_with_cache`` returns an ``ActivationCache``."""
from __future__ import annotations

import torch
from transformer_lens import ActivationCache, HookedRootModule


class HookedModel(HookedRootModule):
    """A ``HookedRootModule`` whose ``run_with_cache`` returns an ``ActivationCache``, as TransformerLens's models do."""

    def run_with_cache(self, *args, **kwargs) -> tuple[torch.Tensor, ActivationCache]:
        """Run the model, returning its output and an ``ActivationCache`` of every hook point's value."""
        out, cache = super().run_with_cache(*args, **kwargs)
        return out, ActivationCache(cache, self, has_batch_dim=not kwargs.get("remove_batch_dim", False))
