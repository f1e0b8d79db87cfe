"""How a sweep's missing runs get trained: grouped, planned (sequential, worker processes or batched), executed.

``plan(cfgs, device)`` splits runs into groups that can share one batched model (``sweep.check_batchable``) and picks,
per group, where to train them. On a CPU every run trains alone, one chunk a run, so that a run is the same bit for
bit however a sweep is split (``ALONE``; issue 28); the modes say where:

- ``"sequential"``: one run after another in this process;
- ``"workers"`` and ``"workers_by_size"``: in worker processes, each pinned to one thread (``cores`` of them);
- ``"batched"``: on a CPU as ``"sequential"``.

On an accelerator each group is one batched model in this process, whatever mode is asked for except ``"sequential"``
(one per data size under ``"workers_by_size"``, and for full-batch dropout runs: ``apart_by_size``).

Without a mode the choice follows from the configs and the device alone (``default_mode``), so that a build does not
depend on how busy the machine was: on a CPU a single run, or a group of full-batch runs, trains in this process; a
group of minibatch runs goes to the workers. ``"measured"`` times a few steps of one run at this process's threads and
at one thread (``measure_plan``) and takes the faster way; a sweep too short to repay starting worker processes never
gets them. ``execute`` sends the chunks to an executor: in-process, a local process pool (``workers``), or any
``concurrent.futures``-like object with ``submit`` (a Dask cluster's ``Client.get_executor()``) whose workers run this
process's code. Workers write each run into the shared run cache themselves, atomically, so a sweep stopped or killed
halfway resumes with the runs still missing.
"""
from __future__ import annotations

import math
import os
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from grokutils import store
from grokutils.config import RunConfig, check_choice, resolve_device
from grokutils.step import update
from grokutils.sweep import Ensemble, check_batchable, train_many
from grokutils.train import SingleRun, train
from grokutils.workers import DASK_ENV, dask_executor  # noqa: F401  (the sweep engine's names for them)
from grokutils.workers import (WorkerDied, check_code, exit_status, local_workers, sigterm_raises, stopping,
                               waking_as_completed)

MODES = ("batched", "sequential", "workers", "workers_by_size", "measured")
WORKER_START_SECONDS = 2.0
"""What starting the worker processes costs (forked; spawned ones import torch first), allowed for in ``measure_plan``."""


@dataclass(frozen=True)
class Chunk:
    """Runs trained together by one task: their configs, cache keys, and how (``"batched"``/``"sequential"``).

    Attributes:
        cfgs: the runs' configs (batchable with each other when ``mode`` is ``"batched"``).
        indices: their positions in the sweep.
        mode: ``"batched"`` (one batched model) or ``"sequential"``.
        threads: torch threads the task may use (None: leave as is); set for worker processes.
        why: how the group's mode was chosen, for the reader.
        group: which batchable group of the sweep the runs belong to.
    """

    cfgs: tuple[RunConfig, ...]
    indices: tuple[int, ...]
    mode: str
    threads: int | None = None
    why: str = ""
    group: int = 0


def groups(cfgs: list[RunConfig]) -> list[list[int]]:
    """Positions of ``cfgs`` partitioned into batchable groups, in order of first appearance."""
    out: list[list[int]] = []
    for i, cfg in enumerate(cfgs):
        for group in out:
            try:
                check_batchable([cfgs[group[0]], cfg])
            except ValueError:
                continue
            group.append(i)
            break
        else:
            out.append([i])
    return out


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def time_steps(cfgs: list[RunConfig], device: torch.device, steps: int, threads: int | None = None, warmup: int = 2,
               ) -> float:
    """Seconds per update of ``cfgs`` trained together (one batched model; a single run alone) with the training loop's
    update, after ``warmup`` untimed updates, at ``threads`` torch threads (None: as they are; restored after). The one
    step timer of the package: the measured plan, ``make bench`` and the Power chapter's cost per step use it."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        runner = Ensemble(cfgs, device) if len(cfgs) > 1 else SingleRun(cfgs[0], device)
        for i in range(warmup):
            update(runner, i)
        sync(device)
        start = time.perf_counter()
        for i in range(steps):
            update(runner, warmup + i)
        sync(device)
        return (time.perf_counter() - start) / steps
    finally:
        torch.set_num_threads(before)


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a GPU's), so a timer reads finished work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_plan(cfgs: list[RunConfig], device: torch.device, n_cores: int | None = None) -> dict[str, float]:
    """Measured throughput (run-steps per second) of each way to train the batchable group ``cfgs`` on a CPU, each run
    alone: one after another in this process (``sequential``), or side by side in worker processes (``workers``).

    ``workers`` assumes ``min(n_cores, len(cfgs))`` workers, each at one run's one-thread speed and taking whole runs,
    and pays ``WORKER_START_SECONDS`` once over the sweep.
    """
    n_cores = n_cores or cores()
    k, steps = len(cfgs), cfgs[0].train.steps
    rates = {"sequential": 1 / time_steps(cfgs[:1], device, 3, torch.get_num_threads(), warmup=1)}
    workers = min(n_cores, k)
    if workers > 1:  # each worker trains ceil(k / workers) runs, one after another, all workers side by side
        busy = math.ceil(k / workers) * steps * time_steps(cfgs[:1], device, 3, 1, warmup=1)
        rates["workers"] = k * steps / (busy + WORKER_START_SECONDS)
    return rates


def plan(cfgs: list[RunConfig], device: torch.device, mode: str | None = None, n_workers: int | None = None,
         ) -> list[Chunk]:
    """The chunks that train ``cfgs``: per batchable group, ``mode`` if given (``"measured"``: the measured best, with
    ``n_workers`` cores), else ``default_mode``'s.

    On a CPU every run trains alone (``ALONE``), one chunk a run, in this process or in a worker process.
    On another device no worker process is ever started: each group is one batched model (one per equal data size
    under ``"workers_by_size"``, and where ``apart_by_size`` says so), whatever ``mode`` asks, except ``"sequential"``,
    which trains in this process too and keeps each run's own training time (what a chapter timing runs one by one
    reads).
    """
    check_choice("mode", mode, MODES + (None,))
    found = groups(cfgs)
    if device.type != "cpu" and mode != "sequential":
        return _on_accelerator(cfgs, found, device.type, mode)
    chunks = []
    for g, group in enumerate(found):
        where, why = _where_on_cpu([cfgs[i] for i in group], device, mode, n_workers)
        threads = 1 if where == "workers" else None
        chunks += [Chunk((cfgs[i],), (i,), "sequential", threads=threads, why=why, group=g) for i in group]
    return chunks


ALONE = "batching changes a run's rounding"
"""Why a CPU never batches runs: a run batched with others is not bit for bit the run trained alone (issue 28), so a
cache key could hold either, depending on how a sweep was split and which runs it still missed. Partners with another
learning rate or weight decay take another optimiser path, a training set padded to a larger partner's changes the
sums (and a dropout run's masks), an MLP's batched products round otherwise, and each run's weight norm is summed in
another order. On a CPU batching gained 1.0x to 1.4x per run for three chapters' ``book`` runs (issue 28)."""


def _where_on_cpu(group: list[RunConfig], device: torch.device, mode: str | None, n_workers: int | None,
                  ) -> tuple[str, str]:
    """Where a group's runs train on a CPU, each alone: ``"sequential"`` (this process) or ``"workers"``, and why."""
    if mode == "measured":
        return _best_mode(group, device, n_workers)
    if mode is None:
        return default_mode(group), "the default for these runs"
    if mode == "batched":
        return "sequential", f"'batched' was asked for, but on a CPU each run trains alone: {ALONE}"
    return ("sequential" if mode == "sequential" else "workers"), "asked for"


def default_mode(group: list[RunConfig]) -> str:
    """Where a batchable group trains on a CPU when no mode is asked for, from its configs alone (never from timings,
    which move with the machine's load): ``"sequential"`` for a single run or for full-batch runs (their large matrix
    products already keep every core busy: ``make bench``), else ``"workers"``. On an accelerator ``plan`` makes every
    group one batched model."""
    if len(group) == 1 or all(cfg.train.batch_size is None for cfg in group):
        return "sequential"
    return "workers"


def apart_by_size(group: list[RunConfig]) -> bool:
    """Whether a group may share a batched model only with runs of its training set's size: full-batch runs with
    dropout draw their masks over the batch padded to the largest training set, so a run batched with a larger one
    would draw other masks than alone (minibatches are never padded)."""
    return any(getattr(cfg.model, "dropout", 0) for cfg in group) and group[0].train.batch_size is None


def _on_accelerator(cfgs: list[RunConfig], found: list[list[int]], device_type: str, mode: str | None) -> list[Chunk]:
    """One batched model per group (per equal data size under ``"workers_by_size"``, per training-set size where
    ``apart_by_size``), in this process: forked workers cannot share a CUDA context, and CPU workers would leave the
    device idle."""
    why = f"one batched model on {device_type}"
    if mode in ("workers", "workers_by_size"):
        why += f"; {mode!r} was asked for, but worker processes run only on a CPU"
    parts = [(g, same) for g, group in enumerate(found) for same in _batched_parts(cfgs, group, mode)]
    return [Chunk(tuple(cfgs[i] for i in same), tuple(same), "batched", why=why, group=g) for g, same in parts]


def _batched_parts(cfgs: list[RunConfig], group: list[int], mode: str | None) -> list[list[int]]:
    """The batched models of ``group`` on an accelerator: one, or one per data size under ``"workers_by_size"``, or
    one per training-set size where ``apart_by_size``."""
    if mode == "workers_by_size":
        return _by(cfgs, group, data_sizes)
    if apart_by_size([cfgs[i] for i in group]):
        return _by(cfgs, group, lambda cfg: cfg.task.n_train)
    return [group]


def data_sizes(cfg: RunConfig) -> tuple:
    """``cfg``'s ``frac_train``, ``train_points`` and ``test_points`` (None where its task has no such field): the
    fields besides the split's seed in which batchable tasks may differ."""
    return tuple(getattr(cfg.task, name, None) for name in ("frac_train", "train_points", "test_points"))


def _by(cfgs: list[RunConfig], group: list[int], key) -> list[list[int]]:
    """``group`` split into runs of equal ``key(cfg)``, in order of first appearance."""
    parts: dict = {}
    for i in group:
        parts.setdefault(key(cfgs[i]), []).append(i)
    return list(parts.values())


def _best_mode(cfgs: list[RunConfig], device: torch.device, n_workers: int | None) -> tuple[str, str]:
    if len(cfgs) == 1:
        return "sequential", "a single run"
    rates = measure_plan(cfgs, device, n_workers)
    return max(rates, key=rates.get), "measured run-steps/s: " + ", ".join(f"{m} {r:.1f}" for m, r in rates.items())


def describe(chunks: list[Chunk]) -> str:
    """One line per batchable group: how many runs, how they train, and why."""
    lines = []
    for g in sorted({c.group for c in chunks}):
        mine = [c for c in chunks if c.group == g]
        if mine[0].threads:
            how = "worker processes, 1 thread each, one run at a time"
        elif mine[0].mode == "sequential":
            how = "sequential"
        else:
            how = f"{len(mine)} batched models, one per data size" if len(mine) > 1 else "batched"
        lines.append(f"{sum(len(c.cfgs) for c in mine)} runs: {how} ({mine[0].why})")
    return "\n".join(lines)


def run_chunk(chunk: Chunk, device: str | None, cache: str | None) -> list:
    """Train ``chunk`` (in whatever process runs this); store each run in the run cache at ``cache`` if given.

    Returns the histories when ``cache`` is None, else their keys (the caller loads them from the cache).
    """
    if chunk.threads:
        torch.set_num_threads(chunk.threads)
    device = resolve_device(device)
    cfgs = list(chunk.cfgs)
    histories = train_many(cfgs, device, False) if chunk.mode == "batched" else [train(c, device, False) for c in cfgs]
    if cache is None:
        return histories
    return [store.store(h, device, Path(cache)) for h in histories]


STEP_FLOOR = 64
"""A training step's fixed work in examples' worth (``work``): at p = 97 a step at B = 243 costs about 5.5 times one at B = 1."""


def work(chunk: Chunk) -> float:
    """A chunk's relative cost: over its runs, steps times (batch size + ``STEP_FLOOR``); full batch counts the training set."""
    return sum(c.train.steps * ((c.train.batch_size or getattr(c.task, "n_train", 0)) + STEP_FLOOR) for c in chunk.cfgs)


def largest_first(chunks: list[Chunk]) -> list[Chunk]:
    """``chunks`` by ``work``, largest first (ties keep their order): a pool that starts the long chunks first does
    not end with one of them running alone while the other workers wait."""
    return sorted(chunks, key=work, reverse=True)


def execute(chunks: list[Chunk], device: str | None, cache: str | None, executor=None, progress: bool = True,
            ) -> dict[int, object]:
    """Run every chunk and return ``{index in the sweep: history or key}``, with one progress bar over the runs.

    Chunks go to ``executor`` if given, once it has shown that its workers run this process's code
    (``workers.check_code``). Otherwise worker chunks go to a local process pool first, and the others run in this
    process once the pool is done: a process at full threads beside busy workers would oversubscribe the cores, which
    on a CPU costs far more than it gains. Ctrl-C, SIGTERM or a dead worker stop the workers at once
    (``workers.stopping``); the runs finished by then are in the cache at ``cache``.
    """
    pooled = largest_first([c for c in chunks if executor is not None or c.threads])
    local = [c for c in chunks if executor is None and not c.threads]
    if pooled and executor is not None:
        check_code(executor)
    results: dict[int, object] = {}
    bar = tqdm(total=sum(len(c.cfgs) for c in chunks), disable=not progress, desc="runs", unit="run")
    try:
        with sigterm_raises():
            results.update(_run_pooled(pooled, device, cache, executor, bar) if pooled else {})
            for chunk in local:
                results.update(zip(chunk.indices, run_chunk(chunk, device, cache)))
                bar.update(len(chunk.indices))
    finally:
        bar.close()
    return results


def _run_pooled(pooled: list[Chunk], device: str | None, cache: str | None, executor, bar) -> dict[int, object]:
    """Run ``pooled`` on ``executor``, or on a local pool started here and ended before returning."""
    pool = local_workers(min(cores(), len(pooled)), len(pooled)) if executor is None else None
    futures: dict = {}
    results: dict[int, object] = {}
    with stopping(pool, futures):
        for tag, chunk in enumerate(pooled):
            future = (pool.submit_task(tag, run_chunk, chunk, device, cache) if pool is not None
                      else executor.submit(run_chunk, chunk, device, cache))
            futures[future] = tag
        for future in waking_as_completed(futures):
            chunk = pooled[futures[future]]
            try:
                results.update(zip(chunk.indices, future.result()))
            except BrokenProcessPool as err:
                raise WorkerDied(_who_died(pool, pooled, futures, cache)) from err
            bar.update(len(chunk.indices))
    return results


def _who_died(pool, pooled: list[Chunk], futures: dict, cache: str | None) -> str:
    """Which worker died, running which chunk, and what a rerun trains."""
    finished = {tag for f, tag in futures.items() if f.done() and not f.cancelled() and f.exception() is None}
    dead = [f"worker process {pid} ({exit_status(code)}) died {_while(tag, pooled)}"
            for tag, pid, code in (pool.dead(finished) if pool is not None else [])]
    kept = (f"the runs finished before are kept in the run cache ({cache}), so running it again trains only the missing "
            "runs" if cache else "no run was cached (the sweep ran without the cache)")
    return "; ".join(dead or ["a worker process died"]) + f"; the sweep stopped: {kept}"


def _while(tag: int | None, pooled: list[Chunk]) -> str:
    if tag is None:
        return "between chunks"
    runs = ", ".join(map(str, pooled[tag].indices))
    return f"while training chunk {tag + 1} of {len(pooled)} (runs {runs} of the sweep)"
