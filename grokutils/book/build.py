"""``make book``: train every chapter's runs, saying where it is, then build the book, then say what each chapter cost.

``python -m grokutils.book.build`` goes through the chapters in the order of ``_toc.yml``. Before each it prints the
chapter's name, how many of its runs the run cache still lacks, and what the chapter cost on this machine last time
(``costs.json``: the wall time its runs took to train, and its notebook's own time); then it trains the missing runs
(``book.run_all``, with the settings the notebook's ``parameters`` cell gives at ``$GROKUTILS_PROFILE``), so the
notebooks that Jupyter Book executes next find their runs cached and only analyse and draw. At the end it prints a
table of every chapter's wall time in this build: training, notebook (blank where Jupyter Book's cache of the page was
still valid and nothing executed), and their sum. Arguments after ``--`` go to ``jupyter-book build``.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from grokutils import dryrun, runs, store
from grokutils.book import costs
from grokutils.book.profiles import resolve_profile
from grokutils.book.runset import configs_in, run_all
from grokutils.config import resolve_device

JUPYTER_BOOK_ARGS = ("-W", "-n", "--keep-going")
"""What ``make book`` passes to ``jupyter-book build`` by default: warnings are errors, nitpicky, every page tried."""


@dataclass(frozen=True)
class Trained:
    """One chapter's training in this build.

    Attributes:
        chapter: the chapter's module name (its notebook's stem).
        missing: runs the cache lacked before.
        total: runs the chapter reads (with the runs others start from).
        seconds: wall time of loading and training them.
    """

    chapter: str
    missing: int
    total: int
    seconds: float


def chapters(root: Path) -> list[Path]:
    """The chapter notebooks of ``_toc.yml`` under ``root``, in the book's order (pages without a notebook left out)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [entry["file"] for part in toc.get("parts", []) for entry in part.get("chapters", [])]
    return [root / f"{name}.ipynb" for name in files if (root / f"{name}.ipynb").exists()]


def parameters(notebook: Path) -> dict:
    """The defaults of the notebook's ``parameters`` cell (its assignments, evaluated)."""
    cells = json.loads(notebook.read_text())["cells"]
    cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    values: dict = {}
    exec("".join(cell["source"]), {}, values)  # the cell is plain assignments of literals  # noqa: S102
    return values


def settings_of(notebook: Path):
    """The chapter's settings as its notebook builds them with its default parameters."""
    module = importlib.import_module(f"grokutils.chapters.{notebook.stem}")
    accepted = inspect.signature(module.settings).parameters
    return module.settings(**{k: v for k, v in parameters(notebook).items() if k in accepted})


def all_configs(settings) -> list:
    """Every run the chapter reads, with the runs they start from (``init_from``)."""
    found = configs_in(settings.runs())
    return list(dict.fromkeys([cfg.init_from for cfg in found if cfg.init_from is not None] + found))


def count_missing(cfgs: list, device) -> int:
    """How many of ``cfgs`` the run cache lacks."""
    return sum(not store.run_path(cfg, device).exists() for cfg in cfgs)


def last_time(chapter: str, profile: str) -> str:
    """What the chapter cost here last time at ``profile``, from ``costs.json``."""
    cost = costs.measured(chapter).get(profile, {})
    parts = []
    if "train_wall_seconds" in cost:
        parts.append(f"training {cost['trained_runs']} runs took {minutes(cost['train_wall_seconds'])}")
    if "wall_seconds" in cost:
        parts.append(f"the notebook {minutes(cost['wall_seconds'])} on {cost['device']}")
    return "last time here: " + ", ".join(parts) if parts else "never built here at this profile"


def minutes(seconds: float) -> str:
    """``seconds`` as ``"12 min 5 s"`` (or ``"42 s"``)."""
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s} s" if m else f"{s} s"


def train_chapter(notebook: Path, index: int, count: int) -> Trained:
    """Say where the build is, then load or train the chapter's runs; record the training's wall time when any
    run trained."""
    settings, chapter = settings_of(notebook), notebook.stem
    cfgs = all_configs(settings)
    missing = 0 if dryrun.enabled() else count_missing(cfgs, resolve_device(settings.device))
    print(f"\n[{index}/{count}] {chapter} at {settings.profile}: {missing} of {len(cfgs)} runs to train; "
          f"{last_time(chapter, settings.profile)}", flush=True)
    start = time.perf_counter()
    run_all(settings, runs.load_or_train_many)
    seconds = time.perf_counter() - start
    if missing:
        costs.record_training(chapter, settings.profile, seconds, missing)
    return Trained(chapter, missing, len(cfgs), seconds)


def jupyter_book(root: Path, args: list[str]) -> int:
    """Run ``jupyter-book build`` on ``root`` with ``args``; its exit status."""
    exe = Path(sys.executable).with_name("jupyter-book")
    return subprocess.call([str(exe) if exe.exists() else "jupyter-book", "build", str(root), *args])


def table(trained: list[Trained], profile: str, since: float, build_seconds: float) -> str:
    """Every chapter's wall time in this build: training, its notebook (``page cached`` where the page came from
    Jupyter Book's cache), and the sum; then Jupyter Book's whole build (``build_seconds``: the notebooks and the
    pages) and the whole ``make book``."""
    rows = [f"{'chapter':30s} {'runs trained':>12s} {'training':>14s} {'notebook':>14s} {'total':>14s}"]
    total = 0.0
    for t in trained:
        cost = costs.measured(t.chapter).get(profile, {})
        executed = cost.get("recorded_at", 0) >= since
        notebook = cost["wall_seconds"] if executed else 0.0
        total += t.seconds + notebook
        rows.append(f"{t.chapter:30s} {f'{t.missing}/{t.total}':>12s} {minutes(t.seconds):>14s} "
                    f"{minutes(notebook) if executed else 'page cached':>14s} {minutes(t.seconds + notebook):>14s}")
    rows.append(f"{'all chapters':30s} {'':12s} {'':14s} {'':14s} {minutes(total):>14s}")
    rows.append(f"jupyter-book build (the notebooks and the pages): {minutes(build_seconds)}")
    rows.append(f"the whole build: {minutes(time.time() - since)}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Train every chapter's runs, build the book, print the table; the build's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root (default: here)")
    parser.add_argument("--no-build", action="store_true", help="train the chapters' runs only")
    parser.add_argument("jupyter_book_args", nargs="*", help="after --: arguments of jupyter-book build "
                        f"(default: {' '.join(JUPYTER_BOOK_ARGS)})")
    args = parser.parse_args(argv)
    since, notebooks = time.time(), chapters(args.root)
    trained = [train_chapter(nb, i, len(notebooks)) for i, nb in enumerate(notebooks, 1)]
    building = time.time()
    status = 0 if args.no_build else jupyter_book(args.root, args.jupyter_book_args or list(JUPYTER_BOOK_ARGS))
    profile = resolve_profile()
    print(f"\nwall time per chapter in this build (profile {profile}):\n"
          f"{table(trained, profile, since, time.time() - building)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
