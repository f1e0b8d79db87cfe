"""The median and range over seeds."""
import pytest
import torch

from grokutils.analysis.seeds import band


def test_band_is_the_median_and_range_over_the_shortest_run(make_history):
    runs = [make_history([0, 10, 20], val_acc=[0.0, 0.5, 1.0]), make_history([0, 10, 20], val_acc=[0.2, 0.1, 0.9]),
            make_history([0, 10], val_acc=[0.1, 0.3])]
    b = band(runs, "val_acc")
    assert b.steps.tolist() == [0, 10] and b.n_seeds == 3
    assert torch.allclose(b.median, torch.tensor([0.1, 0.3], dtype=b.median.dtype))
    assert b.low.tolist() == pytest.approx([0.0, 0.1]) and b.high.tolist() == pytest.approx([0.2, 0.5])


def test_band_refuses_runs_of_different_settings(make_history):
    with pytest.raises(ValueError, match="logged at different steps"):
        band([make_history([0, 10]), make_history([0, 20])], "val_acc")
    with pytest.raises(ValueError, match="empty"):
        band([], "val_acc")
