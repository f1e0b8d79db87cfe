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
