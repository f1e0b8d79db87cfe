"""A run cache shared between users: read-only caches, a cache that is not a folder, a full disk, and the costs file
that several chapters write at once."""
import builtins
import errno
import io
import json
import multiprocessing
import os
import stat
import time
import warnings

import pytest
import torch

from grokutils import runs, store
from grokutils.book import costs

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _deny_under(monkeypatch, folder, code: int) -> None:
    """Make every call that would change something under ``folder`` fail with errno ``code``, root or not."""
    root = os.path.abspath(folder) + os.sep

    def inside(p) -> bool:
        return not isinstance(p, int) and (os.path.abspath(os.fspath(p)) + os.sep).startswith(root)

    def guard(module, name, n_paths=1, when=lambda *a, **k: True):
        real = getattr(module, name)

        def guarded(*args, **kw):
            if any(inside(p) for p in args[:n_paths]) and when(*args, **kw):
                raise OSError(code, os.strerror(code), os.fspath(args[0]))
            return real(*args, **kw)
        monkeypatch.setattr(module, name, guarded)

    guard(os, "open", when=lambda path, flags, *a, **k: flags & WRITE_FLAGS)
    guard(os, "mkdir", when=lambda path, *a, **k: not os.path.exists(path))  # an existing folder: EEXIST first
    for name in ("replace", "rename"):
        guard(os, name, n_paths=2)
    for name in ("unlink", "remove", "rmdir", "chmod", "utime"):
        guard(os, name)
    for module in (io, builtins):
        guard(module, "open", when=lambda path, mode="r", *a, **k: any(c in mode for c in "wax+"))


@pytest.fixture(params=[errno.EACCES, errno.EROFS], ids=["another user's folder", "read-only mount"])
def read_only(request, monkeypatch):
    """``read_only(folder)``: from then on nothing under ``folder`` can be written, as in a cache owned by another
    user (PermissionError) or on a read-only mount (EROFS), for root as well."""
    return lambda folder: _deny_under(monkeypatch, folder, request.param)


def _fill(fresh_cache, tiny_run, n=1):
    cfgs = [tiny_run(steps=10, seed=s, checkpoint_every=5) for s in range(n)]
    return cfgs, [runs.load_or_train(cfg, progress=False) for cfg in cfgs]


def test_a_read_only_cache_holding_every_run_loads_them_and_skips_recording_costs(fresh_cache, tiny_run, read_only,
                                                                                   monkeypatch):
    (cfg,), (first,) = _fill(fresh_cache, tiny_run)
    costs.record("x", "smoke", 1.0, 0.5, "cpu")
    before = costs.costs_file().read_text()
    read_only(fresh_cache)
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("retrained a cached run"))
    again = runs.load_or_train(cfg, progress=False)
    assert torch.equal(again.checkpoints[5]["embed.W_E"], first.checkpoints[5]["embed.W_E"])
    with pytest.warns(UserWarning, match=rf"cost of x at profile smoke was not recorded.*{costs.costs_file()}"):
        costs.record("x", "smoke", 9.0, 9.0, "cpu")
    assert costs.costs_file().read_text() == before and costs.measured("x")["smoke"]["wall_seconds"] == 1.0


def test_a_run_missing_from_a_read_only_cache_is_trained_with_a_warning_up_front(fresh_cache, tiny_run, read_only,
                                                                                monkeypatch):
    fresh_cache.mkdir()
    read_only(fresh_cache)
    seen = []
    real = runs.train
    monkeypatch.setattr(runs, "train", lambda *a, **k: seen.append(len(caught)) or real(*a, **k))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = runs.load_or_train(tiny_run(steps=10, checkpoint_every=5), progress=False)
    assert seen == [1], "warned once, before training"
    assert "will not be stored" in str(caught[0].message) and str(fresh_cache / "runs") in str(caught[0].message)
    assert sorted(history.checkpoints) == [0, 5, 10] and not (fresh_cache / "runs").exists()


def test_runs_of_a_sweep_missing_from_a_read_only_cache_are_trained_and_returned(fresh_cache, tiny_run, read_only):
    (cached,), _ = _fill(fresh_cache, tiny_run)
    read_only(fresh_cache)
    cfgs = [cached, tiny_run(steps=10, seed=1), tiny_run(steps=10, seed=2)]
    with pytest.warns(UserWarning, match="2 runs .* will not be stored"):
        histories = runs.load_or_train_many(cfgs, progress=False, mode="sequential")
    assert [h.config for h in histories] == cfgs and len(list((fresh_cache / "runs").glob("*.pt"))) == 2


@pytest.mark.parametrize("where", ["the cache", "its runs folder"])
def test_a_cache_that_is_a_file_is_refused_before_training(tmp_path, monkeypatch, tiny_run, where):
    cache = tmp_path / "cache"
    (cache / "runs" if where == "its runs folder" else cache).parent.mkdir(parents=True, exist_ok=True)
    (cache / "runs" if where == "its runs folder" else cache).write_text("not a folder")
    monkeypatch.setenv("GROKUTILS_CACHE", str(cache))
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("trained a run it cannot store"))
    monkeypatch.setattr(runs.dispatch, "execute", lambda *a, **k: pytest.fail("trained runs it cannot store"))
    for call in (lambda: runs.load_or_train(tiny_run(steps=5), progress=False),
                 lambda: runs.load_or_train_many([tiny_run(steps=5)], progress=False)):
        with pytest.raises(NotADirectoryError, match=rf"GROKUTILS_CACHE={cache}.*{cache / 'runs'}.* not a folder"):
            call()


class _FullDisk:
    """A file whose every write fails as on a full disk."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def test_a_full_disk_at_save_time_returns_the_trained_run_with_a_warning(fresh_cache, tiny_run, monkeypatch):
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: _FullDisk(real(*a, **k)))
    cfg = tiny_run(steps=10, checkpoint_every=5)
    with pytest.warns(UserWarning, match=rf"could not store .*{store.run_path(cfg, 'cpu')}.*No space left"):
        history = runs.load_or_train(cfg, progress=False)
    assert sorted(history.checkpoints) == [0, 5, 10] and history.config == cfg
    monkeypatch.undo()
    assert not list((fresh_cache / "runs").glob("*")), "no file, not even a temporary one, is left"


def test_stale_and_damaged_files_in_a_read_only_cache_are_skipped(fresh_cache, tiny_run, read_only):
    (cfg,), (first,) = _fill(fresh_cache, tiny_run)
    path = store.run_path(cfg, "cpu")
    path.write_bytes(b"damaged")
    stale = path.parent / ".abc.pt.x1.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 2 * store.STALE_TMP_SECONDS,) * 2)
    read_only(fresh_cache)
    with pytest.warns(UserWarning) as seen:
        again = runs.load_or_train(cfg, progress=False)
    assert len(seen) == 2 and str(seen[0].message).startswith(f"run cache: {path} could not be used")
    assert "left in place as the cache cannot be written" in str(seen[0].message)
    assert "will not be stored" in str(seen[1].message)
    assert torch.equal(again.val_loss, first.val_loss) and path.read_bytes() == b"damaged" and stale.exists()
    assert store.remove_stale_tmp(path.parent) == []


def _record_many(chapter: str, barrier, n: int) -> None:
    barrier.wait()
    for i in range(n):
        costs.record(chapter, f"profile{i}", wall_seconds=i, train_seconds=i, device="cpu")


def test_concurrent_cost_records_from_several_processes_lose_nothing(fresh_cache):
    context = multiprocessing.get_context("fork")
    n_chapters, n_records = 6, 25
    barrier = context.Barrier(n_chapters)
    procs = [context.Process(target=_record_many, args=(f"chapter{c}", barrier, n_records)) for c in range(n_chapters)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    everything = json.loads(costs.costs_file().read_text())
    assert {c: sorted(profiles, key=lambda s: int(s[7:])) for c, profiles in everything.items()} == \
        {f"chapter{c}": [f"profile{i}" for i in range(n_records)] for c in range(n_chapters)}


def test_the_costs_file_and_its_lock_are_readable_by_every_user(fresh_cache):
    costs.record("x", "smoke", 1.0, 0.5, "cpu")
    for path in (costs.costs_file(), costs.lock_file()):
        assert os.stat(path).st_mode & (stat.S_IRGRP | stat.S_IROTH) == stat.S_IRGRP | stat.S_IROTH, path
