"""A run as one file a reader downloads, and ``load_run`` to read it back without retraining.

Each chapter offers its main run on its page: ``save_run(history, path)`` writes the run's config (as
plain data), its logged metrics, its training indices and its final weights as a TransformerLens-format
state_dict (our models share TransformerLens's parameter names and layouts). ``load_run(path)`` returns
a ``History`` whose ``model()`` rebuilds the network with those weights. Checkpoints are not included.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from grokutils.config import RunConfig, TrainConfig
from grokutils.history import History
from grokutils.models import MLPConfig, TransformerConfig
from grokutils.store import atomic_save
from grokutils.tasks import MNISTConfig, ModularConfig, MultiTaskConfig, RandomLabelConfig

FORMAT = "grokutils-run"
VERSION = 1
CONFIG_CLASSES = {cls.__name__: cls for cls in (ModularConfig, MNISTConfig, RandomLabelConfig, MultiTaskConfig,
                                                 TransformerConfig, MLPConfig, TrainConfig)}
"""The config classes a run file may name, by class name."""


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

    Raises ValueError when the file is not such a run, naming what is wrong.
    """
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's message advises an unsafe load: say what the file is not instead
        raise ValueError(f"{path} is not a readable run file ({type(err).__name__}: {err})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file (save one with grokutils.export.save_run)")
    if blob.get("version") != VERSION:
        raise ValueError(f"{path}: {FORMAT} version {blob.get('version')!r}; this grokutils reads version {VERSION}")
    return History(config=config_from_description(json.loads(blob["config"])), steps=blob["steps"],
                   metrics=blob["metrics"], train_index=blob["train_index"], final_state=blob["state_dict"],
                   wall_seconds=float(blob["wall_seconds"]), device=str(blob["device"]))


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
