"""A decoder-only transformer with TransformerLens's parameter and hook names.

Names follow TransformerLens's ``HookedTransformer`` (``embed.W_E``, ``blocks.0.attn.W_Q``,
``blocks.0.mlp.hook_post``, ``unembed.W_U`` …), so ``run_with_cache``, hooks and TransformerLens-format
state_dicts work on transformer-lens 4.x, which no longer ships ``HookedTransformer`` itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from transformer_lens.hook_points import HookPoint

from grokutils import noise
from grokutils.config import check_choice, check_float, check_int
from grokutils.models.hooked import HookedModel, embed, linear, per_run

ACT_FNS = {"relu": F.relu, "gelu": F.gelu}
INITS = ("fan_in", "nanda", "torch")


@dataclass(frozen=True)
class TransformerConfig:
    """A decoder-only transformer (TransformerLens names).

    Attributes:
        d_vocab: number of input tokens.
        d_vocab_out: number of output logits.
        n_ctx: sequence length.
        d_model: width of the residual stream.
        n_layers: number of blocks.
        n_heads: attention heads per block.
        d_head: width of one head.
        d_mlp: hidden width of each MLP.
        act_fn: ``"relu"`` or ``"gelu"``.
        normalization: ``"LN"`` (LayerNorm, placed as ``ln_position`` says) or ``None``.
        ln_position: ``"pre"``: LayerNorm before attention, MLP and unembedding (GPT-2, TransformerLens);
            ``"post"``: after each residual sum, ``ln(x + attn(x))`` then ``ln(x + mlp(x))``, and no final
            LayerNorm (Power et al.'s code, ``openai/grok``).
        positional: ``"learned"`` position embeddings, or fixed ``"sinusoidal"`` ones (a buffer, as in
            ``openai/grok``: ``sin(pos / 10000^(i/d_model))`` at even ``i``, ``cos`` at odd ``i``).
        use_attn_bias: train ``b_Q, b_K, b_V, b_O``; when False they stay zero buffers, so the
            state_dict keeps TransformerLens's keys (Nanda et al.'s model has no attention biases).
        use_unembed_bias: train ``unembed.b_U`` (else a zero buffer).
        use_mlp_bias: train ``b_in`` and ``b_out`` of the MLPs (else zero buffers; ``openai/grok`` has none).
        init: how weights are drawn (biases start at 0, LayerNorm at w = 1, b = 0), then times ``init_scale``:
            ``"fan_in"``: N(0, 1/fan_in) (embeddings and ``W_U``: 1/d_model); ``"nanda"``: every weight
            N(0, 1/d_model) except ``W_U``, N(0, 1/d_vocab_out) (Nanda et al.'s ``transformers.py``);
            ``"torch"``: PyTorch's defaults, as ``openai/grok`` leaves them: linear maps uniform in
            +-1/sqrt(fan_in), embeddings N(0, 1).
        n_outputs: how many final positions the loss reads (``final_logits``): 1 for a label after ``=``,
            2 for Power et al.'s ``c`` and closing ``<eos>``.
        dropout: dropout rate on each MLP's output before its residual add, in training only (``openai/grok``'s
            ``--dropout``, whose attention-output dropout is commented out; Power et al.'s residual dropout 0.1).
        init_scale: factor on every initial weight (Omnigrok's alpha).
        seed: seed of the initialisation.
    """

    d_vocab: int
    d_vocab_out: int
    n_ctx: int
    d_model: int = 128
    n_layers: int = 1
    n_heads: int = 4
    d_head: int = 32
    d_mlp: int = 512
    act_fn: str = "relu"
    normalization: str | None = None
    ln_position: str = "pre"
    positional: str = "learned"
    use_attn_bias: bool = True
    use_unembed_bias: bool = True
    use_mlp_bias: bool = True
    init: str = "fan_in"
    n_outputs: int = 1
    dropout: float = 0.0
    init_scale: float = 1.0
    seed: int = 0

    def __post_init__(self):
        check_choice("act_fn", self.act_fn, tuple(ACT_FNS))
        check_choice("normalization", self.normalization, ("LN", None))
        check_choice("ln_position", self.ln_position, ("pre", "post"))
        check_choice("positional", self.positional, ("learned", "sinusoidal"))
        check_choice("init", self.init, INITS)
        for name in ("d_vocab", "d_vocab_out", "n_ctx", "d_model", "n_layers", "n_heads", "d_head", "d_mlp"):
            check_int(name, getattr(self, name), 1)
        check_int("n_outputs", self.n_outputs, 1, self.n_ctx)
        check_float("dropout", self.dropout, 0, 1, open_high=True)
        check_float("init_scale", self.init_scale, 0, open_low=True)
        check_int("seed", self.seed)

    def build(self) -> "Transformer":
        """A freshly initialised model."""
        return Transformer(self)


def _weight(cfg: TransformerConfig, gen: torch.Generator, *shape: int, fan_in: int, role: str = "linear") -> nn.Parameter:
    """A weight of ``shape`` drawn as ``cfg.init`` says; ``role`` is ``"linear"``, ``"embed"`` or ``"unembed"``."""
    if cfg.init == "torch" and role != "embed":
        bound = cfg.init_scale / math.sqrt(fan_in)
        return nn.Parameter((torch.rand(*shape, generator=gen) * 2 - 1) * bound)
    if cfg.init == "torch":
        std = cfg.init_scale
    elif cfg.init == "nanda":
        std = cfg.init_scale / math.sqrt(cfg.d_vocab_out if role == "unembed" else cfg.d_model)
    else:
        std = cfg.init_scale / math.sqrt(cfg.d_model if role != "linear" else fan_in)
    return nn.Parameter(torch.randn(*shape, generator=gen) * std)


def sinusoidal_positions(n_ctx: int, d_model: int) -> torch.Tensor:
    """``[n_ctx, d_model]``: ``sin(pos / 10000^(i/d_model))`` at even ``i``, ``cos(pos / 10000^((i-1)/d_model))`` at odd."""
    pos = torch.arange(n_ctx, dtype=torch.float64)[:, None]
    even = torch.arange(0, d_model, dtype=torch.float64)
    angle = pos / 10000 ** ((even - even % 2) / d_model)
    return torch.where(even.long() % 2 == 0, angle.sin(), angle.cos()).float()


def _bias(module: nn.Module, name: str, shape: tuple[int, ...], trainable: bool) -> None:
    if trainable:
        module.register_parameter(name, nn.Parameter(torch.zeros(shape)))
    else:
        module.register_buffer(name, torch.zeros(shape))


class LayerNorm(nn.Module):
    """LayerNorm with TransformerLens's names (``w``, ``b``, ``hook_scale``, ``hook_normalized``)."""

    def __init__(self, d_model: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.w = nn.Parameter(torch.ones(d_model))
        self.b = nn.Parameter(torch.zeros(d_model))
        self.hook_scale = HookPoint()
        self.hook_normalized = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.hook_scale._forward_hooks:  # computed only when a hook or cache reads it
            self.hook_scale((x.var(-1, unbiased=False, keepdim=True) + self.eps).sqrt())
        normalized = self.hook_normalized(F.layer_norm(x, x.shape[-1:], eps=self.eps))
        return normalized * per_run(self.w, x, 1) + per_run(self.b, x, 1)


class Attention(nn.Module):
    """Causal multi-head attention, weights ``[n_heads, d_model, d_head]`` as in TransformerLens."""

    def __init__(self, cfg: TransformerConfig, gen: torch.Generator):
        super().__init__()
        h, dm, dh = cfg.n_heads, cfg.d_model, cfg.d_head
        for name in ("W_Q", "W_K", "W_V"):
            setattr(self, name, _weight(cfg, gen, h, dm, dh, fan_in=dm))
        self.W_O = _weight(cfg, gen, h, dh, dm, fan_in=h * dh)
        for name in ("b_Q", "b_K", "b_V"):
            _bias(self, name, (h, dh), cfg.use_attn_bias)
        _bias(self, "b_O", (dm,), cfg.use_attn_bias)
        self.register_buffer("mask", torch.tril(torch.ones(cfg.n_ctx, cfg.n_ctx)).bool())
        self.register_buffer("IGNORE", torch.tensor(-1e5))
        for name in ("hook_q", "hook_k", "hook_v", "hook_attn_scores", "hook_pattern", "hook_z"):
            setattr(self, name, HookPoint())

    def forward(self, x: torch.Tensor, n_last: int | None = None, table: TokenTable | None = None) -> torch.Tensor:
        """Attend; with ``n_last`` only the last ``n_last`` positions query (shape ``[batch, n_last, d_model]``).
        With a ``table`` (the first block's inputs per position and token), ``x`` is not read: the queries, keys and
        values are projected once per row of the table and gathered per example (``TokenTable``)."""
        if table is None:
            q = _project(x[..., -n_last:, :] if n_last else x, self.W_Q, self.b_Q)
            k, v = _project(x, self.W_K, self.b_K), _project(x, self.W_V, self.b_V)
        else:
            q = table.gather(self.W_Q, self.b_Q, n_last)
            k, v = table.gather(self.W_K, self.b_K), table.gather(self.W_V, self.b_V)
        q, k, v = self.hook_q(q), self.hook_k(k), self.hook_v(v)
        # Contexts here are a few tokens long: broadcasting beats many tiny batched matmuls.
        scores = (q.unsqueeze(-3) * k.unsqueeze(-4)).sum(-1).movedim(-1, -3) / math.sqrt(q.shape[-1])
        n_q, n_k = scores.shape[-2:]
        mask = self.mask[n_k - n_q : n_k, :n_k]
        scores = self.hook_attn_scores(torch.where(mask, scores, self.IGNORE))
        pattern = self.hook_pattern(scores.softmax(-1))
        z = self.hook_z((pattern.movedim(-3, -1)[..., None] * v.unsqueeze(-4)).sum(-3))
        return linear(z.flatten(-2), self.W_O.flatten(-3, -2).transpose(-1, -2), self.b_O)


class TokenTable(NamedTuple):
    """The first block's attention input as a table: in every transformer here it is a function of (position, token)
    alone (the token's embedding plus its position's, layer-normed first in a pre-norm model; nothing random comes
    before it), so a projection of it is computed once per row of the table and gathered per example, instead of
    once per example and position: the same numbers up to rounding, for a fraction of the work when a batch holds
    more examples than the vocabulary has tokens (``Transformer.token_table``).

    Attributes:
        rows: ``[n_ctx, d_vocab, d_model]`` (``[K, ...]`` for stacked runs): the input at each position for each token.
        index: ``[batch, pos]`` (or ``[K, batch, pos]``): each example's row, ``position * d_vocab + token``.
    """

    rows: torch.Tensor
    index: torch.Tensor

    def gather(self, w: torch.Tensor, b: torch.Tensor, n_last: int | None = None) -> torch.Tensor:
        """``_project`` of every example's input at every position (the last ``n_last`` only, if given):
        ``[batch, pos, n_heads, d_head]``."""
        rows, index = self.rows, self.index
        if n_last:
            first = rows.shape[-3] - n_last
            rows, index = rows[..., first:, :, :], index[..., -n_last:] - first * rows.shape[-2]
        projected = _project(rows, w, b)  # [..., n_ctx, d_vocab, n_heads, d_head]
        return embed(index, projected.flatten(-4, -3).flatten(-2)).unflatten(-1, projected.shape[-2:])


def _project(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``x @ w + b`` per head: ``[batch, pos, d_model]`` -> ``[batch, pos, n_heads, d_head]`` (runs stacked or not)."""
    *runs, n_heads, d_model, d_head = w.shape
    weight = w.transpose(-1, -2).reshape(*runs, n_heads * d_head, d_model)
    return linear(x, weight, b.reshape(*b.shape[:-2], -1)).unflatten(-1, (n_heads, d_head))


class MLPBlock(nn.Module):
    """The transformer's MLP: ``W_in [d_model, d_mlp]``, ``W_out [d_mlp, d_model]``."""

    def __init__(self, cfg: TransformerConfig, gen: torch.Generator):
        super().__init__()
        self.W_in = _weight(cfg, gen, cfg.d_model, cfg.d_mlp, fan_in=cfg.d_model)
        _bias(self, "b_in", (cfg.d_mlp,), cfg.use_mlp_bias)
        self.W_out = _weight(cfg, gen, cfg.d_mlp, cfg.d_model, fan_in=cfg.d_mlp)
        _bias(self, "b_out", (cfg.d_model,), cfg.use_mlp_bias)
        self.act_fn = ACT_FNS[cfg.act_fn]
        self.hook_pre = HookPoint()
        self.hook_post = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        post = self.hook_post(self.act_fn(self.hook_pre(linear(x, self.W_in.transpose(-1, -2), self.b_in))))
        return linear(post, self.W_out.transpose(-1, -2), self.b_out)


class TransformerBlock(nn.Module):
    """Residual block. Pre-norm: ``resid + attn(ln1(resid))``, then ``+ mlp(ln2(resid))``; post-norm:
    ``ln1(resid + attn(resid))``, then ``ln2(resid + mlp(resid))``."""

    def __init__(self, cfg: TransformerConfig, gen: torch.Generator):
        super().__init__()
        norm = (lambda: LayerNorm(cfg.d_model)) if cfg.normalization == "LN" else nn.Identity
        self.ln1, self.ln2 = norm(), norm()
        self.post_norm = cfg.ln_position == "post"
        self.attn = Attention(cfg, gen)
        self.mlp = MLPBlock(cfg, gen)
        self.dropout, self.generators = cfg.dropout, None
        for name in ("hook_resid_pre", "hook_attn_out", "hook_resid_mid", "hook_mlp_out", "hook_resid_post"):
            setattr(self, name, HookPoint())

    def forward(self, resid: torch.Tensor, n_last: int | None = None, table: TokenTable | None = None) -> torch.Tensor:
        """The block's output at every position (the last ``n_last`` only, if given); with a ``table`` of the
        first block's inputs (``TokenTable``) the attention reads that instead of ``resid``."""
        resid = self.hook_resid_pre(resid)
        kept = resid[..., -n_last:, :] if n_last else resid
        if self.post_norm:
            resid = self.hook_resid_mid(self.ln1(kept + self.hook_attn_out(self.attn(resid, n_last, table))))
            return self.hook_resid_post(self.ln2(resid + self.hook_mlp_out(self._drop(self.mlp(resid)))))
        if table is not None:
            table = table._replace(rows=self.ln1(table.rows))
        attended = self.attn(self.ln1(resid) if table is None else resid, n_last, table)
        resid = self.hook_resid_mid(kept + self.hook_attn_out(attended))
        return self.hook_resid_post(resid + self.hook_mlp_out(self._drop(self.mlp(self.ln2(resid)))))

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        """Dropout of the MLP's output in training (runs stacked when ``x`` is ``[K, batch, pos, d_model]``)."""
        return noise.dropout(x, self.dropout, self.generators, stacked=x.dim() == 4) if self.training else x


REBUILT_BUFFERS = (".attn.mask", ".attn.IGNORE")
"""Buffers every attention builds from its config; ``Transformer.load_state_dict`` never copies them."""


class Transformer(HookedModel):
    """Decoder-only transformer with TransformerLens hook points and parameter names."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        gen = torch.Generator().manual_seed(cfg.seed)
        self.embed = nn.Module()
        self.embed.W_E = _weight(cfg, gen, cfg.d_vocab, cfg.d_model, fan_in=cfg.d_vocab, role="embed")
        self.pos_embed = nn.Module()
        if cfg.positional == "learned":
            self.pos_embed.W_pos = _weight(cfg, gen, cfg.n_ctx, cfg.d_model, fan_in=cfg.n_ctx, role="embed")
        else:
            self.pos_embed.register_buffer("W_pos", sinusoidal_positions(cfg.n_ctx, cfg.d_model))
        self.hook_embed, self.hook_pos_embed = HookPoint(), HookPoint()
        self.blocks = nn.ModuleList(TransformerBlock(cfg, gen) for _ in range(cfg.n_layers))
        pre_norm = cfg.normalization == "LN" and cfg.ln_position == "pre"
        self.ln_final = LayerNorm(cfg.d_model) if pre_norm else nn.Identity()
        self.unembed = nn.Module()
        self.unembed.W_U = _weight(cfg, gen, cfg.d_model, cfg.d_vocab_out, fan_in=cfg.d_model, role="unembed")
        _bias(self.unembed, "b_U", (cfg.d_vocab_out,), cfg.use_unembed_bias)
        self.setup()

    def use_generators(self, gens: list[torch.Generator] | None) -> None:
        """Draw dropout masks from these per-run generators (``noise.generators``; None: torch's global one)."""
        for block in self.blocks:
            block.generators = gens

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Load weights as ``nn.Module.load_state_dict`` does, except each attention's ``mask`` and ``IGNORE``:
        those are constants of the architecture, so the model keeps its own and ignores the file's (a
        TransformerLens 3.x ``HookedTransformer.state_dict()`` saves a ``[0, 0]`` mask, for instance)."""
        own = {k: v for k, v in self.state_dict().items() if k.endswith(REBUILT_BUFFERS)}
        state = {**{k: v for k, v in state_dict.items() if not k.endswith(REBUILT_BUFFERS)}, **own}
        return super().load_state_dict(state, strict=strict, assign=assign)

    def forward(self, tokens: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """Logits ``[batch, pos, d_vocab_out]`` (``[K, batch, pos, d_vocab_out]`` for runs stacked by
        ``models.stack``, whose tokens are ``[K, batch, pos]`` or one ``[batch, pos]`` for all runs).

        With ``last_only`` the final block computes its queries, MLP and logits at the last
        ``cfg.n_outputs`` positions only (the positions the loss reads): the same numbers there, for
        about half the work. Hooks of the final block then see those positions only. The first block's
        queries, keys and values then come from a ``TokenTable`` where that is less work (``token_table``);
        its hooks see the same values.
        """
        embedded = self.hook_embed(embed(tokens, self.embed.W_E))
        pos = self.hook_pos_embed(self.pos_embed.W_pos[..., : tokens.shape[-1], :])
        resid = embedded + per_run(pos, embedded, 2)
        n_last = self.cfg.n_outputs if last_only else None
        table = self.token_table(tokens) if last_only else None
        for i, block in enumerate(self.blocks):
            resid = block(resid, n_last if i == len(self.blocks) - 1 else None, table if i == 0 else None)
        return linear(self.ln_final(resid), self.unembed.W_U.transpose(-1, -2), self.unembed.b_U)

    def token_table(self, tokens: torch.Tensor) -> TokenTable | None:
        """The first block's inputs per (position, token) (``TokenTable``), when the batch holds more examples than
        the vocabulary has tokens (else projecting each example is less work) and no hook reads the first block's
        LayerNorm (which would see the table's shape); None otherwise. Depends on the shapes alone, so a run takes
        the same path however it is trained."""
        n_ctx, n_vocab = tokens.shape[-1], self.cfg.d_vocab
        ln1 = self.blocks[0].ln1
        if tokens.shape[-2] <= n_vocab or any(h._forward_hooks for h in ln1.modules() if isinstance(h, HookPoint)):
            return None
        w_pos = self.pos_embed.W_pos[..., :n_ctx, :]
        rows = self.embed.W_E.unsqueeze(-3) + w_pos.unsqueeze(-2)
        return TokenTable(rows, tokens + torch.arange(n_ctx, device=tokens.device) * n_vocab)

    def final_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """What the loss reads: logits at the last position, ``[batch, d_vocab_out]``, or at the last
        ``cfg.n_outputs`` positions, ``[batch, n_outputs, d_vocab_out]``, when that is more than one."""
        logits = self(tokens, last_only=True)
        return logits[..., -1, :] if self.cfg.n_outputs == 1 else logits
