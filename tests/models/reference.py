"""An independent transformer forward pass, written from the TransformerLens equations.

It shares no code with grokutils.models: plain tensor algebra on a state_dict, one head at a time.
"""
import math

import torch


def layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def reference_logits(sd: dict, tokens: torch.Tensor, n_layers: int, ln: bool, act=torch.relu) -> torch.Tensor:
    """Logits [batch, pos, d_vocab_out] of a pre-norm decoder-only transformer with weights ``sd``."""
    resid = sd["embed.W_E"][tokens] + sd["pos_embed.W_pos"][: tokens.shape[1]]
    n = tokens.shape[1]
    causal = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for layer in range(n_layers):
        pre = f"blocks.{layer}."
        x = layer_norm(resid, sd[pre + "ln1.w"], sd[pre + "ln1.b"]) if ln else resid
        out = torch.zeros_like(resid) + sd[pre + "attn.b_O"]
        for h in range(sd[pre + "attn.W_Q"].shape[0]):
            q = x @ sd[pre + "attn.W_Q"][h] + sd[pre + "attn.b_Q"][h]
            k = x @ sd[pre + "attn.W_K"][h] + sd[pre + "attn.b_K"][h]
            v = x @ sd[pre + "attn.W_V"][h] + sd[pre + "attn.b_V"][h]
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
            pattern = scores.masked_fill(~causal, float("-inf")).softmax(-1)
            out = out + (pattern @ v) @ sd[pre + "attn.W_O"][h]
        resid = resid + out
        x = layer_norm(resid, sd[pre + "ln2.w"], sd[pre + "ln2.b"]) if ln else resid
        hidden = act(x @ sd[pre + "mlp.W_in"] + sd[pre + "mlp.b_in"])
        resid = resid + hidden @ sd[pre + "mlp.W_out"] + sd[pre + "mlp.b_out"]
    if ln:
        resid = layer_norm(resid, sd["ln_final.w"], sd["ln_final.b"])
    return resid @ sd["unembed.W_U"] + sd["unembed.b_U"]


def sinusoid(n_ctx: int, d_model: int) -> torch.Tensor:
    """openai/grok's position encoding, entry by entry."""
    rows = [[math.sin(pos / 10000 ** (i / d_model)) if i % 2 == 0 else math.cos(pos / 10000 ** ((i - 1) / d_model))
             for i in range(d_model)] for pos in range(n_ctx)]
    return torch.tensor(rows)


def reference_post_ln_logits(sd: dict, tokens: torch.Tensor, n_layers: int) -> torch.Tensor:
    """Logits of openai/grok's decoder: each block ``a = ln(x + attn(x))``, ``x = ln(a + ffn(a))``, no final norm."""
    x = sd["embed.W_E"][tokens] + sd["pos_embed.W_pos"][: tokens.shape[1]]
    n = tokens.shape[1]
    causal = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for layer in range(n_layers):
        pre = f"blocks.{layer}."
        heads = []
        for h in range(sd[pre + "attn.W_Q"].shape[0]):
            q, k, v = (x @ sd[pre + f"attn.W_{m}"][h] + sd[pre + f"attn.b_{m}"][h] for m in "QKV")
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
            heads.append(scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v)
        w_o = sd[pre + "attn.W_O"].flatten(0, 1)
        a = layer_norm(x + torch.cat(heads, -1) @ w_o + sd[pre + "attn.b_O"], sd[pre + "ln1.w"], sd[pre + "ln1.b"])
        ffn = torch.relu(a @ sd[pre + "mlp.W_in"] + sd[pre + "mlp.b_in"]) @ sd[pre + "mlp.W_out"] + sd[pre + "mlp.b_out"]
        x = layer_norm(a + ffn, sd[pre + "ln2.w"], sd[pre + "ln2.b"])
    return x @ sd["unembed.W_U"] + sd["unembed.b_U"]
