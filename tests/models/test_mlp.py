"""The MLP of Omnigrok's MNIST runs."""
import pytest
import torch

from grokutils.models import MLP, MLPConfig


def test_mlp_scale_shapes_and_hooks():
    base, scaled = MLPConfig(seed=2).build(), MLPConfig(seed=2, init_scale=8.0).build()
    for p1, p8 in zip(base.parameters(), scaled.parameters()):
        torch.testing.assert_close(p8, 8 * p1)
    x = torch.rand(7, 1, 28, 28)
    out, cache = base.run_with_cache(x)
    assert out.shape == (7, 10) and cache["layers.1.hook_post"].shape == (7, 200)
    assert isinstance(base, MLP) and torch.equal(base.final_logits(x), out)
    with pytest.raises(ValueError, match="widths"):
        MLPConfig(widths=(784,))
    with pytest.raises(ValueError, match="widths"):
        MLPConfig(widths=(784, 10.5))
    with pytest.raises(ValueError, match="init_scale=nan"):
        MLPConfig(init_scale=float("nan"))


def test_activations_and_outputs_follow_the_config():
    x = torch.rand(5, 784, generator=torch.Generator().manual_seed(0))
    relu = MLPConfig(seed=1).build()
    sig = MLPConfig(seed=1, act_fn="sigmoid").build()
    _, cache = sig.run_with_cache(x)
    hidden = cache["layers.0.hook_post"]
    assert hidden.min() > 0 and hidden.max() < 1 and torch.allclose(hidden, torch.sigmoid(cache["layers.0.hook_pre"]))
    assert not torch.allclose(sig(x), relu(x))  # same weights, another activation
    outputs = {name: MLPConfig(seed=1, output=name).build()(x) for name in ("linear", "sigmoid", "softmax")}
    torch.testing.assert_close(outputs["sigmoid"], torch.sigmoid(outputs["linear"]))
    torch.testing.assert_close(outputs["softmax"].sum(-1), torch.ones(5))
    assert all(torch.equal(out.argmax(-1), outputs["linear"].argmax(-1)) for out in outputs.values())
    with pytest.raises(ValueError, match=r"act_fn='tanh' is not supported; allowed values: \('relu', 'sigmoid'\)"):
        MLPConfig(act_fn="tanh")
    with pytest.raises(ValueError, match="output='logsoftmax'"):
        MLPConfig(output="logsoftmax")


def test_two_hot_inputs_read_two_columns_as_the_product_with_the_two_hot_vector_does():
    tokens = torch.tensor([[0, 4, 7], [6, 6, 7], [3, 0, 7]])  # [a, b, =] of a task mod 7
    two_hot = torch.cat([torch.nn.functional.one_hot(tokens[:, 0], 7), torch.nn.functional.one_hot(tokens[:, 1], 7)], 1)
    for bias in (False, True):
        by_tokens = MLPConfig(widths=(14, 9, 7), seed=3, bias=bias, inputs="two_hot").build()
        by_values = MLPConfig(widths=(14, 9, 7), seed=3, bias=bias).build()
        assert torch.equal(by_tokens(tokens), by_values(two_hot.float()))
    no_bias = MLPConfig(widths=(14, 9, 7), bias=False, inputs="two_hot").build()
    assert [name for name, _ in no_bias.named_parameters()] == ["layers.0.weight", "layers.1.weight"]
    with pytest.raises(ValueError, match=r"inputs='one_hot' is not supported; allowed values: \('values', 'two_hot'\)"):
        MLPConfig(inputs="one_hot")
    with pytest.raises(ValueError, match="widths\\[0\\]=15 must be even"):
        MLPConfig(widths=(15, 7), inputs="two_hot")
    with pytest.raises(ValueError, match="bias=1 must be True or False"):
        MLPConfig(bias=1)


def test_stacked_two_hot_mlp_without_bias_is_each_model_alone():
    from grokutils.models import stack

    tokens = torch.randint(0, 7, (2, 5, 3), generator=torch.Generator().manual_seed(0))
    models = [MLPConfig(widths=(14, 9, 7), seed=s, bias=False, inputs="two_hot").build() for s in (0, 1)]
    together = stack(models)
    torch.testing.assert_close(together(tokens), torch.stack([m(t) for m, t in zip(models, tokens)]))
    torch.testing.assert_close(together(tokens[0]), torch.stack([m(tokens[0]) for m in models]))
