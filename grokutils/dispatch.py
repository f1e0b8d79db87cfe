"""How a sweep's missing runs get trained: grouped, planned (batched, sequential or worker processes), executed.

``plan(cfgs, device)`` splits runs into groups that can share one batched model (``sweep.check_batchable``)
and picks, per group, how to train it:

- ``"batched"``: the whole group as one batched model in this process (always on a GPU, whatever mode is asked
  for except ``"sequential"``: no worker process is started beside an accelerator);
- ``"sequential"``: one run after another in this process;
- ``"workers"``: the group split into one chunk per worker process, each process pinned to one thread
  and training its chunk batched (``cores`` chunks on this machine's cores); in a sweep with at least as
  many groups as workers, each group is one chunk instead, and the workers take whole groups;
- ``"workers_by_size"``: worker processes as above, one chunk per set of runs that share their shapes (a group's runs
  whose training and validation sets are the same size, batched), so no run is padded to a larger one's data and no
  finished run keeps a batch busy; for sweeps over the training fraction.

Without a mode the choice follows from the configs and the device alone (``default_mode``), so that a build's numbers
do not depend on how busy the machine was: on a CPU a single run, or a group of full-batch runs, trains in this
process one run after another; a group of minibatch runs goes to the workers. ``"measured"`` is the measured plan (``measure_plan``, what ``make bench`` reports): a few steps
of one run at this process's threads, of one run at one thread, and of the group batched at one and at all threads
give each option's throughput in run-steps per second; a sweep too short to repay starting worker processes never
gets them. It is fastest, but how it splits a sweep, and so how each run rounds, can change with the load. ``execute``
sends the chunks to an executor: in-process, a local process pool, or any ``concurrent.futures``-like
object with ``submit`` (a Dask cluster's ``Client.get_executor()``). Workers write each run into the
shared run cache themselves, atomically, so a sweep killed halfway resumes with the runs still missing.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from grokutils import store
from grokutils.config import RunConfig, check_choice, resolve_device
from grokutils.step import update
from grokutils.sweep import Ensemble, check_batchable, train_many
from grokutils.train import SingleRun, train

MODES = ("batched", "sequential", "workers", "workers_by_size", "measured")
DASK_ENV = "GROKUTILS_DASK_SCHEDULER"
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
    """Measured throughput (run-steps per second) of each way to train the batchable group ``cfgs`` on a CPU.

    ``workers`` assumes the chunks run side by side on ``n_cores`` cores, each at its one-thread speed,
    and pays ``WORKER_START_SECONDS`` once over the sweep's steps.
    """
    n_cores = n_cores or cores()
    k, threads, steps = len(cfgs), torch.get_num_threads(), cfgs[0].train.steps
    single = time_steps(cfgs[:1], device, 3, threads, warmup=1)
    batched = time_steps(cfgs, device, 3, threads, warmup=1) if k > 1 else single
    rates = {"sequential": 1 / single, "batched": k / batched}
    workers = min(n_cores, k)
    if workers > 1:  # every worker takes one step of its chunk in ``one`` seconds, all side by side
        chunk = cfgs[: math.ceil(k / workers)]
        one = time_steps(chunk, device, 3, 1, warmup=1)
        busy = steps * one
        rates["workers"] = min(k, workers * len(chunk)) / one * busy / (busy + WORKER_START_SECONDS)
    return rates


def plan(cfgs: list[RunConfig], device: torch.device, mode: str | None = None, n_workers: int | None = None,
         ) -> list[Chunk]:
    """The chunks that train ``cfgs``: per batchable group, ``mode`` if given (``"measured"``: the measured best),
    else ``default_mode``'s.

    On a device other than the CPU no worker process is ever started: each group is one batched model (one per equal
    data size under ``"workers_by_size"``), whatever ``mode`` asks, except ``"sequential"``, which trains in this
    process too and keeps each run's own training time (what a chapter timing runs one by one reads).
    """
    check_choice("mode", mode, MODES + (None,))
    chunks, found, n_workers = [], groups(cfgs), n_workers or cores()
    if device.type != "cpu" and mode != "sequential":
        return _on_accelerator(cfgs, found, device.type, mode)
    if mode == "workers_by_size":
        return [Chunk(tuple(cfgs[i] for i in same), tuple(same), "batched", threads=1, why="asked for", group=g)
                for g, group in enumerate(found) for same in _by_size(cfgs, group)]
    for g, group in enumerate(found):
        members = [cfgs[i] for i in group]
        chosen, reason = (_best_mode(members, device, n_workers) if mode == "measured" else (mode, "asked for") if mode
                          else (default_mode(members), "the default for these runs"))
        # with at least as many groups as workers, each worker trains whole groups batched (fewer, larger steps);
        # with fewer, a group is split across the workers so that every core is busy
        split_over = 1 if len(found) >= n_workers else n_workers
        chunks += [dataclasses.replace(c, group=g) for c in _split(members, group, chosen, split_over, reason)]
    return chunks


def default_mode(group: list[RunConfig]) -> str:
    """How a batchable group trains on a CPU when no mode is asked for, from its configs alone (never from timings,
    which move with the machine's load): ``"sequential"`` for a single run or for full-batch runs (their large matrix
    products already keep every core busy, and batching or splitting them only adds memory traffic: ``make bench``),
    else ``"workers"``. On an accelerator ``plan`` makes every group one batched model."""
    if len(group) == 1 or all(cfg.train.batch_size is None for cfg in group):
        return "sequential"
    return "workers"


def _on_accelerator(cfgs: list[RunConfig], found: list[list[int]], device_type: str, mode: str | None) -> list[Chunk]:
    """One batched model per group (per equal data size under ``"workers_by_size"``), in this process: forked workers
    cannot share a CUDA context, and CPU workers would leave the device idle."""
    why = f"one batched model on {device_type}"
    if mode in ("workers", "workers_by_size"):
        why += f"; {mode!r} was asked for, but worker processes run only on a CPU"
    parts = [(g, same) for g, group in enumerate(found)
             for same in (_by_size(cfgs, group) if mode == "workers_by_size" else [group])]
    return [Chunk(tuple(cfgs[i] for i in same), tuple(same), "batched", why=why, group=g) for g, same in parts]


def _by_size(cfgs: list[RunConfig], group: list[int]) -> list[list[int]]:
    """``group`` split into runs of equal data sizes (the same ``frac_train``, ``train_points`` and ``test_points``,
    where the task has them: the fields besides the split's seed in which batchable tasks may differ)."""
    sizes: dict[tuple, list[int]] = {}
    for i in group:
        key = tuple(getattr(cfgs[i].task, name, None) for name in ("frac_train", "train_points", "test_points"))
        sizes.setdefault(key, []).append(i)
    return list(sizes.values())


def _best_mode(cfgs: list[RunConfig], device: torch.device, n_workers: int | None) -> tuple[str, str]:
    if device.type != "cpu":
        return "batched", f"one batched model on {device.type}"
    if len(cfgs) == 1:
        return "sequential", "a single run"
    rates = measure_plan(cfgs, device, n_workers)
    return max(rates, key=rates.get), "measured run-steps/s: " + ", ".join(f"{m} {r:.1f}" for m, r in rates.items())


def _split(cfgs: list[RunConfig], indices: list[int], mode: str, n_workers: int, why: str) -> list[Chunk]:
    if mode == "sequential":  # one task a run: each is cached, and counted, as soon as it is done
        return [Chunk((cfg,), (i,), mode, why=why) for cfg, i in zip(cfgs, indices)]
    if mode == "batched":
        return [Chunk(tuple(cfgs), tuple(indices), mode, why=why)]
    size = math.ceil(len(cfgs) / max(1, n_workers))
    return [Chunk(tuple(cfgs[i : i + size]), tuple(indices[i : i + size]), "batched", threads=1, why=why)
            for i in range(0, len(cfgs), size)]


def describe(chunks: list[Chunk]) -> str:
    """One line per batchable group: how many runs, how they train, and why."""
    lines = []
    for g in sorted({c.group for c in chunks}):
        mine = [c for c in chunks if c.group == g]
        n = len(mine)
        if mine[0].threads:
            how = f"{n} worker process{'es' if n > 1 else ''}, 1 thread each"
        else:
            how = f"{n} batched models, one per data size" if n > 1 and mine[0].mode == "batched" else mine[0].mode
        how += " (one batched model each)" if mine[0].threads and max(len(c.cfgs) for c in mine) > 1 else ""
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


def local_workers(n: int) -> ProcessPoolExecutor:
    """A pool of ``n`` processes, each pinned to one torch thread: forked where the system allows (they start
    at once, with the package already imported, as PyTorch's data loader workers do), else spawned."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context(method),
                               initializer=torch.set_num_threads, initargs=(1,))


def dask_executor(client=None):
    """The executor of a Dask cluster: ``client`` (a ``distributed.Client``, or an executor already), else a
    ``Client`` of ``$GROKUTILS_DASK_SCHEDULER`` (e.g. ``tcp://host:8786``); None if neither is given."""
    address = os.environ.get(DASK_ENV)
    if client is None and not address:
        return None
    if client is None:
        from distributed import Client  # noqa: PLC0415  (optional: only for clusters)

        client = Client(address)
    return client.get_executor() if hasattr(client, "get_executor") else client


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

    Chunks go to ``executor`` if given. Otherwise worker chunks go to a local process pool first, and the
    others run in this process once the pool is done: a process at full threads beside busy workers would
    oversubscribe the cores, which on a CPU costs far more than it gains.
    """
    results: dict[int, object] = {}
    bar = tqdm(total=sum(len(c.cfgs) for c in chunks), disable=not progress, desc="runs", unit="run")
    pooled = largest_first([c for c in chunks if executor is not None or c.threads])
    local = [c for c in chunks if executor is None and not c.threads]
    pool = local_workers(min(cores(), len(pooled))) if pooled and executor is None else None
    try:
        futures = {(executor or pool).submit(run_chunk, c, device, cache): c for c in pooled}
        done = ((futures[f], f.result()) for f in as_completed(futures))
        for chunk, out in itertools.chain(done, ((c, run_chunk(c, device, cache)) for c in local)):
            results.update(zip(chunk.indices, out))
            bar.update(len(chunk.indices))
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    return results
