"""The run cache: keys, atomic group-readable files, checkpoints beside the run, and runs that are never stale."""
import json
import os
import stat
import subprocess
import sys
import time

import pytest
import torch

from grokutils import dryrun, runs, store


def test_second_call_loads_from_cache_without_training(fresh_cache, monkeypatch, tiny_run):
    cfg = tiny_run(steps=20)
    first = runs.load_or_train(cfg, device="cpu", progress=False)
    assert len(list(fresh_cache.glob("runs/*.pt"))) == 1
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("retrained a cached run"))
    second = runs.load_or_train(cfg, device="cpu", progress=False)
    assert torch.equal(first.val_loss, second.val_loss) and second.config == cfg
    assert second.wall_seconds == first.wall_seconds and torch.equal(second.train_index, first.train_index)


def test_key_depends_on_config_device_version_and_code(monkeypatch, tiny_run):
    cfg = tiny_run()
    key = store.config_key(cfg)
    assert key == store.config_key(tiny_run())
    assert key != store.config_key(tiny_run(lr=2e-3))
    assert key != store.config_key(tiny_run(init_scale=2.0))
    assert key != store.config_key(cfg, device="cuda")
    monkeypatch.setattr(store, "__version__", "9.9.9")
    assert key != store.config_key(cfg)
    monkeypatch.undo()
    monkeypatch.setattr(store, "code_fingerprint", lambda: "another-initialisation")
    assert key != store.config_key(cfg)


def test_code_fingerprint_ignores_docstrings_and_comments_but_not_code(tmp_path, monkeypatch):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "models").mkdir()
    module = tmp_path / "train.py"
    monkeypatch.setattr(store, "PACKAGE", tmp_path)
    monkeypatch.setattr(store, "CODE", ("train.py", "tasks", "models"))

    def fingerprint(text):
        module.write_text(text)
        store.code_fingerprint.cache_clear()
        return store.code_fingerprint()

    base = fingerprint('"""Doc."""\ndef f(x):\n    """Doc."""\n    return x * 2\n')
    assert base == fingerprint('"""Other doc."""\ndef f(x):\n    # a comment\n    return x * 2  # and another\n')
    assert base != fingerprint('def f(x):\n    return x * 3\n')
    store.code_fingerprint.cache_clear()


def test_use_cache_false_writes_nothing(fresh_cache, tiny_run):
    runs.load_or_train(tiny_run(steps=5), progress=False, use_cache=False)
    assert not fresh_cache.exists()


def test_atomic_save_leaves_nothing_behind_on_failure_and_files_are_group_readable(tmp_path):
    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    target = tmp_path / "run.pt"
    with pytest.raises(RuntimeError, match="boom"):
        store.atomic_save({"x": Unpicklable()}, target)
    assert os.listdir(tmp_path) == []
    store.atomic_save({"x": torch.ones(2)}, target)
    assert torch.equal(torch.load(target)["x"], torch.ones(2)) and os.listdir(tmp_path) == ["run.pt"]
    assert os.stat(target).st_mode & stat.S_IRGRP


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GROKUTILS_CACHE", str(tmp_path))
    assert store.cache_dir() == tmp_path / "runs"
    monkeypatch.delenv("GROKUTILS_CACHE")
    assert store.cache_dir().parts[-3:] == (".cache", "grokutils", "runs")


def test_load_or_train_many_trains_only_the_missing_runs(fresh_cache, monkeypatch, tiny_run):
    a, b, c = tiny_run(steps=10), tiny_run(steps=10, seed=1), tiny_run(steps=10, seed=2)
    first = runs.load_or_train(a, progress=False)
    calls = []
    real = runs.dispatch.run_chunk
    monkeypatch.setattr(runs.dispatch, "run_chunk", lambda chunk, *args: calls.append(chunk.cfgs) or real(chunk, *args))
    cfgs = [a, b, c]
    both = runs.load_or_train_many(cfgs, progress=False, mode="batched")
    trained = [cfg for chunk in calls for cfg in chunk]  # however the plan groups them
    assert sorted(trained, key=cfgs.index) == [b, c] and torch.equal(both[0].val_loss, first.val_loss)
    assert len(list(fresh_cache.glob("runs/*.pt"))) == 3


def test_checkpoints_live_in_a_side_file_read_on_first_use(fresh_cache, tiny_run):
    cfg = tiny_run(steps=10, checkpoint_every=5)
    trained = runs.load_or_train(cfg, progress=False)
    path = store.run_path(cfg, "cpu")
    assert store.checkpoint_path(path).exists() and "checkpoints" not in torch.load(path, weights_only=True)
    loaded = runs.load_or_train(cfg, progress=False)
    assert loaded._checkpoints is None and sorted(loaded.checkpoints) == [0, 5, 10]
    assert torch.equal(loaded.checkpoints[5]["embed.W_E"], trained.checkpoints[5]["embed.W_E"])


DAMAGES = ["truncate", "garbage", "foreign", "lost checkpoints", "garbage checkpoints", "foreign checkpoints",
           "a field missing", "a field added", "a config field missing"]


def _rewrite(path, change) -> None:
    blob = torch.load(path, weights_only=True)
    change(blob)
    torch.save(blob, path)


def _config_without_seed(blob) -> None:
    config = json.loads(blob["config"])
    del config["train"][1]["seed"]
    blob["config"] = json.dumps(config, sort_keys=True)


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_or_foreign_file_is_reported_moved_aside_and_retrained(fresh_cache, tiny_run, damage):
    cfg, other = tiny_run(steps=10, checkpoint_every=5), tiny_run(steps=10, checkpoint_every=5, seed=1)
    first = runs.load_or_train(cfg, progress=False)
    path = store.run_path(cfg, "cpu")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(b"not a torch file")
    elif damage == "foreign":
        runs.load_or_train(other, progress=False)
        os.replace(store.run_path(other, "cpu"), path)
    elif damage == "lost checkpoints":
        store.checkpoint_path(path).unlink()
    elif damage == "garbage checkpoints":
        ckpt = store.checkpoint_path(path)
        ckpt.write_bytes(os.urandom(ckpt.stat().st_size))
    elif damage == "foreign checkpoints":
        runs.load_or_train(other, progress=False)
        theirs = store.checkpoint_path(store.run_path(other, "cpu"))
        assert theirs.stat().st_size == store.checkpoint_path(path).stat().st_size, "same size"
        os.replace(theirs, store.checkpoint_path(path))
    elif damage == "a field missing":
        _rewrite(path, lambda blob: blob.pop("wall_seconds"))
    elif damage == "a field added":
        _rewrite(path, lambda blob: blob.update(notes="from a newer grokutils"))
    else:
        _rewrite(path, _config_without_seed)
    moved = rf"run cache: {path} could not be used .* moved to {path.name}\.corrupt-"
    with pytest.warns(UserWarning, match=moved) as seen:
        again = runs.load_or_train(cfg, progress=False)
    if "checkpoints" in damage:
        assert any(str(store.checkpoint_path(path)) in str(w.message) for w in seen), "the message names the side file"
    assert torch.equal(again.val_loss, first.val_loss) and again.config == cfg
    assert torch.equal(again.checkpoints[5]["embed.W_E"], first.checkpoints[5]["embed.W_E"])
    assert list(path.parent.glob(f"{path.name}.corrupt-*")) and store.load(cfg, store.config_key(cfg), path) is not None


def test_a_run_stored_before_checkpoint_files_carried_their_key_still_loads(fresh_cache, tiny_run, monkeypatch):
    cfg = tiny_run(steps=10, checkpoint_every=5)
    first = runs.load_or_train(cfg, progress=False)
    path = store.run_path(cfg, "cpu")
    torch.save(first.checkpoints, store.checkpoint_path(path))  # as the store wrote it until issue 28: no key in it
    _rewrite(path, lambda blob: blob.update(checkpoint_bytes=store.checkpoint_path(path).stat().st_size))
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("retrained a run stored in the old format"))
    again = runs.load_or_train(cfg, progress=False)
    assert torch.equal(again.checkpoints[10]["embed.W_E"], first.checkpoints[10]["embed.W_E"])


def test_temporary_files_of_a_killed_save_are_cleaned_up(fresh_cache, tiny_run):
    folder = fresh_cache / "runs"
    folder.mkdir(parents=True)
    old, new = folder / ".abc.pt.x1.tmp", folder / ".abc.pt.x2.tmp"
    old.write_bytes(b"half")
    new.write_bytes(b"half")
    os.utime(old, (time.time() - 2 * store.STALE_TMP_SECONDS,) * 2)
    runs.load_or_train(tiny_run(steps=2), progress=False)
    assert not old.exists() and new.exists()  # a recent one may belong to a save still running


WRITER = """
import sys, torch
sys.path.insert(0, {tests!r})
from conftest import _tiny_run
from grokutils import runs
torch.set_num_threads(1)
cfgs = [_tiny_run(steps=40, seed=s, checkpoint_every=20) for s in range(4)]
for cfg in (cfgs if sys.argv[1] == "0" else cfgs[::-1]):
    runs.load_or_train(cfg, progress=False)
"""


@pytest.mark.slow
def test_two_processes_filling_one_cache_never_corrupt_it(fresh_cache, tiny_run):
    script = WRITER.format(tests=os.path.dirname(__file__))
    env = {**os.environ, "GROKUTILS_CACHE": str(fresh_cache)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(i)], env=env, stderr=subprocess.PIPE) for i in (0, 1)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()[-2000:]
    folder = fresh_cache / "runs"
    assert not list(folder.glob(".*.tmp")) and not list(folder.glob("*.corrupt-*"))
    for s in range(4):
        cfg = tiny_run(steps=40, seed=s, checkpoint_every=20)
        h = store.load(cfg, store.config_key(cfg, "cpu"), store.run_path(cfg, "cpu"))
        assert h is not None and sorted(h.checkpoints) == [0, 20, 40]


def test_load_cached_reads_a_stored_run_and_never_trains(fresh_cache, monkeypatch, tiny_run):
    cfg = tiny_run(steps=5, n_logs=2)
    with monkeypatch.context() as m:
        m.setattr(runs, "train", lambda *a, **k: pytest.fail("load_cached trained a run"))
        assert runs.load_cached(cfg) is None and not list(fresh_cache.glob("runs/*.pt"))  # nothing trained or written
    stored = runs.load_or_train(cfg, progress=False)
    torch.testing.assert_close(runs.load_cached(cfg).val_loss, stored.val_loss)
    monkeypatch.setenv(dryrun.DRY_RUN_ENV, "1")
    assert runs.load_cached(tiny_run(steps=7, n_logs=2)).device == dryrun.DEVICE
