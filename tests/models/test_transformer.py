import pytest
import torch
from transformer_lens import ActivationCache

from grokutils.models import TransformerConfig
from reference import reference_logits, reference_post_ln_logits, sinusoid


def small_cfg(**kw):
    base = dict(d_vocab=13, d_vocab_out=11, n_ctx=4, d_model=16, n_layers=2, n_heads=2, d_head=8, d_mlp=32)
    return TransformerConfig(**{**base, **kw})


def randomise(model, seed=0):
    """Give every parameter and bias buffer non-trivial values, so the reference test sees them all."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point() and not name.endswith("IGNORE"):
                t.copy_(torch.randn(t.shape, generator=gen) * 0.5 + (1.0 if name.endswith(".w") else 0.0))
    return model


@pytest.mark.parametrize("normalization,act_fn", [(None, "relu"), ("LN", "relu"), ("LN", "gelu")])
def test_transformer_matches_independent_reference(normalization, act_fn):
    cfg = small_cfg(normalization=normalization, act_fn=act_fn)
    model = randomise(cfg.build())
    tokens = torch.randint(0, cfg.d_vocab, (32, cfg.n_ctx), generator=torch.Generator().manual_seed(1))
    act = torch.relu if act_fn == "relu" else torch.nn.functional.gelu
    expected = reference_logits(model.state_dict(), tokens, cfg.n_layers, normalization == "LN", act)
    torch.testing.assert_close(model(tokens), expected, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(model.final_logits(tokens), expected[:, -1], rtol=1e-4, atol=1e-4)


GROK = dict(normalization="LN", ln_position="post", positional="sinusoidal", use_attn_bias=False,
            use_unembed_bias=False, use_mlp_bias=False, init="torch")


def test_post_ln_transformer_matches_openai_grok_reference():
    cfg = small_cfg(**GROK, d_vocab_out=13, n_ctx=6, n_outputs=2)
    model = randomise(cfg.build())
    assert "ln_final.w" not in model.state_dict() and "pos_embed.W_pos" not in dict(model.named_parameters())
    tokens = torch.randint(0, cfg.d_vocab, (32, cfg.n_ctx), generator=torch.Generator().manual_seed(1))
    expected = reference_post_ln_logits(model.state_dict(), tokens, cfg.n_layers)
    torch.testing.assert_close(model(tokens), expected, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(model.final_logits(tokens), expected[:, -2:], rtol=1e-4, atol=1e-4)


def test_sinusoidal_positions_follow_openai_grok():
    model = small_cfg(**GROK, n_ctx=6).build()
    torch.testing.assert_close(model.pos_embed.W_pos, sinusoid(6, 16))
    assert {n for n, _ in model.named_parameters() if "b_" in n} == set()


def test_inits_draw_each_weight_at_its_documented_scale():
    big = dict(d_vocab=300, d_vocab_out=400, n_ctx=3, d_model=64, n_layers=1, n_heads=4, d_head=16, d_mlp=256)
    nanda = TransformerConfig(**big, init="nanda").build().state_dict()
    assert nanda["blocks.0.mlp.W_out"].std().item() == pytest.approx(64 ** -0.5, rel=0.05)
    assert nanda["unembed.W_U"].std().item() == pytest.approx(400 ** -0.5, rel=0.05)
    fan_in = TransformerConfig(**big).build().state_dict()
    assert fan_in["blocks.0.mlp.W_out"].std().item() == pytest.approx(256 ** -0.5, rel=0.05)
    torch_init = TransformerConfig(**big, init="torch", init_scale=2.0).build().state_dict()
    assert torch_init["embed.W_E"].std().item() == pytest.approx(2.0, rel=0.05)
    w_out = torch_init["blocks.0.mlp.W_out"]
    assert w_out.abs().max() <= 2 * 256 ** -0.5 and w_out.std().item() == pytest.approx(2 * (3 * 256) ** -0.5, rel=0.05)


@pytest.mark.parametrize("field,value", [("ln_position", "middle"), ("positional", "rotary"), ("init", "xavier"),
                                         ("n_outputs", 0), ("n_outputs", 5)])
def test_bad_architecture_options_name_the_parameter(field, value):
    with pytest.raises(ValueError, match=field):
        small_cfg(**{field: value})


def test_parameter_names_and_shapes_follow_transformer_lens():
    cfg = small_cfg(normalization="LN")
    shapes = {k: tuple(v.shape) for k, v in cfg.build().state_dict().items()}
    assert shapes["embed.W_E"] == (13, 16)
    assert shapes["pos_embed.W_pos"] == (4, 16)
    assert shapes["blocks.0.attn.W_Q"] == (2, 16, 8)
    assert shapes["blocks.0.attn.W_O"] == (2, 8, 16)
    assert shapes["blocks.0.attn.b_Q"] == (2, 8)
    assert shapes["blocks.1.mlp.W_in"] == (16, 32)
    assert shapes["blocks.1.mlp.W_out"] == (32, 16)
    assert shapes["unembed.W_U"] == (16, 11)
    assert {"blocks.0.ln1.w", "blocks.0.attn.mask", "blocks.0.attn.IGNORE", "ln_final.b", "unembed.b_U"} <= set(shapes)


def test_disabled_biases_are_zero_buffers_with_the_same_keys():
    with_bias = small_cfg().build()
    without = small_cfg(use_attn_bias=False, use_unembed_bias=False).build()
    assert set(with_bias.state_dict()) == set(without.state_dict())
    names = {n for n, _ in without.named_parameters()}
    assert "blocks.0.attn.b_Q" not in names and "unembed.b_U" not in names
    assert without.state_dict()["blocks.0.attn.b_Q"].abs().sum() == 0
    without.load_state_dict(with_bias.state_dict())  # a TransformerLens-style state_dict loads


def test_run_with_cache_gives_transformer_lens_hook_names():
    cfg = small_cfg(normalization="LN")
    model = cfg.build()
    tokens = torch.randint(0, cfg.d_vocab, (5, cfg.n_ctx))
    logits, cache = model.run_with_cache(tokens)
    assert isinstance(cache, ActivationCache)
    assert cache["hook_embed"].shape == (5, 4, 16)
    assert cache["blocks.0.attn.hook_pattern"].shape == (5, 2, 4, 4)
    assert cache["blocks.1.mlp.hook_post"].shape == (5, 4, 32)
    assert cache["blocks.0.ln1.hook_scale"].shape == (5, 4, 1)
    torch.testing.assert_close(cache["blocks.0.attn.hook_pattern"].sum(-1), torch.ones(5, 2, 4))
    assert torch.triu(cache["blocks.0.attn.hook_pattern"], diagonal=1).abs().max() == 0  # causal


def test_hooks_can_change_the_output():
    model = small_cfg().build()
    tokens = torch.randint(0, 13, (3, 4))
    zeroed = model.run_with_hooks(tokens, fwd_hooks=[("blocks.1.hook_mlp_out", lambda x, hook: x * 0)])
    assert not torch.allclose(zeroed, model(tokens))


def test_init_is_seeded_and_scaled():
    a, b = small_cfg(seed=1).build(), small_cfg(seed=1).build()
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    big = small_cfg(seed=1, init_scale=3.0).build()
    torch.testing.assert_close(big.blocks[0].mlp.W_in, 3 * a.blocks[0].mlp.W_in)
    assert a.blocks[0].mlp.W_in.std().item() == pytest.approx(16**-0.5, rel=0.2)


@pytest.mark.parametrize("kwargs,match", [(dict(act_fn="tanh"), "act_fn"), (dict(normalization="RMS"), "normalization"),
                                          (dict(d_model=0), "d_model"), (dict(init_scale=0), "init_scale"),
                                          (dict(d_model=16.0), "d_model=16.0 must be an integer")])
def test_transformer_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small_cfg(**kwargs)


TABLE_ARCHS = [dict(), dict(normalization="LN"), dict(**GROK, d_vocab_out=13, n_ctx=6, n_outputs=2)]


@pytest.mark.parametrize("arch", TABLE_ARCHS, ids=["no-norm", "pre-LN", "post-LN"])
def test_token_table_gives_the_plain_forward_and_its_gradients(arch):
    cfg = small_cfg(**arch)
    model = randomise(cfg.build()).double()
    tokens = torch.randint(0, cfg.d_vocab, (40, cfg.n_ctx), generator=torch.Generator().manual_seed(2))
    assert model.token_table(tokens) is not None  # 40 examples > 13 tokens: the table is the cheaper path
    tabled = model.final_logits(tokens)
    plain = model(tokens)[:, -cfg.n_outputs:].squeeze(1)
    torch.testing.assert_close(tabled, plain, rtol=1e-12, atol=1e-12)
    grads = [torch.autograd.grad(out.square().sum(), list(model.parameters())) for out in (tabled, plain)]
    scale = max(float(g.abs().max()) for g in grads[1])  # b_K's gradient is 0 up to rounding: tolerance from the largest
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12 * scale)


@pytest.mark.parametrize("arch", TABLE_ARCHS, ids=["no-norm", "pre-LN", "post-LN"])
@pytest.mark.parametrize("shared", [True, False], ids=["shared-tokens", "own-tokens"])
def test_token_table_of_stacked_runs_gives_each_run_alone(arch, shared):
    from grokutils.models.hooked import stack

    cfg = small_cfg(**arch)
    models = [randomise(cfg.build(), seed=s).double() for s in (0, 1)]
    buffers = {name: t for name, t in models[0].named_buffers()}  # a stacked model shares run 0's buffers
    models[1].load_state_dict({**models[1].state_dict(), **buffers})
    gen = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, cfg.d_vocab, (40, cfg.n_ctx) if shared else (2, 40, cfg.n_ctx), generator=gen)
    out = stack(models).final_logits(tokens)
    for k, model in enumerate(models):
        torch.testing.assert_close(out[k], model(tokens if shared else tokens[k])[:, -cfg.n_outputs:].squeeze(1),
                                   rtol=1e-12, atol=1e-12)


def test_token_table_only_where_it_saves_work_and_no_hook_reads_the_first_norm():
    model = small_cfg(normalization="LN").build()
    gen = torch.Generator().manual_seed(4)
    assert model.token_table(torch.randint(0, 13, (13, 4), generator=gen)) is None  # no more examples than tokens
    tokens = torch.randint(0, 13, (14, 4), generator=gen)
    table = model.token_table(tokens)
    assert table.rows.shape == (4, 13, 16) and int(table.index[0, 2]) == 2 * 13 + int(tokens[0, 2])
    _, cache = model.run_with_cache(tokens, last_only=True, names_filter="blocks.0.ln1.hook_normalized")
    assert cache["blocks.0.ln1.hook_normalized"].shape == (14, 4, 16)  # per example, not per table row
    assert model.token_table(tokens) is not None  # the cache's hooks are gone again
