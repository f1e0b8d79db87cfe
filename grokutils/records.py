"""Runs trained elsewhere (on a GPU, on a cluster), kept in the repository as their logged metrics only.

A *record* is one small JSON file: the run's config (as ``RunConfig.describe()`` writes it), its logged steps and
metric columns, the device that trained it, how long it took, and where it came from (the machine, the torch and
grokutils versions). No weights: a record of a 200-log run is a few tens of kilobytes. ``save_record`` writes one
(atomically); ``find`` returns the record of a config from a folder of them, so a chapter can draw and assert on a
``paper`` run that a CPU cannot train, beside its own runs, and say where it came from (``Record.origin``).
"""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from grokutils import __version__
from grokutils.config import RunConfig
from grokutils.export import config_from_description
from grokutils.history import History
from grokutils.store import atomic_write

FORMAT = "grokutils-record"
VERSION = 1


@dataclass(frozen=True)
class Record:
    """A run's logged metrics, read from a record file.

    Attributes:
        history: the run's History: steps and metrics (``final_state`` empty, no checkpoints, no training indices).
        origin: where it was trained: machine, device, torch and grokutils versions.
        path: the file it was read from.
    """

    history: History
    origin: str
    path: Path

    def describe(self) -> str:
        """One line for a chapter's page: what the record is and where it came from."""
        return f"{self.path.name}: trained on {self.history.device} ({self.origin}), read from its stored metrics"


def save_record(history: History, path: str | Path) -> Path:
    """Write ``history``'s config, steps, metrics, device, training time and origin to ``path`` (JSON, atomically)."""
    path = Path(path)
    blob = {"format": FORMAT, "version": VERSION, "config": history.config.describe(), "device": history.device,
            "origin": origin(history.device), "wall_seconds": history.wall_seconds,
            "steps": history.steps.tolist(), "metrics": {k: v.tolist() for k, v in history.metrics.items()}}
    atomic_write(path, lambda f: json.dump(blob, f, sort_keys=True, default=str), binary=False)
    return path


def origin(device: str) -> str:
    """This machine as a record names it: host architecture, the device's name, torch and grokutils versions."""
    on_gpu = device.startswith("cuda") and torch.cuda.is_available()
    name = torch.cuda.get_device_name() if on_gpu else platform.processor()
    return f"{platform.machine()} {name or 'cpu'}, torch {torch.__version__}, grokutils {__version__}"


def load_record(path: str | Path, config: RunConfig | None = None) -> Record:
    """The record at ``path``; its History carries ``config`` when given (it must be the record's), else the config
    rebuilt from the file. Raises ValueError naming the file when it is not a record, or holds another run."""
    path = Path(path)
    blob = _read(path)
    if not _is_record(blob):
        raise ValueError(f"{path} is not a {FORMAT} file of version {VERSION} (write one with records.save_record)")
    return _record(blob, path, config)


def _read(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable record ({type(err).__name__}: {err})") from None


def _is_record(blob) -> bool:
    return isinstance(blob, dict) and blob.get("format") == FORMAT and blob.get("version") == VERSION


def _record(blob: dict, path: Path, config: RunConfig | None) -> Record:
    """The Record of a file's parsed ``blob`` (a record of this format and version)."""
    if config is not None and not _same(config.describe(), blob.get("config", {})):
        raise ValueError(f"{path} holds another run than the config asked for")
    try:
        steps = torch.tensor(blob["steps"], dtype=torch.long)
        metrics = {k: torch.tensor(v, dtype=torch.float64) for k, v in blob["metrics"].items()}
        cfg = config or config_from_description(blob["config"])
        history = History(cfg, steps, metrics, None, {}, float(blob["wall_seconds"]), str(blob["device"]))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: a damaged record ({type(err).__name__}: {err})") from None
    if any(len(col) != len(steps) for col in metrics.values()):
        raise ValueError(f"{path}: a damaged record (its metric columns and steps differ in length)")
    return Record(history, str(blob.get("origin", "unknown")), path)


def find(config: RunConfig, folder: str | Path = "records") -> Record | None:
    """The record of ``config`` among the ``*.json`` files of ``folder`` (None: there is none, or no such folder).
    Files that are not records of ``config`` are skipped; a damaged record of it raises, naming the file."""
    folder = Path(folder)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            blob = _read(path)
        except ValueError:
            continue
        if _is_record(blob) and _same(config.describe(), blob.get("config", {})):
            return _record(blob, path, config)
    return None


def _same(a: dict, b: dict) -> bool:
    """Whether two config descriptions are the same (compared as the JSON a record stores)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
