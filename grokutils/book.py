"""What every chapter shares: profiles, the header and the closing line, glued values, and the Checks.

A chapter notebook calls ``start(settings)`` after its parameters (it prints the profile, device, seed
and settings, and verifies the data files the chapter reads before anything trains), glues its numbers
with ``glue`` (``fmt_step`` spells a step that was never reached), runs its module's ``check`` (a
``Checks`` that prints each claim with its measured value and raises if one fails), and ends with
``finish(clock, settings)``.
"""
from __future__ import annotations

import importlib
import inspect
import os
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from grokutils import costs, dryrun, export, launch
from grokutils.config import check_choice, resolve_device
from grokutils.datafiles import fetch
from grokutils.history import History

PROFILES = ("smoke", "book", "paper")
PROFILE_ENV = "GROKUTILS_PROFILE"
NOT_REACHED = "not reached"


def resolve_profile(profile: str | None = None) -> str:
    """``profile`` if given, else ``$GROKUTILS_PROFILE``, else ``"book"``; checked against PROFILES."""
    if profile is not None:
        check_choice("profile", profile, PROFILES + (None,))
        return profile
    chosen = os.environ.get(PROFILE_ENV) or "book"
    check_choice(PROFILE_ENV, chosen, PROFILES)
    return chosen


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


def fmt_step(step: int | None) -> str:
    """A step for the prose: ``"3,976"``, or ``"not reached"`` for None."""
    return NOT_REACHED if step is None else f"{step:,}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage (``"18.1%"``), or ``"n/a"`` for None."""
    return "n/a" if value is None else f"{value:.{digits}%}"


def fmt_fraction(fraction: float | None) -> str:
    """A training fraction for the prose and tables: ``"45%"``, or ``"none"`` for None (no fraction reached a level)."""
    return "none" if fraction is None else f"{fraction:.0%}"


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table for a chapter's output: ``header`` over ``rows``, columns padded to their widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)


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
        print(dryrun.BANNER)
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
    glue("run_box", _markdown(f"**{dryrun.BANNER}.**\n\n{box}" if dry else box), display=False)
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
        lines.append(f"| {label} | not executed here | | |" if cost is None else
                     f"| {label} | {cost['wall_seconds']:,.0f} s | {cost['train_seconds']:,.0f} s | {cost['device']} |")
    return "\n".join(lines)


def _markdown(text: str):
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


@dataclass(frozen=True)
class Check:
    """One claim checked on a run: what it says, what was measured, whether it held, and whether it is asserted (a
    finding in a dry run is evaluated and printed, not asserted)."""

    claim: str
    measured: str
    passed: bool
    asserted: bool = True


class Checks:
    """A chapter's Checks: ``expect`` each claim with its measured value, then ``report``.

    ``claims`` says whether the profile asserts the chapter's findings (False at ``smoke``, where the
    runs are too small to show them): then ``claim`` records nothing and only the mechanics
    (``expect``) are asserted. In a dry run (``dryrun.enabled()``) the findings are evaluated on the synthetic runs and
    printed, but not asserted.
    """

    def __init__(self, claims: bool):
        self.claims, self.results, self.dry = claims, [], dryrun.enabled()

    def expect(self, claim: str, measured, passed: bool) -> None:
        """Record a claim that holds at every profile."""
        self.results.append(Check(claim, str(measured), bool(passed)))

    def claim(self, claim: str, measured, passed) -> None:
        """Record a finding of the source, asserted only where the profile claims findings.

        ``passed`` may be a function, called only then (its inputs may not exist at ``smoke``).
        """
        if self.claims:
            self.results.append(Check(claim, str(measured() if callable(measured) else measured),
                                      bool(passed() if callable(passed) else passed), asserted=not self.dry))

    def findings(self, claims: dict[str, tuple[str, str]], held: dict[str, bool], expected: dict[str, bool]) -> None:
        """Record each finding (name -> its claim and measured value) as holding where ``expected`` says the profile's
        runs show it, and as not holding ("NOT: ...") where they do not; ``held`` says which hold in this run."""
        for name, (claim, value) in claims.items():
            self.claim(claim if expected[name] else f"NOT: {claim} (our runs at this profile, as the chapter says)",
                       value, held[name] == expected[name])

    def finite(self, histories: dict[str, History]) -> None:
        """Every logged metric of every run is finite."""
        for name, history in histories.items():
            self.expect(f"{name}: every logged metric is finite", "finite" if history.is_finite() else "NaN or inf",
                        history.is_finite())

    def report(self) -> list[Check]:
        """Print every check with its measured value; raise AssertionError naming the failed ones."""
        for c in self.results:
            verdict = "PASS" if c.passed else "FAIL"
            verdict = verdict if c.asserted else f"DRY RUN ({verdict.lower()}, not asserted)"
            print(f"{verdict}  {c.claim}  (measured: {c.measured})")
        if not self.claims:
            print("this profile asserts only the mechanics, not the chapter's findings")
        failed = [c for c in self.results if c.asserted and not c.passed]
        if failed:
            raise AssertionError("failed checks: " + "; ".join(f"{c.claim} (measured: {c.measured})" for c in failed))
        print("DRY RUN: the mechanics passed; the findings were not asserted" if self.dry else "all checks passed")
        return self.results
