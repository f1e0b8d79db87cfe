"""The grokked model that Nanda et al. (2023) published, and TransformerLens-format state_dicts.

The authors' repository holds a mod-113 addition transformer of the paper's architecture, trained
with weight decay 0.1 and split seed 1 (``saved_runs/wd_10-1_mod_addition_loss_curve.pth``). Its
state dict uses their original layouts; ``from_nanda_layout`` maps it onto TransformerLens's, which
``grokutils.models.Transformer`` shares. The file has no licence, so it is fetched (and checked by
its SHA-256) into the data cache, or read from ``$GROKUTILS_DATA/nanda``; it is never committed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from grokutils.datafiles import DataFile, fetch
from grokutils.models import Transformer, TransformerConfig
from grokutils.recipes import nanda_model
from grokutils.tasks import ModularConfig, Split

_REPOS = (
    ("mechanistic-interpretability-grokking/progress-measures-paper", "23d2c64dd1f8a5ca65efaf27e15c2b2cd47dedf1"),
    ("neelnanda-io/Grokking", "dfbd38f7d23e09aaa5e5c9bd0483b69ca533e580"),
)
PUBLISHED_FILE = DataFile(
    subdir="nanda",
    name="wd_10-1_mod_addition_loss_curve.pth",
    digest="328b8e923d8c9b8c3e8727525c8154b8da39df47dd374dc88cca1f82eaf4be00",
    urls=tuple(f"https://raw.githubusercontent.com/{repo}/{commit}/saved_runs/wd_10-1_mod_addition_loss_curve.pth"
               for repo, commit in _REPOS),
)
P, FRAC_TRAIN, SPLIT_SEED = 113, 0.3, 1
BUFFERS = ("blocks.0.attn.mask", "blocks.0.attn.IGNORE")


def nanda_config(use_attn_bias: bool = False, use_unembed_bias: bool = False) -> TransformerConfig:
    """The paper's architecture: 1 layer, d_model 128, 4 heads of 32, d_mlp 512, ReLU, no LayerNorm."""
    return nanda_model(ModularConfig(op="add", p=P), use_attn_bias=use_attn_bias, use_unembed_bias=use_unembed_bias)


def from_nanda_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' original state dict in TransformerLens's names and layouts (the mask dropped)."""
    n_heads, d_head, d_model = state["blocks.0.attn.W_Q"].shape
    out = {"embed.W_E": state["embed.W_E"].T, "pos_embed.W_pos": state["pos_embed.W_pos"],
           "unembed.W_U": state["unembed.W_U"]}
    for name in ("W_Q", "W_K", "W_V"):
        out[f"blocks.0.attn.{name}"] = state[f"blocks.0.attn.{name}"].transpose(1, 2)
    out["blocks.0.attn.W_O"] = state["blocks.0.attn.W_O"].T.reshape(n_heads, d_head, d_model)
    out["blocks.0.mlp.W_in"] = state["blocks.0.mlp.W_in"].T
    out["blocks.0.mlp.W_out"] = state["blocks.0.mlp.W_out"].T
    out["blocks.0.mlp.b_in"] = state["blocks.0.mlp.b_in"]
    out["blocks.0.mlp.b_out"] = state["blocks.0.mlp.b_out"]
    return {k: v.detach().float().contiguous() for k, v in out.items()}


def is_nanda_layout(state: dict[str, torch.Tensor]) -> bool:
    """True for the authors' layout: ``W_O`` is one ``[d_model, n_heads * d_head]`` matrix, not per head."""
    return state["blocks.0.attn.W_O"].ndim == 2


def load_transformer(state: dict[str, torch.Tensor]) -> Transformer:
    """A ``Transformer`` of the paper's architecture holding ``state``: the authors' layout or TransformerLens's.

    A TransformerLens state_dict (as ``HookedTransformer.state_dict()`` saves one) may carry attention
    and unembedding biases; nonzero ones become trainable biases, zero ones stay zero buffers. Its
    ``mask``/``IGNORE`` buffers are rebuilt, not copied. Raises ValueError on any other architecture.
    """
    state = from_nanda_layout(state) if is_nanda_layout(state) else {k: v for k, v in state.items() if k not in BUFFERS}
    attn_bias = any(state.get(f"blocks.0.attn.{b}", torch.zeros(1)).abs().max() > 0 for b in ("b_Q", "b_K", "b_V", "b_O"))
    unembed_bias = bool(state.get("unembed.b_U", torch.zeros(1)).abs().max() > 0)
    model = Transformer(nanda_config(bool(attn_bias), unembed_bias))
    expected = {k: v.shape for k, v in model.state_dict().items() if k not in BUFFERS}
    got = {k: v.shape for k, v in state.items()}
    missing = {k for k in expected if k not in got and not _is_bias(k)}
    wrong = {k: (tuple(got[k]), tuple(expected[k])) for k in got if k in expected and got[k] != expected[k]}
    unknown = set(got) - set(expected)
    if missing or wrong or unknown:
        raise ValueError(f"not a state_dict of the paper's architecture: missing {sorted(missing)}, "
                         f"unknown {sorted(unknown)}, shapes (got, expected) {wrong}")
    model.load_state_dict({**model.state_dict(), **{k: v.float() for k, v in state.items()}})
    return model.eval()


def _is_bias(key: str) -> bool:
    return key.split(".")[-1] in ("b_Q", "b_K", "b_V", "b_O", "b_U")


def nanda_split(seed: int = SPLIT_SEED, p: int = P, frac_train: float = FRAC_TRAIN) -> Split:
    """The authors' split: pairs ``(i, j)`` (i outer), ``random.seed(seed)``, shuffle, first 30% train.

    Python's ``random`` is seeded on a private ``Random`` instance, so the global state is untouched.
    """
    pairs = [(i, j) for i in range(p) for j in range(p)]
    random.Random(seed).shuffle(pairs)
    n_train = int(frac_train * len(pairs))
    ab = torch.tensor(pairs)
    tokens = torch.cat([ab, torch.full((len(pairs), 1), p)], dim=1)
    labels = ab.sum(1) % p
    return Split(tokens[:n_train], labels[:n_train], tokens[n_train:], labels[n_train:])


@dataclass(frozen=True)
class Published:
    """The authors' published run.

    Attributes:
        model: the final weights in a ``grokutils.models.Transformer``.
        split: its train/test split, rebuilt from its seed.
        train_losses: the training loss logged at every epoch.
        test_losses: the test loss logged every 10 epochs.
        epoch: the epoch of the final weights.
        weight_decay: the weight decay the optimiser used.
    """

    model: Transformer
    split: Split
    train_losses: torch.Tensor
    test_losses: torch.Tensor
    epoch: int
    weight_decay: float


def load_published() -> Published:
    """Fetch (or find) the published checkpoint, verify its SHA-256, and load it with its split."""
    blob = torch.load(fetch(PUBLISHED_FILE), map_location="cpu", weights_only=True)
    return Published(
        model=load_transformer(blob["model"]),
        split=nanda_split(int(blob["config"]["seed"])),
        train_losses=torch.tensor(blob["train_losses"]),
        test_losses=torch.tensor(blob["test_losses"]),
        epoch=int(blob["epoch"]),
        weight_decay=float(blob["optimizer"]["param_groups"][0]["weight_decay"]),
    )
