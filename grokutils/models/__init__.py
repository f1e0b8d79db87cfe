"""Models with TransformerLens hook points, each built from a frozen config.

    hooked       the base class (``run_with_cache`` returns an ``ActivationCache``); ``stack`` / ``unstack``:
                 K models as one with parameters ``[K, ...]`` (batched sweeps), and back
    transformer  a decoder-only transformer (TransformerLens names)
    mlp          a fully connected ReLU network
    token_mlp    a fully connected ReLU network on the embeddings of its input tokens
    lstm         a one-layer LSTM classifier of token sequences
    rep_decoder  Liu et al.'s toy model: a learned representation per symbol, an MLP decoder of the sum of two
"""
from grokutils.models.hooked import stack, unstack
from grokutils.models.lstm import LSTM, LSTMConfig
from grokutils.models.mlp import MLP, MLPConfig
from grokutils.models.rep_decoder import RepDecoder, RepDecoderConfig
from grokutils.models.token_mlp import TokenMLP, TokenMLPConfig
from grokutils.models.transformer import Transformer, TransformerConfig

__all__ = ["LSTM", "LSTMConfig", "MLP", "MLPConfig", "RepDecoder", "RepDecoderConfig", "TokenMLP", "TokenMLPConfig",
           "Transformer", "TransformerConfig", "stack", "unstack"]
