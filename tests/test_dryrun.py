"""The dry run: synthetic histories with a real run's shapes, a run cache that is neither read nor written, Checks that
assert only the mechanics, and every chapter executed end to end at ``book`` and ``paper`` against it."""
import json
from pathlib import Path

import papermill
import pytest
import torch

from grokutils import book, dryrun, runs
from grokutils.export import load_run
from grokutils.history import METRICS

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "book").glob("*.ipynb"))


@pytest.fixture
def dry(monkeypatch):
    monkeypatch.setenv(dryrun.DRY_RUN_ENV, "1")


def test_enabled_reads_the_environment(monkeypatch):
    monkeypatch.delenv(dryrun.DRY_RUN_ENV, raising=False)
    assert not dryrun.enabled()
    for value, on, null in (("0", False, False), ("", False, False), ("1", True, False), ("null", True, True)):
        monkeypatch.setenv(dryrun.DRY_RUN_ENV, value)
        assert dryrun.enabled() is on and dryrun.null() is null
    monkeypatch.setenv(dryrun.DRY_RUN_ENV, "yes")
    with pytest.raises(ValueError, match=r"GROKUTILS_DRY_RUN='yes'.*allowed values"):
        dryrun.enabled()


def test_synthetic_has_the_shapes_of_the_real_run(tiny_run):
    probes = ("weight_norms", "attn_norms", "softmax_collapse")
    cfg = tiny_run(steps=400, n_logs=40, probes=probes)
    h, real = dryrun.synthetic(cfg), runs.train(tiny_run(steps=3, n_logs=2, probes=probes),
                                                 progress=False)
    assert h.config == cfg and h.steps.tolist() == cfg.train.log_steps()
    assert set(h.metrics) == set(real.metrics) and set(METRICS) <= set(h.metrics)
    assert all(len(col) == len(h.steps) and col.dtype == torch.float64 for col in h.metrics.values())
    assert {k: v.shape for k, v in h.final_state.items()} == {k: v.shape for k, v in real.final_state.items()}
    assert torch.equal(h.train_index, real.train_index)
    assert h.device == dryrun.DEVICE and h.wall_seconds == 0.0 and h.is_finite()
    assert h.model() is not None


def test_synthetic_curves_rise_and_fall(tiny_run):
    h = dryrun.synthetic(tiny_run(steps=1000, n_logs=60))
    fit = h.steps_to("train_acc", 0.99)
    assert fit is not None and h.train_acc[0] < 0.2 and h.train_acc[-1] == 1.0
    general = h.steps_to("val_acc", 0.5)
    assert general is None or general > fit, "validation accuracy rises after training accuracy"
    assert h.train_loss[-1] < h.train_loss[0] / 100
    assert h.val_loss.max() > h.val_loss[0], "the validation loss first rises"


def test_the_null_fixture_learns_nothing_and_its_checks_assert_findings(tiny_run, monkeypatch):
    monkeypatch.setenv(dryrun.DRY_RUN_ENV, "null")
    cfg = tiny_run(steps=1000, n_logs=40, probes=("weight_norms",))
    h = dryrun.synthetic(cfg)
    chance = round(1 / cfg.task.p, 3)
    assert torch.allclose(h.train_acc, torch.full_like(h.train_acc, chance)) and torch.equal(h.val_acc, h.train_acc)
    assert h.train_loss[0] - h.train_loss[-1] == pytest.approx(0.001) and h.steps.tolist() == cfg.train.log_steps()
    assert h.weight_norm.unique().numel() == 1 and dryrun.banner() == dryrun.NULL_BANNER
    checks = book.Checks(claims=True)
    checks.claim("a finding the null fixture does not show", 0, False)
    with pytest.raises(AssertionError, match="a finding the null fixture"):
        checks.report()


def test_synthetic_runs_differ_by_config_and_are_repeatable(tiny_run):
    assert torch.equal(dryrun.synthetic(tiny_run(seed=3)).val_acc, dryrun.synthetic(tiny_run(seed=3)).val_acc)
    # 60 configs (7 of them never reach): which do is drawn from the configs' hashes, and 12 once drew none
    delays = {dryrun.synthetic(tiny_run(seed=s, steps=2000, n_logs=100)).steps_to("val_acc", 0.9) for s in range(60)}
    assert len(delays) > 3, "a sweep's synthetic runs generalise at different steps"
    assert None in delays, "some synthetic runs never reach the level within their budget"


def test_synthetic_run_stops_where_its_config_says(tiny_run):
    runs_ = [dryrun.synthetic(tiny_run(seed=s, steps=2000, n_logs=100, stop_at_val_acc=0.9, checkpoint_every=100))
             for s in range(12)]
    stopped = [h for h in runs_ if h.steps[-1] < 2000]
    assert stopped, "some runs reach 90% and stop"
    for h in stopped:
        assert h.val_acc[-1] >= 0.9 and (h.val_acc[:-1] < 0.9).all()
        assert h.steps.tolist() == h.config.train.log_steps()[: len(h.steps)]
        assert max(h.checkpoints) < h.steps[-1], "no checkpoint at the step the run stopped, as the loop keeps none"


def test_synthetic_checkpoints_follow_the_schedule(tiny_run):
    h = dryrun.synthetic(tiny_run(steps=1000, checkpoint_every=10))
    steps = sorted(h.checkpoints)
    assert steps[0] == 0 and steps[-1] == 1000 and len(steps) == dryrun.MAX_CHECKPOINTS
    assert all(s % 10 == 0 for s in steps)
    assert set(h.checkpoints[0]) == set(h.final_state)
    assert dryrun.synthetic(tiny_run()).checkpoints == {}


def test_at_most_bounds_only_a_dry_run(monkeypatch):
    monkeypatch.delenv(dryrun.DRY_RUN_ENV, raising=False)
    assert dryrun.at_most(51, 5) == 51 and dryrun.at_most(None, 64) is None
    monkeypatch.setenv(dryrun.DRY_RUN_ENV, "1")
    assert dryrun.at_most(51, 5) == 5 and dryrun.at_most(3, 5) == 3 and dryrun.at_most(None, 64) == 64


def test_the_run_cache_is_neither_read_nor_written(dry, fresh_cache, tiny_run, monkeypatch):
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("a dry run trained"))
    monkeypatch.setattr(runs, "load", lambda *a, **k: pytest.fail("a dry run read the cache"))
    many = runs.load_or_train_many([tiny_run(seed=0), tiny_run(seed=1)], device="cpu")
    one = runs.load_or_train(tiny_run(seed=2), device="cpu")
    assert all(h.device == dryrun.DEVICE for h in [*many, one])
    assert not fresh_cache.exists()


def test_checks_assert_only_the_mechanics_in_a_dry_run(dry, capsys):
    checks = book.Checks(claims=True)
    checks.claim("a finding the synthetic runs do not show", 0, False)
    checks.expect("a mechanic that holds", 1, True)
    results = checks.report()
    out = capsys.readouterr().out
    assert [c.asserted for c in results] == [False, True]
    assert "DRY RUN (fail, not asserted)  a finding" in out and "DRY RUN: the mechanics passed" in out
    failing = book.Checks(claims=True)
    failing.expect("a mechanic that fails", 0, False)
    with pytest.raises(AssertionError, match="a mechanic that fails"):
        failing.report()


def test_checks_assert_findings_outside_a_dry_run(monkeypatch):
    monkeypatch.delenv(dryrun.DRY_RUN_ENV, raising=False)
    checks = book.Checks(claims=True)
    checks.claim("a finding that fails", 0, False)
    with pytest.raises(AssertionError, match="a finding that fails"):
        checks.report()


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["book", "paper"])
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_executes_end_to_end_in_a_dry_run(chapter, profile, tmp_path, monkeypatch):
    """Every cell, figure, glue call, the Checks' mechanics, the "Run this chapter" box and the download, at a
    profile the smoke tests never execute; nothing reaches the run cache, and the page says it is a dry run."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(dryrun.DRY_RUN_ENV, "1")
    monkeypatch.setenv("GROKUTILS_CACHE", str(cache))
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(chapter), str(out), parameters={"profile": profile}, cwd=str(tmp_path),
                               progress_bar=False)
    text = "".join(json.dumps(c.get("outputs", [])) for c in json.loads(out.read_text())["cells"])
    assert f"profile: {profile}" in text and dryrun.BANNER in text
    assert "DRY RUN: the mechanics passed" in text and "DRY RUN of" in text
    assert not cache.exists(), "a dry run wrote into the run cache (or recorded a cost beside it)"
    downloads = list((tmp_path / "downloads").glob("*.pt"))
    assert downloads and all(load_run(path).device == dryrun.DEVICE for path in downloads)
