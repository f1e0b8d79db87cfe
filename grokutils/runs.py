"""Runs by config: loaded from the run store (``store``) when cached, trained and stored when not, so re-executing a
chapter after a change to its prose or plots loads its runs.

``load_or_train`` trains one missing run in this process; ``load_or_train_many`` hands a sweep's missing runs to the
sweep engine (``dispatch``), whose workers write each run into the store as soon as it is trained. In a dry run
(``dryrun``) both answer with synthetic runs and touch no file.
"""
from __future__ import annotations

import dataclasses
import warnings

from grokutils import dispatch, dryrun
from grokutils.config import RunConfig, resolve_device
from grokutils.history import History
from grokutils.store import cache_dir, config_key, load, remove_stale_tmp, save_or_warn, unwritable
from grokutils.train import train


def load_or_train(cfg: RunConfig, device=None, progress: bool = True, use_cache: bool = True) -> History:
    """The cached run of ``cfg`` if there is one, else train it (with its own progress bar) and cache it.

    A cache that cannot be written (read-only, or owned by another user) still serves its runs; a missing run is
    trained and returned but not stored, as a warning says before it trains. A file where the cache's folder should
    be raises NotADirectoryError before training; a save that fails (a full disk) warns and returns the run.
    In a dry run (``dryrun.enabled()``) a synthetic History, and the cache is neither read nor written."""
    device = resolve_device(device)
    if dryrun.enabled():
        return dryrun.synthetic(cfg)
    if not use_cache:
        return train(cfg, device, progress)
    key = config_key(cfg, device)
    path = cache_dir() / f"{key}.pt"
    remove_stale_tmp(cache_dir())
    history = load(cfg, key, path)
    if history is None:
        stored = can_store(1)
        history = train(cfg, device, progress)
        history = save_or_warn(history, key, path) if stored else history
    return history


def load_cached(cfg: RunConfig, device=None) -> History | None:
    """The cached run of ``cfg``, or None where the cache has none: nothing is trained (a chapter that reads another
    chapter's runs only when that chapter has stored them). In a dry run, ``cfg``'s synthetic History."""
    device = resolve_device(device)
    if dryrun.enabled():
        return dryrun.synthetic(cfg)
    key = config_key(cfg, device)
    return load(cfg, key, cache_dir() / f"{key}.pt")


def can_store(n_runs: int) -> bool:
    """Whether the run cache can take the ``n_runs`` runs about to be trained; when not, a warning says so (and
    why) before they train. Raises NotADirectoryError, naming ``GROKUTILS_CACHE``, when the cache is not a folder."""
    reason = unwritable(cache_dir())
    if reason:
        them = f"{n_runs} runs" if n_runs > 1 else "1 run"
        warnings.warn(f"run cache {cache_dir()} cannot be written ({reason}): {them} will be trained now but will "
                      f"not be stored, so the next execution trains {'them' if n_runs > 1 else 'it'} again; point "
                      "GROKUTILS_CACHE at a folder you can write to keep trained runs", stacklevel=3)
    return reason is None


def load_or_train_many(cfgs: list[RunConfig], device=None, progress: bool = True, use_cache: bool = True,
                       mode: str | None = None, executor=None) -> list[History]:
    """The runs of ``cfgs``, one History per config in order: cached ones loaded, the others trained and cached.

    ``mode`` says how the missing runs train (``dispatch.MODES``: ``"batched"``, ``"sequential"``,
    ``"workers"``, ``"workers_by_size"``, ``"measured"``: the measured fastest for each group of batchable runs); None
    chooses from the configs and the device alone (``dispatch.default_mode``), so the numbers do not depend on the load.
    ``executor`` (anything with ``submit(fn, *args)``, or a Dask ``Client``) receives the work; None uses
    the Dask cluster named by ``$GROKUTILS_DASK_SCHEDULER`` if set, else this machine (worker chunks in a
    local process pool, the rest in this process).
    Whichever way the engine trains them, the runs are the same (bit for bit on a CPU, where every run trains
    alone) and each is cached once trained; a cache that cannot be written is handled as in ``load_or_train`` (its
    missing runs trained, returned, not stored).
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
        stored = use_cache and can_store(len(missing))
        done = _train_missing(cfgs, missing, device, mode, executor, progress, str(cache_dir()) if stored else None)
        for i in missing:
            histories[i] = _read_back(cfgs[i], keys[i]) if stored else done[i]
    return histories


def _train_missing(cfgs, missing, device, mode, executor, progress, cache) -> dict:
    executor = dispatch.dask_executor(executor)  # a bad $GROKUTILS_DASK_SCHEDULER fails before anything is timed
    chunks = dispatch.plan([cfgs[i] for i in missing], device, mode)
    chunks = [dataclasses.replace(c, indices=tuple(missing[j] for j in c.indices)) for c in chunks]
    if progress:
        print(dispatch.describe(chunks))
    return dispatch.execute(chunks, device.type, cache, executor, progress)


def _read_back(cfg: RunConfig, key: str) -> History:
    history = load(cfg, key, cache_dir() / f"{key}.pt")
    if history is None:
        raise RuntimeError(f"a run was trained but its file {cache_dir() / key}.pt could not be read back")
    return history
