"""Runs kept as their logged metrics only: written and read back, found by config, drawn, and clear errors."""
import json

import matplotlib
import pytest
import torch

from grokutils import plots, records
from grokutils.train import train


@pytest.fixture
def trained(tiny_run):
    return train(tiny_run(steps=30, n_logs=10, probes=("weight_norms",)), progress=False)


def test_a_record_round_trips_the_metrics_and_says_where_it_came_from(tmp_path, trained):
    path = records.save_record(trained, tmp_path / "run.json")
    assert path.stat().st_size < 20_000, "metrics only, no weights"
    record = records.load_record(path)
    h = record.history
    assert h.config == trained.config and torch.equal(h.steps, trained.steps)
    assert set(h.metrics) == set(trained.metrics)
    for name in h.metrics:
        torch.testing.assert_close(h.metrics[name], trained.metrics[name].double(), rtol=0, atol=0)
    assert h.device == trained.device and h.final_state == {} and h.wall_seconds == pytest.approx(trained.wall_seconds)
    assert "torch" in record.origin and "grokutils" in record.origin
    assert record.describe().startswith("run.json: trained on cpu")
    assert not list(tmp_path.glob(".*.tmp")), "written through a temporary file"


def test_find_returns_the_record_of_a_config_and_none_for_another(tmp_path, trained, tiny_run):
    records.save_record(trained, tmp_path / "a.json")
    (tmp_path / "notes.json").write_text("[1, 2]")
    found = records.find(trained.config, tmp_path)
    assert found is not None and found.history.config is trained.config
    assert records.find(tiny_run(steps=31, n_logs=10, probes=("weight_norms",)), tmp_path) is None
    assert records.find(trained.config, tmp_path / "missing") is None


def test_a_chapter_can_draw_and_measure_a_record(tmp_path, trained):
    h = records.load_record(records.save_record(trained, tmp_path / "run.json")).history
    fig = plots.plot_curves(h)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert h.steps_to("train_acc", 0.0) == 0 and h.is_finite()


def test_damaged_records_are_refused_naming_the_file(tmp_path, trained, tiny_run):
    path = records.save_record(trained, tmp_path / "run.json")
    blob = json.loads(path.read_text())
    cases = {"html.json": "<html>not json</html>", "other.json": json.dumps({"format": "something else"}),
             "short.json": json.dumps({**blob, "steps": blob["steps"][:-1]}),
             "no_metrics.json": json.dumps({k: v for k, v in blob.items() if k != "metrics"})}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ValueError, match=name):
            records.load_record(tmp_path / name)
    with pytest.raises(ValueError, match="holds another run"):
        records.load_record(path, tiny_run(steps=31))
