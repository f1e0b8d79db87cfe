"""The sweep engine: groups, the measured plan, executors (in-process, local workers, Dask) giving the same runs,
a killed sweep resuming with only the missing runs."""
import concurrent.futures
import dataclasses
import functools
import os
import signal
import subprocess
import sys
import time
import types

import pytest
import torch

from grokutils import dispatch, runs, workers


def test_groups_partition_runs_that_can_share_a_batched_model(tiny_run, blobs_run):
    cfgs = [tiny_run(seed=0), blobs_run(seed=0), tiny_run(seed=1, lr=1e-2), tiny_run(steps=7), blobs_run(seed=2)]
    assert dispatch.groups(cfgs) == [[0, 2], [1, 4], [3]]


def test_workers_take_one_run_at_a_time(tiny_run):
    cfgs = [tiny_run(seed=s) for s in range(5)]
    chunks = dispatch.plan(cfgs, torch.device("cpu"), mode="workers", n_workers=2)
    assert [c.indices for c in chunks] == [(i,) for i in range(5)] and all(c.threads == 1 for c in chunks)
    assert dispatch.describe(chunks) == "5 runs: worker processes, 1 thread each, one run at a time (asked for)"
    sequential = dispatch.plan(cfgs, torch.device("cpu"), mode="sequential")
    assert [c.indices for c in sequential] == [(i,) for i in range(5)] and {c.mode for c in sequential} == {"sequential"}
    with pytest.raises(ValueError, match=r"mode='fast' is not supported; allowed values: \('batched', 'sequential', 'workers', 'workers_by_size', 'measured', None\)"):
        dispatch.plan(cfgs, torch.device("cpu"), mode="fast")


def test_each_chunk_remembers_its_batchable_group(tiny_run):
    cfgs = [tiny_run(seed=s).replace(frac_train=f) for f in (0.5, 0.3) for s in range(2)] + [tiny_run(seed=0, steps=7)]
    assert dispatch.groups(cfgs) == [[0, 1, 2, 3], [4]]
    chunks = dispatch.plan(cfgs, torch.device("cpu"), mode="workers_by_size", n_workers=2)
    assert [c.group for c in chunks] == [0, 0, 0, 0, 1] and all(c.threads == 1 for c in chunks)
    assert dispatch.describe(chunks).splitlines()[0] == "4 runs: worker processes, 1 thread each, one run at a time (asked for)"


@pytest.mark.parametrize("mode", [None, "batched", "workers"])
def test_on_an_accelerator_each_group_is_one_batched_model(tiny_run, blobs_run, mode):
    cfgs = [tiny_run(seed=s) for s in range(5)] + [blobs_run(seed=0), blobs_run(seed=1)]
    chunks = dispatch.plan(cfgs, torch.device("cuda"), mode=mode, n_workers=2)  # the plan reads only the device's type
    assert [c.indices for c in chunks] == [(0, 1, 2, 3, 4), (5, 6)]
    assert all(c.mode == "batched" and c.threads is None for c in chunks)
    line = dispatch.describe(chunks).splitlines()[0]
    assert line.startswith("5 runs: batched (one batched model on cuda")
    assert ("'workers' was asked for, but worker processes run only on a CPU" in line) == (mode == "workers")


def test_on_an_accelerator_workers_by_size_batches_each_data_size(tiny_run):
    cfgs = [tiny_run(seed=s).replace(frac_train=f) for f in (0.5, 0.3) for s in range(2)]
    chunks = dispatch.plan(cfgs, torch.device("cuda"), mode="workers_by_size", n_workers=2)
    assert [c.indices for c in chunks] == [(0, 1), (2, 3)] and all(c.threads is None for c in chunks)
    assert dispatch.describe(chunks).startswith("4 runs: 2 batched models, one per data size (one batched model on cuda")
    sequential = dispatch.plan(cfgs, torch.device("cuda"), mode="sequential")
    assert [c.indices for c in sequential] == [(i,) for i in range(4)], "sequential keeps each run's own time"


def test_no_worker_pool_is_started_for_an_accelerator_plan(tiny_run, monkeypatch):
    monkeypatch.setattr(dispatch, "local_workers", lambda n: pytest.fail("a worker pool was started"))
    cfgs = [tiny_run(steps=5, seed=s) for s in range(3)]
    for mode in ("workers", "workers_by_size"):
        chunks = dispatch.plan(cfgs, torch.device("cuda"), mode=mode, n_workers=2)
        done = dispatch.execute(chunks, "cpu", None, progress=False)  # trained here on the CPU, as planned for CUDA
        assert sorted(done) == [0, 1, 2]


def test_the_pool_starts_the_largest_chunks_first(tiny_run):
    cfgs = [tiny_run(seed=0, steps=10), tiny_run(seed=0, steps=40), tiny_run(seed=0, steps=20), tiny_run(seed=1, steps=40)]
    cfgs[2] = cfgs[2].replace(batch_size=8)
    chunks = dispatch.plan(cfgs, torch.device("cpu"), mode="workers", n_workers=2)
    ordered = dispatch.largest_first(chunks)
    assert [dispatch.work(c) for c in ordered] == sorted((dispatch.work(c) for c in chunks), reverse=True)
    assert [c.indices for c in ordered] == [(1,), (3,), (2,), (0,)]


def test_the_measured_plan_compares_every_option(tiny_run):
    cfgs = [tiny_run(seed=s, batch_size=16) for s in range(4)]
    rates = dispatch.measure_plan(cfgs, torch.device("cpu"), n_cores=2)
    assert set(rates) == {"sequential", "workers"} and all(r > 0 for r in rates.values())
    (chunk,) = [c for c in dispatch.plan(cfgs[:1], torch.device("cpu"), "measured")]
    assert chunk.mode == "sequential" and chunk.why == "a single run"
    chosen = dispatch.plan(cfgs, torch.device("cpu"), "measured")
    assert chosen[0].why.startswith("measured run-steps/s: ")


def test_without_a_mode_the_plan_follows_from_the_configs_and_the_device(tiny_run, monkeypatch):
    """Issue 27: a build's numbers must not depend on the machine's load, so nothing is timed without "measured"."""
    monkeypatch.setattr(dispatch, "time_steps", lambda *a, **k: pytest.fail("the default plan timed a step"))
    minibatch = [tiny_run(seed=s, batch_size=16) for s in range(4)]
    full = [tiny_run(seed=s, steps=7) for s in range(3)]
    assert dispatch.default_mode(minibatch) == "workers" and dispatch.default_mode(full) == "sequential"
    assert dispatch.default_mode(minibatch[:1]) == "sequential"
    chunks = dispatch.plan(minibatch + full, torch.device("cpu"), n_workers=2)
    assert [(c.indices, c.threads) for c in chunks] == [((i,), 1) for i in range(4)] + [((i,), None) for i in (4, 5, 6)]
    assert {c.mode for c in chunks} == {"sequential"}
    assert all(c.why == "the default for these runs" for c in chunks)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["batched", "sequential", "workers"])
def test_every_mode_gives_the_same_runs_and_fills_the_cache(fresh_cache, tiny_run, blobs_run, mode, same_history):
    cfgs = [tiny_run(steps=30, seed=s, batch_size=16, weight_decay=0.1 * s) for s in range(3)] + [blobs_run(seed=1, steps=40)]
    histories = runs.load_or_train_many(cfgs, mode=mode, progress=False)
    assert len(list((fresh_cache / "runs").glob("*.pt"))) == 4
    for cfg, h in zip(cfgs, histories):
        assert h.config == cfg
        same_history(h, runs.train(cfg, progress=False))


def test_without_the_cache_workers_return_their_histories(fresh_cache, tiny_run):
    cfgs = [tiny_run(steps=5, seed=s) for s in range(2)]
    histories = runs.load_or_train_many(cfgs, mode="workers", use_cache=False, progress=False)
    assert not fresh_cache.exists() and [h.config for h in histories] == cfgs


SWEEP = """
import sys, torch
sys.path.insert(0, {tests!r})
from conftest import _tiny_run
from grokutils import runs
torch.set_num_threads(1)
runs.load_or_train_many([_tiny_run(steps=400, seed=s) for s in range(4)], mode="sequential", progress=False)
"""


@pytest.mark.slow
def test_a_killed_sweep_resumes_with_only_the_missing_runs(fresh_cache, tiny_run, monkeypatch):
    env = {**os.environ, "GROKUTILS_CACHE": str(fresh_cache)}
    proc = subprocess.Popen([sys.executable, "-c", SWEEP.format(tests=os.path.dirname(__file__))], env=env)
    folder, deadline = fresh_cache / "runs", time.time() + 240
    while not list(folder.glob("*.pt")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(folder.glob("[!.]*.pt")))
    assert 1 <= done < 4, f"{done} runs were cached when the sweep was killed"
    trained = []
    real = runs.dispatch.run_chunk
    monkeypatch.setattr(runs.dispatch, "run_chunk", lambda chunk, *a: trained.extend(chunk.cfgs) or real(chunk, *a))
    cfgs = [tiny_run(steps=400, seed=s) for s in range(4)]
    runs.load_or_train_many(cfgs, mode="sequential", progress=False)
    assert len(trained) == 4 - done and len(list(folder.glob("[!.]*.pt"))) == 4


@pytest.mark.slow
def test_a_dask_cluster_trains_the_same_runs_into_the_shared_cache(fresh_cache, tiny_run, monkeypatch, same_history):
    distributed = pytest.importorskip("distributed")
    cfgs = [tiny_run(steps=20, seed=s, batch_size=16) for s in range(4)]
    local = runs.load_or_train_many(cfgs, use_cache=False, mode="batched", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        monkeypatch.setenv(dispatch.DASK_ENV, cluster.scheduler_address)
        remote = runs.load_or_train_many(cfgs, mode="workers", progress=False)
    assert len(list((fresh_cache / "runs").glob("*.pt"))) == 4
    for a, b in zip(local, remote):
        same_history(a, b)


def test_the_plan_counts_every_worker_and_the_cost_of_starting_them(tiny_run, monkeypatch):
    times = iter([0.01, 0.03])  # one run at this process's threads; one run at one thread
    monkeypatch.setattr(dispatch, "time_steps", lambda *a, **k: next(times))
    rates = dispatch.measure_plan([tiny_run(steps=1000, seed=s) for s in range(4)], torch.device("cpu"), n_cores=2)
    busy = 2 * 1000 * 0.03  # each of the two workers trains two runs
    assert rates["sequential"] == pytest.approx(100)
    assert rates["workers"] == pytest.approx(4 * 1000 / (busy + dispatch.WORKER_START_SECONDS))


def _partners(cfg):
    """Runs ``cfg`` can share a batched model with: another seed, another learning rate, and (where its task has a
    training fraction) a larger and a smaller training set."""
    other_seed = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, seed=7),
                                     train=dataclasses.replace(cfg.train, seed=7))
    out = [other_seed, cfg.replace(lr=cfg.train.lr * 2)]
    if hasattr(cfg.task, "frac_train"):
        out += [cfg.replace(frac_train=0.8), cfg.replace(frac_train=0.3)]
    return out


def _kinds(tiny_run, blobs_run):
    base = dict(steps=20, n_logs=5)
    full, minibatch = tiny_run(**base), tiny_run(batch_size=16, **base)
    return {"full batch": full, "minibatch": minibatch, "dropout": full.replace(dropout=0.1),
            "dropout, minibatch": minibatch.replace(dropout=0.1), "noise": tiny_run(update_noise=1.0, weight_noise=0.01, **base),
            "stopping": tiny_run(stop_at_val_acc=0.3, **base), "towards init": tiny_run(decay_to="init", **base),
            "mlp": blobs_run(steps=20)}


def _bit_equal(a, b) -> bool:
    return (torch.equal(a.steps, b.steps) and all(torch.equal(a.metrics[k], b.metrics[k]) for k in a.metrics)
            and all(torch.equal(a.final_state[k], b.final_state[k]) for k in a.final_state))


@functools.lru_cache(maxsize=None)
def _alone(cfg):
    return runs.train(cfg, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [None, "batched", "workers", "workers_by_size"])
def test_a_run_comes_out_bit_equal_whichever_partners_the_engine_trains_it_with(tiny_run, blobs_run, mode):
    """Issue 28: one cache key must never hold two runs, whatever the sweep around a run and however it is split."""
    kinds = _kinds(tiny_run, blobs_run)
    sweep = [run for cfg in kinds.values() for run in (cfg, *_partners(cfg))]
    done = dispatch.execute(dispatch.plan(sweep, torch.device("cpu"), mode, n_workers=2), "cpu", None, progress=False)
    differ = [kind for kind, cfg in kinds.items() if not _bit_equal(done[sweep.index(cfg)], _alone(cfg))]
    assert not differ, f"trained with partners ({mode or 'default'} plan), these runs are not the runs trained alone"


def test_on_a_cpu_every_run_trains_alone(tiny_run):
    cfgs = [tiny_run(seed=s, batch_size=16).replace(frac_train=f) for s, f in ((0, 0.5), (1, 0.5), (2, 0.8))]
    for mode in (None, "batched", "workers", "workers_by_size", "sequential"):
        chunks = dispatch.plan(cfgs, torch.device("cpu"), mode, n_workers=2)
        assert [c.indices for c in chunks] == [(0,), (1,), (2,)] and {c.mode for c in chunks} == {"sequential"}


def test_on_an_accelerator_dropout_runs_batch_only_with_training_sets_of_their_size(tiny_run):
    """Dropout masks are drawn over the padded batch, so a full-batch dropout run batched with a larger training set
    draws other masks than alone: it is kept apart, on every device (minibatches are never padded)."""
    full = [tiny_run(seed=s).replace(dropout=0.1, frac_train=f) for s, f in ((0, 0.5), (1, 0.5), (2, 0.8))]
    assert [c.indices for c in dispatch.plan(full, torch.device("cuda"))] == [(0, 1), (2,)]
    minibatch = [cfg.replace(batch_size=16) for cfg in full]
    assert [c.indices for c in dispatch.plan(minibatch, torch.device("cuda"))] == [(0, 1, 2)]
    plain = [cfg.replace(dropout=0.0) for cfg in full]
    assert [c.indices for c in dispatch.plan(plain, torch.device("cuda"))] == [(0, 1, 2)]


@pytest.mark.parametrize("address", ["scheduler-host", "tcp://scheduler-host", "tcp://:8786", "http://host:8786",
                                     "tcp://host:port"])
def test_a_malformed_scheduler_address_names_the_variable_and_the_expected_form(monkeypatch, address):
    monkeypatch.setenv(dispatch.DASK_ENV, address)
    with pytest.raises(ValueError, match=rf"GROKUTILS_DASK_SCHEDULER={address!r} .*expected scheme://host:port"):
        dispatch.dask_executor()


def test_an_unreachable_scheduler_names_the_variable_and_the_address(monkeypatch):
    def refuse(address, timeout=None):
        raise OSError(f"Timed out trying to connect to {address} after {timeout} s")

    monkeypatch.setitem(sys.modules, "distributed", types.SimpleNamespace(Client=refuse))
    monkeypatch.setenv(dispatch.DASK_ENV, "tcp://127.0.0.1:1")
    with pytest.raises(ConnectionError, match=r"GROKUTILS_DASK_SCHEDULER='tcp://127.0.0.1:1': no Dask scheduler answered"):
        dispatch.dask_executor()


class OtherCode:
    """An executor (anything with ``submit``) whose workers run another version of grokutils."""

    def __init__(self):
        self.submitted = []

    def submit(self, fn, *args):
        self.submitted.append(fn)
        future = concurrent.futures.Future()
        future.set_result(("0.1.0", "0123456789abcdef") if fn is workers.code_version else fn(*args))
        return future


def test_workers_running_other_code_are_refused_before_anything_trains(tiny_run, fresh_cache):
    cfgs = [tiny_run(steps=5, seed=s, batch_size=16) for s in range(2)]
    chunks, executor = dispatch.plan(cfgs, torch.device("cpu"), "workers", n_workers=2), OtherCode()
    with pytest.raises(RuntimeError, match=r"version 0\.1\.0, code 0123456789abcdef.*this process: version"):
        dispatch.execute(chunks, "cpu", str(fresh_cache), executor, progress=False)
    assert executor.submitted == [workers.code_version] and not fresh_cache.exists()
    with concurrent.futures.ThreadPoolExecutor(1) as same_code:
        assert sorted(dispatch.execute(chunks, "cpu", None, same_code, progress=False)) == [0, 1]
