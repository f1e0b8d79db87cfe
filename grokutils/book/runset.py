"""One ``run_all`` for every chapter: the runs its settings name, loaded from the run cache or trained, in the shape
the settings give them.

A chapter's settings name their runs as a nest (``settings.runs()``): dicts, lists and tuples whose leaves are
``RunConfig``s (other leaves, e.g. a training fraction beside its run, pass through unchanged). ``run_all`` hands
every config, each once, to ``load_many`` (``runs.load_or_train_many``) with the settings' device and sweep mode, and
returns the same nest with a ``History`` for each config.
"""
from __future__ import annotations

from grokutils.config import RunConfig


def configs_in(tree) -> list[RunConfig]:
    """Every ``RunConfig`` in ``tree`` (dicts, lists and tuples of them), in order, each once."""
    if isinstance(tree, RunConfig):
        return [tree]
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (list, tuple)):
        return list(dict.fromkeys(cfg for item in tree for cfg in configs_in(item)))
    return []


def rebuild(tree, done: dict):
    """``tree`` with each ``RunConfig`` replaced by ``done[config]`` (dicts, lists and tuples keep their shape)."""
    if isinstance(tree, RunConfig):
        return done[tree]
    if isinstance(tree, dict):
        return {key: rebuild(value, done) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(rebuild(item, done) for item in tree)
    return tree


def stages(configs: list[RunConfig]) -> list[list[RunConfig]]:
    """``configs`` in the order they can be trained: first those that others start from (``init_from``), then the
    rest (a run whose parent is missing would otherwise train the parent itself, once per worker)."""
    parents = {cfg.init_from for cfg in configs if cfg.init_from is not None}
    first = [cfg for cfg in configs if cfg in parents]
    return [part for part in (first, [cfg for cfg in configs if cfg not in parents]) if part]


def run_all(settings, load_many, **kwargs):
    """Every run of ``settings.runs()`` through ``load_many`` (``runs.load_or_train_many``), one call per stage
    (``stages``), with ``device=settings.device`` and ``mode=settings.mode`` unless ``kwargs`` name them; returns the
    nest of ``settings.runs()`` with a History for each config."""
    tree = settings.runs()
    options = {"device": settings.device, "mode": settings.mode, **kwargs}
    done = {}
    for stage in stages(configs_in(tree)):
        done.update(zip(stage, load_many(stage, **options)))
    return rebuild(tree, done)
