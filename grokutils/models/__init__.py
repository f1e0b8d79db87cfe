"""Models with TransformerLens hook points, each built from a frozen config.

    hooked       the base class (``run_with_cache`` returns an ``ActivationCache``); ``stack`` / ``unstack``:
                 K models as one with parameters ``[K, ...]`` (batched sweeps), and back
    transformer  a decoder-only transformer (TransformerLens names)
    mlp          a fully connected ReLU network
"""
from grokutils.models.hooked import stack, unstack
from grokutils.models.mlp import MLP, MLPConfig
from grokutils.models.transformer import Transformer, TransformerConfig

__all__ = ["MLP", "MLPConfig", "Transformer", "TransformerConfig", "stack", "unstack"]
