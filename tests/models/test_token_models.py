"""The token-embedding MLP and the LSTM of the models-and-encodings chapter."""
import pytest
import torch

from grokutils.config import RunConfig, TrainConfig
from grokutils.models import LSTM, LSTMConfig, TokenMLP, TokenMLPConfig
from grokutils.sweep import train_many
from grokutils.tasks import ModularConfig
from grokutils.train import train

P = 11


def tokens(n=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randint(0, P, (2, n), generator=gen)
    return torch.stack([a, b, torch.full_like(a, P)], 1)


def small(kind, **kw):
    if kind == "mlp":
        return TokenMLPConfig(d_vocab=P + 1, d_vocab_out=P, d_embed=8, d_hidden=(16, 16), **kw)
    return LSTMConfig(d_vocab=P + 1, d_vocab_out=P, n_ctx=3, d_embed=6, d_hidden=5, **kw)


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_shapes_hooks_and_seeded_scaled_init(kind):
    model = small(kind, seed=3).build()
    out, cache = model.run_with_cache(tokens())
    assert out.shape == (16, P) and torch.equal(model.final_logits(tokens()), out)
    names = {"mlp": ["hook_embed", "layers.0.hook_pre", "layers.1.hook_post"],
             "lstm": ["hook_embed", "steps.0.hook_h", "steps.2.hook_c"]}[kind]
    assert all(name in cache for name in names)
    same, other = small(kind, seed=3).build(), small(kind, seed=4).build()
    scaled = small(kind, seed=3, init_scale=8.0).build()
    for (name, p), q, r, s in zip(model.named_parameters(), same.parameters(), other.parameters(), scaled.parameters()):
        assert torch.equal(p, q) and not torch.equal(p, r), name
        torch.testing.assert_close(s, 8 * p)


def test_mlp_reads_only_its_input_tokens_through_their_embeddings():
    model = small("mlp").build()
    x = tokens()
    changed = x.clone()
    changed[:, 2] = 0  # the "=" position is not read
    assert torch.equal(model(x), model(changed))
    _, cache = model.run_with_cache(x)
    torch.testing.assert_close(cache["hook_embed"], model.embed.W_E[x[:, :2]])
    x[:, 1] = (x[:, 1] + 1) % P
    assert not torch.allclose(model(x), model(changed))


def test_mlp_init_follows_pytorch_defaults():
    model = TokenMLPConfig(d_vocab=50, d_vocab_out=20, d_embed=64, d_hidden=(400,)).build()
    assert abs(model.embed.W_E.std().item() - 1) < 0.05
    bound = 1 / (2 * 64) ** 0.5
    weight = model.layers[0].weight
    assert weight.abs().max() <= bound and weight.abs().max() > 0.95 * bound


def test_lstm_matches_torch_lstm_with_the_same_weights():
    model = small("lstm", seed=1).build()
    ref = torch.nn.LSTM(6, 5, batch_first=True)
    with torch.no_grad():
        for ours, theirs in (("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"),
                             ("b_hh", "bias_hh_l0")):
            getattr(ref, theirs).copy_(getattr(model.lstm, ours))
    x = tokens()
    hidden, (h_n, c_n) = ref(model.embed.W_E[x])
    expected = h_n[0] @ model.unembed.W_U.T + model.unembed.b_U
    out, cache = model.run_with_cache(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(cache["steps.1.hook_h"], hidden[:, 1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(cache["steps.2.hook_c"], c_n[0], rtol=1e-5, atol=1e-5)


def test_an_lstm_hook_edit_reaches_the_later_steps():
    model, x = small("lstm").build(), tokens()
    edited = model.run_with_hooks(x, fwd_hooks=[("steps.0.hook_h", lambda h, hook: h * 0)])
    assert not torch.allclose(edited, model(x))


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_tiny_overfit(kind):
    task = ModularConfig(p=P, frac_train=0.5)
    model = small(kind) if kind == "mlp" else LSTMConfig(d_vocab=P + 1, d_vocab_out=P, d_embed=16, d_hidden=32)
    cfg = RunConfig(task, model, TrainConfig(steps=300, lr=1e-2, weight_decay=0.0, n_logs=5))
    h = train(cfg, progress=False)
    assert h.train_acc[-1] == 1.0 and h.train_loss[-1] < 0.1 * h.train_loss[0]


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_batched_runs_equal_the_same_runs_alone(kind, same_history):
    cfgs = [RunConfig(ModularConfig(p=P, frac_train=f), small(kind, seed=s, init_scale=a),
                      TrainConfig(steps=15, lr=3e-3, weight_decay=wd, n_logs=4, seed=s))
            for f, s, a, wd in [(0.5, 0, 1.0, 1.0), (0.3, 1, 4.0, 0.0)]]
    for cfg, batched in zip(cfgs, train_many(cfgs, progress=False)):
        same_history(batched, train(cfg, progress=False))


@pytest.mark.parametrize("field,value,match", [
    ("d_hidden", (512, 0), "d_hidden"), ("d_hidden", [512], "d_hidden"), ("n_inputs", 0, "n_inputs"),
    ("init_scale", 0.0, "init_scale")])
def test_mlp_config_errors(field, value, match):
    with pytest.raises(ValueError, match=match):
        TokenMLPConfig(d_vocab=5, d_vocab_out=3, **{field: value})


@pytest.mark.parametrize("field,value", [("d_hidden", 0), ("n_ctx", 1.5), ("d_embed", True), ("init_scale", -1.0)])
def test_lstm_config_errors(field, value):
    with pytest.raises(ValueError, match=field):
        LSTMConfig(d_vocab=5, d_vocab_out=3, **{field: value})
