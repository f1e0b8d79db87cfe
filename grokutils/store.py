"""The run store: runs on disk, keyed so that a cached run is never stale, written so that it is whole or absent.

A run's key hashes its full config, the device type, the package version and a fingerprint of the
code that determines a run (``config``, ``step``, ``train``, ``sweep``, ``history``, and the ``tasks``
and ``models`` packages, comments and docstrings aside): a change to the initialisation or the loss
that leaves the config alone still gets new runs. Each run is two files, ``<key>.pt`` (the history,
with its config and key, checked on load) and ``<key>.ckpt.pt`` (its checkpoints, read when first
used; the comment of its zip archive names the run's key, so a side file of another run is caught). Files are
written atomically (a temporary file, then ``os.replace``) and readable by everyone, so two processes filling one
store never leave a half-written run; a file that cannot be used is reported and moved aside (left in place, and
its run trained again, in a cache that cannot be written). ``unwritable`` says before training whether a run can be
stored. The store sits below the training loop and the sweep engine: ``runs`` (which trains what is missing) and
``dispatch`` (whose workers write what they train) both write through it.
"""
from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import tempfile
import time
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path

import torch

from grokutils import __version__
from grokutils.config import RunConfig
from grokutils.history import History

PACKAGE = Path(__file__).resolve().parent
CODE = ("config.py", "step.py", "muon.py", "noise.py", "train.py", "sweep.py", "history.py", "tasks", "models")
"""The files and folders of ``grokutils`` whose code determines a run's content (not how runs are dispatched)."""
STALE_TMP_SECONDS = 3600
"""Temporary files older than this are left by a killed save and are removed."""
FILE_MODE = 0o664


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the code in ``CODE``: each module's syntax tree without docstrings (comments never reach it)."""
    h = hashlib.sha256()
    files = sorted(f for name in CODE for f in ([PACKAGE / name] if name.endswith(".py") else (PACKAGE / name).rglob("*.py")))
    for path in files:
        h.update(str(path.relative_to(PACKAGE)).encode())
        h.update(ast.dump(_without_docstrings(ast.parse(path.read_text()))).encode())
    return h.hexdigest()[:16]


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return tree


def cache_dir() -> Path:
    """``$GROKUTILS_CACHE/runs`` if set, else ``~/.cache/grokutils/runs``."""
    root = os.environ.get("GROKUTILS_CACHE") or Path.home() / ".cache" / "grokutils"
    return Path(root) / "runs"


def config_key(cfg: RunConfig, device: torch.device | str = "cpu") -> str:
    """A stable hash of the config (with its class names), the device type, the version and the code."""
    payload = {"version": __version__, "code": code_fingerprint(), "device": torch.device(device).type,
               **cfg.describe()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_path(cfg: RunConfig, device) -> Path:
    """Where the cached run of ``cfg`` on ``device`` lives (its checkpoints: ``checkpoint_path``)."""
    return cache_dir() / f"{config_key(cfg, device)}.pt"


def checkpoint_path(path: Path) -> Path:
    """The side file holding the checkpoints of the run stored at ``path``."""
    return path.with_suffix(".ckpt.pt")


def atomic_save(obj, path: Path) -> None:
    """``torch.save`` to ``path`` through a temporary file, so ``path`` is whole or absent; group-readable."""
    atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write(path: Path, write, binary: bool = True) -> None:
    """``write(file)`` into a temporary file beside ``path`` (opened for reading too), then moved onto it: ``path`` is
    whole or absent; readable by everyone. ``binary``: the file is opened in bytes mode, else as text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b" if binary else "w+") as f:
            write(f)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def unwritable(folder: Path) -> str | None:
    """None when files can be written into ``folder`` (created if missing), else why not (its owner's permissions,
    a read-only mount, a full disk). Raises NotADirectoryError, naming ``GROKUTILS_CACHE``, when a file stands
    where ``folder`` or one of its parents should be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe.", suffix=".tmp")
    except (FileExistsError, NotADirectoryError) as err:
        setting = f"GROKUTILS_CACHE={os.environ['GROKUTILS_CACHE']}" if os.environ.get("GROKUTILS_CACHE") else \
            "GROKUTILS_CACHE is not set"
        raise NotADirectoryError(f"{setting}: the run cache {folder} is not a folder (a file is in the way: "
                                 f"{err.strerror}); move that file, or point GROKUTILS_CACHE at a folder") from None
    except OSError as err:
        return err.strerror or str(err)
    os.close(fd)
    os.unlink(probe)
    return None


def remove_stale_tmp(folder: Path, older_than: float = STALE_TMP_SECONDS) -> list[Path]:
    """Delete temporary files that a killed save left in ``folder`` (older than ``older_than`` seconds); those it
    may not delete (a read-only cache) are left alone."""
    removed = []
    for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
        try:
            if time.time() - tmp.stat().st_mtime > older_than:
                tmp.unlink()
                removed.append(tmp)
        except OSError:  # another process cleaned it or its save finished, or the cache cannot be written
            pass
    return removed


def store(history: History, device, folder: Path | None = None) -> str:
    """Save ``history`` under its key in the run cache ``folder`` (default: ``cache_dir()``); return the key."""
    key = config_key(history.config, device)
    save(history, key, (folder or cache_dir()) / f"{key}.pt")
    return key


def save(history: History, key: str, path: Path) -> History:
    """Store ``history`` at ``path`` (checkpoints in the side file) and return it, its checkpoints now on disk."""
    checkpoints, size = history.checkpoints, 0
    if checkpoints:
        atomic_write(checkpoint_path(path), lambda f: _save_tagged(checkpoints, f, key))
        size = checkpoint_path(path).stat().st_size
    fields = {name: getattr(history, name) for name in _stored_fields()}
    atomic_save({"key": key, "config": _config_json(history.config), "checkpoint_bytes": size, **fields}, path)
    return dataclasses.replace(history, checkpoint_file=checkpoint_path(path) if checkpoints else None,
                               _checkpoints=checkpoints)


def save_or_warn(history: History, key: str, path: Path) -> History:
    """``save``, except that when the write fails (a full disk, a cache turned read-only) it warns, naming ``path``,
    and returns ``history`` as it is: a trained run is never lost to its cache."""
    try:
        return save(history, key, path)
    except OSError as err:
        warnings.warn(f"run cache: could not store the trained run at {path} ({err.strerror or err}); it is used "
                      "but not cached, so the next execution trains it again", stacklevel=2)
        return history


def _save_tagged(checkpoints: dict, f, key: str) -> None:
    torch.save(checkpoints, f)
    with zipfile.ZipFile(f, "a") as archive:  # torch writes a zip archive; its comment names the run
        archive.comment = key.encode()


def _stored_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(History) if f.name not in ("config", "checkpoint_file", "_checkpoints")]


def load(cfg: RunConfig, key: str, path: Path) -> History | None:
    """The run stored at ``path``, or None when there is none or it cannot be used (then reported and moved aside,
    or left in place where the cache cannot be written)."""
    if not path.exists():
        return None
    try:
        return _read(cfg, key, path)
    except (ValueError, KeyError, AttributeError, TypeError) as err:  # unreadable or foreign: never trust it
        _move_aside(path, err)
        return None


def _read(cfg: RunConfig, key: str, path: Path) -> History:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's own message advises an unsafe load: say what happened instead
        raise ValueError(f"it is not a readable run file ({type(err).__name__})") from None
    if not isinstance(blob, dict):
        raise ValueError(f"it holds a {type(blob).__name__}, not a run's fields")
    if blob.get("key") != key or blob.get("config") != _config_json(cfg):
        raise ValueError(f"it holds another run (key {blob.get('key')!r}, expected {key!r})")
    ckpt = _checked_checkpoints(path, key, blob.pop("checkpoint_bytes"))
    fields = {k: v for k, v in blob.items() if k not in ("key", "config")}
    if sorted(fields) != sorted(_stored_fields()):
        raise ValueError(f"its fields {sorted(fields)} are not those of a run of this grokutils "
                         f"({sorted(_stored_fields())})")
    return History(config=cfg, checkpoint_file=ckpt, **fields)


def _checked_checkpoints(path: Path, key: str, size: int) -> Path | None:
    """The side file of the run at ``path`` if it has one (``size`` bytes); ValueError if it is damaged or another
    run's. A side file written before the store tagged them (no comment) is checked for its size and format only."""
    if not size:
        return None
    ckpt = checkpoint_path(path)
    if not ckpt.exists() or ckpt.stat().st_size != size:
        raise ValueError(f"its checkpoint file {ckpt} is missing or not {size} bytes long")
    try:
        with zipfile.ZipFile(ckpt) as archive:
            owner = archive.comment.decode(errors="replace")
    except (zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"its checkpoint file {ckpt} is not a checkpoint archive ({type(err).__name__})") from None
    if owner and owner != key:
        raise ValueError(f"its checkpoint file {ckpt} holds the checkpoints of another run (key {owner!r})")
    return ckpt


def _config_json(cfg: RunConfig) -> str:
    return json.dumps(cfg.describe(), sort_keys=True, default=str)


def _move_aside(path: Path, err: Exception) -> None:
    reason = unwritable(path.parent)
    if reason:  # a read-only cache: the file stays; its run is trained (and, with nowhere to go, not stored)
        warnings.warn(f"run cache: {path} could not be used ({err}); left in place as the cache cannot be written "
                      f"({reason}), and the run is trained again", stacklevel=3)
        return
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    warnings.warn(f"run cache: {path} could not be used ({err}); moved to {aside.name} "
                  "and the run is trained again", stacklevel=3)
    for source, target in ((path, aside), (checkpoint_path(path), aside.with_name(aside.name + ".ckpt"))):
        try:
            os.replace(source, target)
        except OSError:  # gone already (another process moved it), or it cannot be moved: the warning said why
            pass
