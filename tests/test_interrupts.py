"""Issue 28, "stop, share and recover": a sweep in worker processes stops when it is told to (Ctrl-C, SIGTERM), its
workers die with their parent (even one killed outright), a dead worker is named, and in every case the runs finished
so far stay in the cache, so that a rerun trains only the missing ones.

Each test starts a sweep of eight tiny runs on two worker processes in a subprocess, waits until the first run is in the
cache, sends a signal, and then checks the processes, the cache and a rerun.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from grokutils import runs

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")]

STEPS = tuple(range(40, 48))
"""One run per step count: eight runs in eight groups, so that the pool holds more tasks than its workers run."""
TASK_SECONDS = 1.0
"""Each task of the sweep sleeps this long before it trains, so that no worker finishes a second task in the moment
its parent takes to stop it, however fast the machine."""
SETTLE_SECONDS = 0.3
"""Waited after the first run is cached, so that the signal finds both workers inside a task."""
SWEEP = """
import sys, time
sys.path.insert(0, {tests!r})
from conftest import _tiny_run
from grokutils import dispatch, runs
dispatch.cores = lambda: 2
train_chunk = dispatch.run_chunk


def slow_chunk(*args):
    time.sleep({seconds!r})
    return train_chunk(*args)


dispatch.run_chunk = slow_chunk
runs.load_or_train_many([_tiny_run(steps=s, batch_size=16) for s in {steps!r}], mode="workers", progress=False)
"""


def sweep_configs(tiny_run):
    return [tiny_run(steps=s, batch_size=16) for s in STEPS]


def cached(folder: Path) -> list[Path]:
    """The runs in the cache folder (no temporary files, no checkpoint files)."""
    return [p for p in folder.glob("[!.]*.pt") if not p.name.endswith(".ckpt.pt")]


def stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name (state first, parent pid second); None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def workers_of(pid: int) -> list[int]:
    """The worker processes of ``pid``: its children forked from it (same command line; not the resource tracker)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat_fields(int(entry.name)) or ["", ""])[1] == str(pid):
            if cmdline(int(entry.name)) == cmdline(pid):
                out.append(int(entry.name))
    return out


def wait_until(condition, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def sweep(fresh_cache):
    """Start the sweep in its own session; return (process, its workers, runs cached) once a first run is cached."""
    started = []

    def start():
        env = {**os.environ, "GROKUTILS_CACHE": str(fresh_cache)}
        code = SWEEP.format(tests=os.path.dirname(__file__), steps=STEPS, seconds=TASK_SECONDS)
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        started.append((proc, []))
        assert wait_until(lambda: cached(fresh_cache / "runs") or proc.poll() is not None, 120), "no run finished"
        time.sleep(SETTLE_SECONDS)
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        found = workers_of(proc.pid)
        started[-1][1].extend((pid, cmdline(pid)) for pid in found)
        assert len(found) == 2, f"expected two worker processes, found {found}"
        return proc, found, len(cached(fresh_cache / "runs"))

    yield start
    for proc, workers in started:  # never leave a sweep or its workers behind, whatever failed
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pid, line in workers:
            if alive(pid) and cmdline(pid) == line:
                os.kill(pid, signal.SIGKILL)


def finish(proc, workers: list[int], seconds: float = 30) -> str:
    """Wait for the sweep's process to end and check that its workers end within 5 s; its stderr."""
    proc.wait(timeout=seconds)
    assert wait_until(lambda: not any(alive(w) for w in workers), 5), "worker processes outlived the sweep"
    return proc.stderr.read()


def assert_rerun_trains_only_the_missing(folder: Path, before: int, tiny_run, monkeypatch):
    """At most the two runs in flight finished after the signal; a rerun trains only the runs still missing."""
    done = len(cached(folder))
    assert before <= done <= before + 2, f"{done - before} runs were trained after the sweep was stopped"
    assert done < len(STEPS)
    trained = []
    real = runs.dispatch.run_chunk
    monkeypatch.setattr(runs.dispatch, "run_chunk", lambda chunk, *a: trained.extend(chunk.cfgs) or real(chunk, *a))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers train: several threads on a busy machine only slow the rerun down
    try:
        runs.load_or_train_many(sweep_configs(tiny_run), mode="sequential", progress=False)
    finally:
        torch.set_num_threads(threads)
    assert len(trained) == len(STEPS) - done and len(cached(folder)) == len(STEPS)


@pytest.mark.parametrize("to_group", [True, False], ids=["ctrl-c in jupyter (process group)", "parent only"])
def test_ctrl_c_stops_the_workers_at_once_and_keeps_the_finished_runs(sweep, fresh_cache, tiny_run, monkeypatch,
                                                                      to_group):
    proc, found, before = sweep()
    (os.killpg if to_group else os.kill)(proc.pid, signal.SIGINT)
    err = finish(proc, found)
    assert "KeyboardInterrupt" in err and proc.returncode != 0
    assert_rerun_trains_only_the_missing(fresh_cache / "runs", before, tiny_run, monkeypatch)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_the_workers_die_with_their_parent(sweep, fresh_cache, tiny_run, monkeypatch, sig):
    proc, found, before = sweep()
    os.kill(proc.pid, sig)
    finish(proc, found)
    assert proc.returncode == -sig, "the sweep's process should end as the signal ends it"
    assert_rerun_trains_only_the_missing(fresh_cache / "runs", before, tiny_run, monkeypatch)


def test_a_killed_worker_is_named_and_the_other_runs_are_kept(sweep, fresh_cache, tiny_run, monkeypatch):
    proc, found, before = sweep()
    os.kill(found[0], signal.SIGKILL)
    err = finish(proc, found)
    assert proc.returncode == 1
    assert f"worker process {found[0]}" in err and "killed by SIGKILL" in err, err[-3000:]
    assert "running it again trains only the missing runs" in err, err[-3000:]
    assert_rerun_trains_only_the_missing(fresh_cache / "runs", before, tiny_run, monkeypatch)
