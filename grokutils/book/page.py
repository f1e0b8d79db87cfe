"""The page every chapter shares: its header, its glued values, its closing line and "Run this chapter" box, and
its downloads.

A chapter notebook calls ``start(settings)`` after its parameters (it prints the profile, device, seed
and settings, and verifies the data files the chapter reads before anything trains), glues its numbers
with ``glue``, runs its module's ``check`` (``findings.Checks``), and ends with ``finish(clock, settings)``.
"""
from __future__ import annotations

import importlib
import inspect
import platform
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from grokutils import dryrun, export
from grokutils.book import costs, launch
from grokutils.book.profiles import PROFILES
from grokutils.config import resolve_device
from grokutils.datafiles import fetch
from grokutils.history import History

def describe_device(device: str | torch.device | None = None) -> str:
    """A readable name of the device a run uses, e.g. ``cpu (2 threads, x86_64)``."""
    device = resolve_device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({torch.get_num_threads()} threads, {platform.machine()})"


def glue(name: str, value, display: bool = False):
    """Record ``value`` under ``name`` for the book's ``{glue}`` roles (myst-nb), and return it.

    Outside a myst-nb build (e.g. in Colab without myst-nb) it prints ``name = value`` instead.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        print(f"{name} = {value}")
    else:
        myst_glue(name, value, display=display)
    return value


class Stopwatch:
    """Wall time since creation, for the chapter's ``wall_seconds``."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Seconds elapsed."""
        return time.perf_counter() - self.start


def start(settings) -> Stopwatch:
    """The chapter's header: verify its data files, print profile, device, seed and settings; start the clock.

    ``settings`` is a chapter's settings (``profile``, ``device``, ``seed``, ``data_files`` and
    ``describe() -> list[str]``).
    """
    for data_file in settings.data_files:
        fetch(data_file)
    if dryrun.enabled():
        print(dryrun.banner())
    print(f"profile: {settings.profile}   device: {describe_device(settings.device)}   seed: {settings.seed}")
    for line in settings.describe():
        print(line)
    return Stopwatch()


def finish(clock: Stopwatch, settings, *runs) -> None:
    """The chapter's closing line and its "Run this chapter" box.

    Glues ``profile``, ``wall_seconds`` and ``run_box`` (the box's Markdown: the Colab link, the papermill
    command and the measured cost of each profile this machine has executed), records this execution's
    cost in the run cache (``costs.record``), and prints the closing line. ``runs`` are the chapter's
    Histories (or lists or dicts of them): the training time they recorded is the cost of a run from scratch.
    A dry run records no cost, and its box and closing line say it is one.
    """
    histories = list(_histories(runs))
    chapter = type(settings).__module__.rsplit(".", 1)[-1]
    device = describe_device(settings.device)
    trained, dry = training_seconds(histories), dryrun.enabled()
    if not dry:
        costs.record(chapter, settings.profile, wall_seconds=clock.seconds, train_seconds=trained, device=device)
    box = run_box(chapter, settings.profile)
    glue("profile", settings.profile)
    glue("wall_seconds", round(clock.seconds))
    glue("run_box", markdown(f"**{dryrun.banner()}.**\n\n{box}" if dry else box), display=False)
    if dry:
        print(f"profile {settings.profile}: DRY RUN of {len(histories)} synthetic runs in {clock.seconds:.0f} s; "
              "nothing was trained and no cost was recorded")
        return
    print(f"profile {settings.profile}: chapter ran in {clock.seconds:.0f} s on {device}; "
          f"its {len(histories)} runs took {trained:.0f} s to train when they were trained")


def training_seconds(histories: list[History]) -> float:
    """The training time ``histories`` recorded, each batch once: the runs of one batched model all record the
    batch's time (``sweep.train_many``), so equal recorded times count once (distinct runs never time alike to
    the nanosecond)."""
    return sum(set(h.wall_seconds for h in histories))


def run_box(chapter: str, profile: str) -> str:
    """Markdown telling a reader how to run ``chapter``: Colab, papermill, and each profile's measured cost."""
    notebook = f"book/{chapter}.ipynb"
    repo = launch.repository()
    names = list(inspect.signature(importlib.import_module(f"grokutils.chapters.{chapter}").settings).parameters)
    lines = []
    if repo is not None:
        lines.append(f"[Open in Colab]({repo.colab_url(notebook)}) (its first cell installs `grokutils`; "
                     "Colab keeps its own torch), or run it in batch with papermill, e.g.:")
    lines += ["", "```bash", f"papermill {notebook} {chapter}-paper.ipynb -p profile paper", "```", "",
              "Parameters: " + ", ".join(f"`{n}`" for n in names) + f" (`papermill --help-notebook {notebook}` "
              "describes each). Measured on the machine that built this page:", "",
              "| profile | executing the chapter | training its runs from scratch | device |", "|---|---|---|---|"]
    measured = costs.measured(chapter)
    for name in PROFILES:
        cost = measured.get(name)
        label = f"`{name}`" + (" (this page)" if name == profile else "")
        lines.append(f"| {label} | not executed here | | |" if not cost or "wall_seconds" not in cost else
                     f"| {label} | {cost['wall_seconds']:,.0f} s | {_training(cost)} | {cost['device']} |")
    return "\n".join(lines)


def _training(cost: dict) -> str:
    """The box's training cell: the runs' own training times summed, and the wall time ``make book`` took to train
    them on this machine's cores where it did (``costs.record_training``)."""
    text = f"{cost['train_seconds']:,.0f} s"
    if "train_wall_seconds" in cost:
        text += f" ({cost['train_wall_seconds']:,.0f} s of wall time in `make book`)"
    return text


def markdown(text: str):
    from IPython.display import Markdown  # only where a notebook kernel runs the chapter

    return Markdown(text)


def _histories(runs) -> Iterator[History]:
    for item in runs:
        if isinstance(item, History):
            yield item
        elif isinstance(item, dict):
            yield from _histories(item.values())
        else:
            yield from _histories(item)


def offer_download(history: History, name: str, folder: str | Path = "downloads") -> Path:
    """Save ``history`` as ``folder/name`` for the page's download link (read back with ``export.load_run``).

    ``folder`` is relative to the working directory, which is the notebook's own folder when the book
    builds or nbval tests it, so the page links it as ``downloads/<name>``.
    """
    path = export.save_run(history, Path(folder) / name)
    print(f"saved the run for download: {path} ({path.stat().st_size / 1e6:.1f} MB; "
          "grokutils.export.load_run reads it back)")
    return path
