import math

import pytest
import torch

from grokutils.analysis import landscape
from grokutils.models import TransformerConfig
from grokutils.tasks.modular import ModularConfig
from grokutils.train import evaluate


def _weights():
    gen = torch.Generator().manual_seed(0)
    return {"embed.W_E": torch.randn(7, 4, generator=gen), "blocks.0.attn.W_Q": torch.randn(2, 4, 3, generator=gen),
            "blocks.0.mlp.W_in": torch.randn(4, 5, generator=gen), "blocks.0.mlp.b_in": torch.randn(5, generator=gen),
            "blocks.0.attn.b_Q": torch.randn(2, 3, generator=gen), "blocks.0.ln1.w": torch.randn(4, generator=gen)}


def test_filter_axes_follow_the_named_roles():
    w = _weights()
    assert landscape.filter_axis("embed.W_E", w["embed.W_E"]) == 0
    assert landscape.filter_axis("blocks.0.attn.W_Q", w["blocks.0.attn.W_Q"]) == 0
    assert landscape.filter_axis("blocks.0.mlp.W_in", w["blocks.0.mlp.W_in"]) == 1
    assert landscape.filter_axis("layers.0.weight", torch.zeros(3, 2)) == 0
    for name in ("blocks.0.mlp.b_in", "blocks.0.attn.b_Q", "blocks.0.ln1.w"):
        assert landscape.filter_axis(name, w[name]) is None


def test_direction_filter_norms_equal_the_weights():
    w = _weights()
    d = landscape.random_direction(w, torch.Generator().manual_seed(1))
    for name, tensor in w.items():
        axis = landscape.filter_axis(name, tensor)
        if axis is None:
            assert torch.count_nonzero(d[name]) == 0, name
        else:
            assert torch.allclose(landscape.filter_norms(d[name], axis), landscape.filter_norms(tensor, axis)), name
            assert not torch.allclose(d[name], tensor)
    assert landscape.direction_norm_ratio(d, w) == pytest.approx(1.0)


def test_directions_differ_by_generator_and_repeat_by_seed():
    w = _weights()
    one = landscape.random_direction(w, torch.Generator().manual_seed(1))
    again = landscape.random_direction(w, torch.Generator().manual_seed(1))
    other = landscape.random_direction(w, torch.Generator().manual_seed(2))
    assert all(torch.equal(one[n], again[n]) for n in w)
    assert not torch.allclose(one["embed.W_E"], other["embed.W_E"])


def _bowl(weights):
    """A quadratic bowl with its minimum at ``weights``: the summed squared distance from them."""
    def loss_fn(points):
        total = sum((p - weights[n]).pow(2).flatten(1).sum(1) for n, p in points.items())
        return {"train": total, "val": 2 * total}
    return loss_fn


def test_quadratic_bowl_gives_its_contours():
    w = _weights()
    gen = torch.Generator().manual_seed(3)
    d1, d2 = landscape.random_direction(w, gen), landscape.random_direction(w, gen)
    coords = landscape.grid_coords(5)
    grid = landscape.surface(_bowl(w), w, d1, d2, coords, chunk=7)
    sq = lambda d: sum(float(t.pow(2).sum()) for t in d.values())
    dot = sum(float((d1[n] * d2[n]).sum()) for n in w)
    a, b = torch.meshgrid(coords, coords, indexing="ij")
    expected = a**2 * sq(d1) + b**2 * sq(d2) + 2 * a * b * dot
    assert torch.allclose(grid["train"], expected, rtol=1e-4)
    assert torch.allclose(grid["val"], 2 * expected, rtol=1e-4)
    assert grid["train"][2, 2] == 0
    assert landscape.loss_range(grid["train"]) == pytest.approx(float(expected.max()), rel=1e-4)
    along = landscape.line(_bowl(w), w, d1, coords)
    assert torch.allclose(along["train"], coords**2 * sq(d1), rtol=1e-4)


def test_sharpness_is_the_mean_rise_on_the_ring():
    coords = landscape.grid_coords(41)
    a, b = torch.meshgrid(coords, coords, indexing="ij")
    bowl = a**2 + b**2
    assert landscape.sharpness(bowl, coords, 0.5) == pytest.approx(0.25, rel=0.05)
    assert landscape.sharpness(3 * bowl, coords, 0.5) == pytest.approx(0.75, rel=0.05)
    assert landscape.sharpness(torch.zeros_like(bowl), coords, 0.5) == 0


@pytest.mark.parametrize("n", [2, 4, 1])
def test_grid_needs_an_odd_size(n):
    with pytest.raises(ValueError, match="n must be an odd integer"):
        landscape.grid_coords(n)


def test_sharpness_rejects_a_radius_outside_the_grid():
    coords = landscape.grid_coords(5)
    with pytest.raises(ValueError, match="radius"):
        landscape.sharpness(torch.zeros(5, 5), coords, 3.0)


def test_stacked_losses_match_the_model_at_the_centre():
    task = ModularConfig(op="add", p=7, frac_train=0.5)
    cfg = TransformerConfig(d_vocab=task.d_vocab, d_vocab_out=task.n_classes, n_ctx=task.n_ctx, d_model=8,
                            n_heads=2, d_head=4, d_mlp=16, n_layers=1)
    model, data = cfg.build(), task.build()
    w = {n: p.detach() for n, p in model.named_parameters()}
    d = landscape.random_direction(w, torch.Generator().manual_seed(0))
    at = landscape.line(landscape.stacked_losses(cfg, data), w, d, landscape.grid_coords(3), chunk=2)
    assert at["train"][1].item() == pytest.approx(evaluate(model, data.x_train, data.y_train)[0], rel=1e-5)
    assert at["val"][1].item() == pytest.approx(evaluate(model, data.x_val, data.y_val)[0], rel=1e-5)
    assert at["train"][0] != at["train"][1]
    moved = {n: w[n] + d[n] for n in w}
    model.load_state_dict({**model.state_dict(), **moved})
    assert at["train"][2].item() == pytest.approx(evaluate(model, data.x_train, data.y_train)[0], rel=1e-4)
