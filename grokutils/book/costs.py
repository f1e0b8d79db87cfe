"""What executing each chapter cost on this machine, per profile: the numbers of its "Run this chapter" box.

``record`` keeps, per chapter and profile, the last execution's wall time, the training time its runs
recorded when they were trained, and the device, in ``costs.json`` beside the run cache; ``record_training`` adds the
wall time ``make book`` last took to train the chapter's missing runs (``book.build``); ``measured`` reads them
back. The file is readable by everyone and rewritten atomically under a lock (``costs.json.lock``, an ``flock``), so
chapters executed at once by several processes or users each add their entry. A cache that cannot be written
(read-only, or another user's) keeps the costs recorded before: ``record`` warns and records nothing. Nothing here
is typed by hand: a profile never executed on this machine has no entry.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from grokutils.store import FILE_MODE, atomic_write, cache_dir

try:
    import fcntl
except ImportError:  # Windows: no flock; records are not locked there
    fcntl = None


def costs_file() -> Path:
    """``costs.json`` in the run cache's folder (``$GROKUTILS_CACHE``, or ``~/.cache/grokutils``)."""
    return cache_dir().parent / "costs.json"


def lock_file() -> Path:
    """The file ``record`` locks while it rewrites ``costs_file()``, beside it."""
    return costs_file().with_name("costs.json.lock")


def measured(chapter: str) -> dict[str, dict]:
    """``{profile: {"wall_seconds", "train_seconds", "device"}}`` recorded for ``chapter`` (empty if none)."""
    return _everything(costs_file()).get(chapter, {})


def _everything(path: Path) -> dict:
    """All chapters' records in ``path``; empty when it is missing, damaged or unreadable (a damaged record only
    loses the measurements; the next record rewrites it)."""
    try:
        everything = json.loads(path.read_text())
    except (OSError, ValueError):  # ValueError: not JSON, or not text
        return {}
    return everything if isinstance(everything, dict) else {}


def record(chapter: str, profile: str, wall_seconds: float, train_seconds: float, device: str) -> None:
    """Store one execution's cost of ``chapter`` at ``profile`` (its notebook's wall time, the training time its runs
    recorded, the device, and when), replacing the previous execution's; the training's wall time kept by
    ``record_training``, other chapters' and other processes' records are kept. Where the cache cannot be written,
    warn (one line, naming the file) instead."""
    _update(chapter, profile, {"wall_seconds": round(float(wall_seconds), 1),
                               "train_seconds": round(float(train_seconds), 1), "device": device,
                               "recorded_at": round(time.time(), 1)})


def record_training(chapter: str, profile: str, seconds: float, trained_runs: int) -> None:
    """Store the wall time that training ``trained_runs`` of the chapter's runs took here (``make book``'s training
    of a chapter before its notebook executes), beside its execution's cost."""
    _update(chapter, profile, {"train_wall_seconds": round(float(seconds), 1), "trained_runs": int(trained_runs)})


def _update(chapter: str, profile: str, fields: dict) -> None:
    path = costs_file()
    try:
        with _locked(lock_file()):
            everything = _everything(path)
            everything.setdefault(chapter, {}).setdefault(profile, {}).update(fields)
            atomic_write(path, lambda f: json.dump(everything, f, indent=1, sort_keys=True), binary=False)
    except OSError as err:
        warnings.warn(f"costs: the cost of {chapter} at profile {profile} was not recorded: {path} cannot be written "
                      f"({err.strerror or err}); the costs recorded before are kept", stacklevel=3)


@contextmanager
def _locked(lock: Path):
    """Hold an exclusive ``flock`` on ``lock`` (created readable by everyone) for the ``with`` body."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDONLY | os.O_CREAT, FILE_MODE)  # read-only: another user may lock a file of ours
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, FILE_MODE)  # whatever the umask
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
