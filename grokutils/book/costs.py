"""What executing each chapter cost on this machine, per profile: the numbers of its "Run this chapter" box.

``record`` keeps, per chapter and profile, the last execution's wall time, the training time its runs
recorded when they were trained, and the device, in ``costs.json`` beside the run cache (written
atomically); ``measured`` reads them back. Nothing here is typed by hand: a profile never executed on
this machine has no entry.
"""
from __future__ import annotations

import json
from pathlib import Path

from grokutils.store import atomic_write, cache_dir


def costs_file() -> Path:
    """``costs.json`` in the run cache's folder (``$GROKUTILS_CACHE``, or ``~/.cache/grokutils``)."""
    return cache_dir().parent / "costs.json"


def measured(chapter: str) -> dict[str, dict]:
    """``{profile: {"wall_seconds", "train_seconds", "device"}}`` recorded for ``chapter`` (empty if none)."""
    path = costs_file()
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text()).get(chapter, {})
    except json.JSONDecodeError:
        return {}  # a damaged record only loses the measurements; the next record rewrites it


def record(chapter: str, profile: str, wall_seconds: float, train_seconds: float, device: str) -> None:
    """Store one execution's cost of ``chapter`` at ``profile``, replacing the previous one."""
    path = costs_file()
    everything = {}
    if path.exists():
        try:
            everything = json.loads(path.read_text())
        except json.JSONDecodeError:
            everything = {}
    everything.setdefault(chapter, {})[profile] = {
        "wall_seconds": round(float(wall_seconds), 1), "train_seconds": round(float(train_seconds), 1), "device": device}
    atomic_write(path, lambda f: json.dump(everything, f, indent=1, sort_keys=True), binary=False)
