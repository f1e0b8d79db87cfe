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
