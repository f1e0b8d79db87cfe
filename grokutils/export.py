"""A run as one file a reader downloads, and ``load_run`` to read it back without retraining.

Each chapter offers its main run on its page: ``save_run(history, path)`` writes the run's config (as
plain data), its logged metrics, its training indices and its final weights as a TransformerLens-format
state_dict (our models share TransformerLens's parameter names and layouts). ``load_run(path)`` returns
a ``History`` whose ``model()`` rebuilds the network with those weights. Checkpoints are not included.
"""
from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import torch

from grokutils import models, tasks
from grokutils.config import RunConfig, TrainConfig
from grokutils.history import History
from grokutils.store import atomic_save

FORMAT = "grokutils-run"
VERSION = 1
FIELDS = ("config", "steps", "metrics", "train_index", "state_dict", "wall_seconds", "device")
"""What a run file holds besides its format and version."""
CONFIG_CLASSES = {name: getattr(package, name) for package in (tasks, models) for name in package.__all__
                  if name.endswith("Config")} | {"TrainConfig": TrainConfig}
"""The config classes a run file may name, by class name: every task and model config the package exports."""


def save_run(history: History, path: str | Path) -> Path:
    """Write ``history`` (config, metrics, training indices, final weights; no checkpoints) to ``path`` atomically."""
    path = Path(path)
    atomic_save({"format": FORMAT, "version": VERSION,
                 "config": json.dumps(history.config.describe(), default=str),
                 "steps": history.steps, "metrics": dict(history.metrics), "train_index": history.train_index,
                 "state_dict": history.final_state, "wall_seconds": history.wall_seconds,
                 "device": history.device}, path)
    return path


def load_run(path: str | Path) -> History:
    """The run saved by ``save_run`` at ``path``, as a ``History`` (``.model()`` gives the trained network).

    Raises ValueError when the file is not such a run, naming ``path`` and what is wrong.
    """
    path = Path(path)
    blob = _run_file(path)
    return History(config=_config(path, blob["config"]), steps=blob["steps"], metrics=blob["metrics"],
                   train_index=blob["train_index"], final_state=blob["state_dict"],
                   wall_seconds=float(blob["wall_seconds"]), device=str(blob["device"]))


def _run_file(path: Path) -> dict:
    """The contents of the run file at ``path``, checked for its format, version and ``FIELDS``."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's message advises an unsafe load: say what the file is instead
        raise ValueError(f"{path} is not a readable run file: {_what_it_is(path, err)}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file (save one with grokutils.export.save_run)")
    if blob.get("version") != VERSION:
        raise ValueError(f"{path}: {FORMAT} version {blob.get('version')!r}; this grokutils reads version {VERSION}")
    missing = [name for name in FIELDS if name not in blob]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(map(repr, missing))}: the file is damaged or cut short; "
                         "download it again")
    return blob


def _what_it_is(path: Path, err: Exception) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip().lower()
    except OSError as cause:
        return f"it cannot be read ({cause.strerror})"
    if head.startswith((b"<!doctype html", b"<html")):
        return "it is an HTML page (a download that saved a web page, such as a sign-in page, instead of the file)"
    if zipfile.is_zipfile(path):
        return "it is a torch file holding objects other than tensors and plain data (such as a pickled model)"
    return f"it is not a file written by torch.save ({type(err).__name__})"


def _config(path: Path, text) -> RunConfig:
    """The ``RunConfig`` of a run file's ``config`` entry; ValueError naming ``path`` when it cannot be read."""
    try:
        description = json.loads(text)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: its config is not JSON ({err})") from None
    try:
        return config_from_description(description)
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        raise ValueError(f"{path}: its config cannot be read back ({err})") from None


def config_from_description(description: dict) -> RunConfig:
    """The ``RunConfig`` that ``RunConfig.describe()`` wrote as ``description`` (JSON lists back to tuples)."""
    parts = {}
    for name, (class_name, fields) in description.items():
        if name == "init_from" and class_name == "RunConfig":
            parts[name] = config_from_description(fields)
            continue
        if class_name not in CONFIG_CLASSES:
            raise ValueError(f"config part {name!r} has class {class_name!r}; allowed: {sorted(CONFIG_CLASSES)}")
        cls = CONFIG_CLASSES[class_name]
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(fields) - known
        if unknown:
            raise ValueError(f"config part {name!r} ({class_name}) has unknown fields {sorted(unknown)}")
        parts[name] = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    return RunConfig(**parts)
