"""Softmax collapse: the margins at which each precision rounds the softmax away, and the meter on stored weights."""
import math

import pytest
import torch

from grokutils.analysis import collapse


def test_collapse_margins_grow_with_the_precision_and_lie_near_the_rounding_bound():
    margins = collapse.collapse_margins(113)
    assert margins["f16"] < margins["f32"] < margins["f64"]
    for name, bits in (("f16", 11), ("f32", 24), ("f64", 53)):
        # no sooner than where one other term alone rounds away (e^-m below half a unit in the last place of 1), no
        # later than where all 112 together do; 0.05 of slack for how a machine rounds each term (in float16 e^-12 is
        # subnormal, spaced 6e-8 apart: up to 1.4% off, 0.014 in the margin)
        alone, together = bits * math.log(2), bits * math.log(2) + math.log(112)
        assert alone - 0.05 <= margins[name] <= together + 0.05, name
        dtype = {"f16": torch.float16, "f32": torch.float32, "f64": torch.float64}[name]
        assert collapse.collapses_at(margins[name], 113, dtype)
        assert not collapse.collapses_at(margins[name] - 0.01, 113, dtype)


def test_collapse_margin_needs_a_high_end_that_collapses():
    with pytest.raises(ValueError, match="high=1.0 does not collapse"):
        collapse.collapse_margin(113, torch.float32, high=1.0)


def test_margin_losses_reach_exactly_zero_past_the_collapse_margin():
    margins = collapse.collapse_margins(113)
    # log_softmax sums in its own order, so its loss reaches 0 near, not exactly at, the collapse margin
    grid = torch.tensor([1.0, margins["f16"] + 3, margins["f32"] + 3, margins["f64"] + 3])
    losses = collapse.margin_losses(grid, 113)
    assert [v == 0 for v in losses["f16"].tolist()] == [False, True, True, True]
    assert [v == 0 for v in losses["f32"].tolist()] == [False, False, True, True]
    assert [v == 0 for v in losses["f64"].tolist()] == [False, False, False, True]
    assert losses["f64"][0].item() == pytest.approx(math.log(1 + 112 * math.exp(-1)))


def test_stored_collapse_reads_every_checkpoint_and_the_end(tiny_run):
    from grokutils.train import train

    h = train(tiny_run(steps=20, n_logs=3, checkpoint_every=10), progress=False)
    split = h.config.task.build()
    out = collapse.stored_collapse(h, split.x_train, split.y_train)
    assert out["steps"].tolist() == [0, 10, 20]
    assert set(out) == {"steps"} | {f"{k}/{p}" for k in ("collapse", "zero_loss") for p in ("f16", "f32", "f64")}
    assert all(((v >= 0) & (v <= 1)).all() for k, v in out.items() if k != "steps")
    assert out["collapse/f64"].max() == 0  # a barely trained model is far from any collapse
