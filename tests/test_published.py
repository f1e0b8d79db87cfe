"""The published model of Nanda et al. (2023) and TransformerLens-format state_dicts."""
import hashlib
import os
from pathlib import Path

import pytest
import torch

from grokutils import published
from grokutils.train import evaluate

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
os.environ.setdefault("GROKUTILS_DATA", str(SHARED_DATA))
HAVE_FILE = (Path(os.environ["GROKUTILS_DATA"]) / "nanda" / published.PUBLISHED_FILE.name).exists()
needs_file = pytest.mark.skipif(not HAVE_FILE, reason="the published checkpoint is not in $GROKUTILS_DATA/nanda")


def test_split_matches_fingerprints_of_source_md():
    split = published.nanda_split()
    assert len(split.y_train) == 3830 and len(split.y_val) == 8939
    first = [tuple(r) for r in split.x_train[:10, :2].tolist()]
    assert first == [(58, 58), (76, 57), (60, 23), (100, 89), (29, 27), (34, 30), (26, 15), (32, 92), (90, 106), (60, 74)]
    idx = split.x_train[:, 0] * 113 + split.x_train[:, 1]
    assert int(idx.sum()) == 24_321_622
    digest = hashlib.sha256(",".join(map(str, sorted(idx.tolist()))).encode()).hexdigest()
    assert digest == "ded321c0223f1ccfe93592962a26058068fe5299722a8b5eae210b43d7a7e356"
    assert (split.x_train[:, 2] == 113).all() and torch.equal(split.y_train, split.x_train[:, :2].sum(1) % 113)


def _nanda_layout(tl: dict) -> dict:
    """Write a TransformerLens state dict in the authors' original layout (the inverse mapping)."""
    n_heads, d_head, d_model = tl["blocks.0.attn.W_O"].shape
    out = {"embed.W_E": tl["embed.W_E"].T, "pos_embed.W_pos": tl["pos_embed.W_pos"], "unembed.W_U": tl["unembed.W_U"],
           "blocks.0.attn.W_O": tl["blocks.0.attn.W_O"].reshape(n_heads * d_head, d_model).T,
           "blocks.0.attn.mask": torch.tril(torch.ones(3, 3)),
           "blocks.0.mlp.W_in": tl["blocks.0.mlp.W_in"].T, "blocks.0.mlp.W_out": tl["blocks.0.mlp.W_out"].T,
           "blocks.0.mlp.b_in": tl["blocks.0.mlp.b_in"], "blocks.0.mlp.b_out": tl["blocks.0.mlp.b_out"]}
    for name in ("W_Q", "W_K", "W_V"):
        out[f"blocks.0.attn.{name}"] = tl[f"blocks.0.attn.{name}"].transpose(1, 2)
    return out


def test_original_layout_round_trips():
    model = published.nanda_config().build()
    loaded = published.load_transformer(_nanda_layout(model.state_dict()))
    tokens = torch.tensor([[1, 2, 113], [100, 5, 113]])
    torch.testing.assert_close(loaded(tokens), model(tokens))


def test_transformer_lens_state_dict_with_biases():
    """A state_dict as HookedTransformer saves one: every key, TL's IGNORE, nonzero biases."""
    gen = torch.Generator().manual_seed(0)
    reference = published.nanda_config(use_attn_bias=True, use_unembed_bias=True).build()
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    for key in ("blocks.0.attn.b_Q", "blocks.0.attn.b_K", "blocks.0.attn.b_V", "blocks.0.attn.b_O", "unembed.b_U"):
        state[key] = torch.randn(state[key].shape, generator=gen) * 0.1
    state["blocks.0.attn.IGNORE"] = torch.tensor(-torch.inf)
    reference.load_state_dict(state)
    loaded = published.load_transformer(state)
    assert loaded.cfg.use_attn_bias and loaded.cfg.use_unembed_bias
    assert loaded.blocks[0].attn.IGNORE.item() == -1e5
    tokens = torch.tensor([[3, 4, 113], [7, 112, 113]])
    torch.testing.assert_close(loaded(tokens), reference(tokens))


def test_transformer_lens_state_dict_without_biases_keeps_zero_buffers():
    state = published.nanda_config().build().state_dict()
    loaded = published.load_transformer(state)
    assert not loaded.cfg.use_attn_bias and "blocks.0.attn.b_Q" not in dict(loaded.named_parameters())


def test_other_architectures_are_refused():
    from grokutils.models import TransformerConfig
    state = TransformerConfig(d_vocab=114, d_vocab_out=114, n_ctx=3, d_mlp=256).build().state_dict()
    with pytest.raises(ValueError, match="blocks.0.mlp.W_in"):
        published.load_transformer(state)
    with pytest.raises(ValueError, match="unknown"):
        published.load_transformer({**published.nanda_config().build().state_dict(), "blocks.1.mlp.b_in": torch.zeros(512)})


def test_data_file_entry():
    assert published.PUBLISHED_FILE.digest == "328b8e923d8c9b8c3e8727525c8154b8da39df47dd374dc88cca1f82eaf4be00"
    assert all(u.startswith("https://raw.githubusercontent.com/") and u.endswith(published.PUBLISHED_FILE.name)
               for u in published.PUBLISHED_FILE.urls)


@needs_file
def test_published_model_is_perfect_on_its_split():
    pub = published.load_published()
    assert pub.weight_decay == pytest.approx(0.1) and pub.epoch == 107_790
    train_loss, train_acc = evaluate(pub.model, pub.split.x_train, pub.split.y_train)
    test_loss, test_acc = evaluate(pub.model, pub.split.x_val, pub.split.y_val)
    assert train_acc == 1.0 and test_acc == 1.0
    assert test_loss == pytest.approx(4.99e-7, rel=0.05) and train_loss < 1e-8


def test_missing_file_offline_names_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKUTILS_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="GROKUTILS_DATA"):
        published.load_published()
