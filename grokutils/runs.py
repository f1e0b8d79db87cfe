"""Runs by config: loaded from the run store (``store``) when cached, trained and stored when not, so re-executing a
chapter after a change to its prose or plots loads its runs.

``load_or_train`` trains one missing run in this process; ``load_or_train_many`` hands a sweep's missing runs to the
sweep engine (``dispatch``), whose workers write each run into the store as soon as it is trained. In a dry run
(``dryrun``) both answer with synthetic runs and touch no file.
"""
from __future__ import annotations

import dataclasses

from grokutils import dispatch, dryrun
from grokutils.config import RunConfig, resolve_device
from grokutils.history import History
from grokutils.store import cache_dir, config_key, load, remove_stale_tmp, save
from grokutils.train import train


def load_or_train(cfg: RunConfig, device=None, progress: bool = True, use_cache: bool = True) -> History:
    """The cached run of ``cfg`` if there is one, else train it (with its own progress bar) and cache it.

    In a dry run (``dryrun.enabled()``) a synthetic History, and the cache is neither read nor written."""
    device = resolve_device(device)
    if dryrun.enabled():
        return dryrun.synthetic(cfg)
    key = config_key(cfg, device)
    path = cache_dir() / f"{key}.pt"
    if use_cache:
        remove_stale_tmp(cache_dir())
    history = load(cfg, key, path) if use_cache else None
    if history is None:
        history = train(cfg, device, progress)
        history = save(history, key, path) if use_cache else history
    return history


def load_or_train_many(cfgs: list[RunConfig], device=None, progress: bool = True, use_cache: bool = True,
                       mode: str | None = None, executor=None) -> list[History]:
    """The runs of ``cfgs``, one History per config in order: cached ones loaded, the others trained and cached.

    ``mode`` says how the missing runs train (``dispatch.MODES``: ``"batched"``, ``"sequential"``,
    ``"workers"``, ``"workers_by_size"``, ``"measured"``: the measured fastest for each group of batchable runs); None
    chooses from the configs and the device alone (``dispatch.default_mode``), so the numbers do not depend on the load.
    ``executor`` (anything with ``submit(fn, *args)``, or a Dask ``Client``) receives the work; None uses
    the Dask cluster named by ``$GROKUTILS_DASK_SCHEDULER`` if set, else this machine (worker chunks in a
    local process pool, the rest in this process).
    Whichever trains them, the runs are the same (to float tolerance) and each is cached once trained.
    In a dry run (``dryrun.enabled()``) each config gets a synthetic History, and the cache is neither read nor written.
    """
    device = resolve_device(device)
    if dryrun.enabled():
        return [dryrun.synthetic(cfg) for cfg in cfgs]
    keys = [config_key(cfg, device) for cfg in cfgs]
    if use_cache:
        remove_stale_tmp(cache_dir())
    histories = [load(cfg, key, cache_dir() / f"{key}.pt") if use_cache else None for cfg, key in zip(cfgs, keys)]
    missing = [i for i, h in enumerate(histories) if h is None]
    if missing:
        chunks = dispatch.plan([cfgs[i] for i in missing], device, mode)
        chunks = [dataclasses.replace(c, indices=tuple(missing[j] for j in c.indices)) for c in chunks]
        if progress:
            print(dispatch.describe(chunks))
        executor = dispatch.dask_executor(executor)
        done = dispatch.execute(chunks, device.type, str(cache_dir()) if use_cache else None, executor, progress)
        for i in missing:
            histories[i] = load(cfgs[i], keys[i], cache_dir() / f"{keys[i]}.pt") if use_cache else done[i]
            if histories[i] is None:
                raise RuntimeError(f"run {i} was trained but its file {keys[i]}.pt could not be read back")
    return histories
