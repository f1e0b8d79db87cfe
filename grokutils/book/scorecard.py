"""The book's scorecard: every finding declared as a ``Finding``, with its source, its chapter and the verdict the
profile declares for it, which that chapter's Checks assert whenever the chapter is executed at the profile (a book
built with its chapters' Checks passing shows exactly these verdicts; a declared "undecided" is printed, not asserted).
"""
from __future__ import annotations

import importlib
import pkgutil

from grokutils import chapters
from grokutils.book.findings import UNDECIDED, Finding
from grokutils.book.profiles import asserts_findings, resolve_profile


def finding_chapters() -> list[str]:
    """The chapter modules (their slugs) whose findings are ``Finding`` records, in name order."""
    out = []
    for info in sorted(pkgutil.iter_modules(chapters.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"grokutils.chapters.{info.name}")
        found = getattr(module, "FINDINGS", ())
        if found and all(isinstance(f, Finding) for f in found):
            out.append(info.name)
    return out


def rows(profile: str | None = None) -> list[dict[str, str]]:
    """One row per finding: ``chapter`` (slug), ``name``, ``claim``, ``source`` (citation key), ``measure``,
    ``verdict`` (declared at ``profile``) and ``asserted`` ("yes", or why not)."""
    profile = resolve_profile(profile)
    out = []
    for slug in finding_chapters():
        module = importlib.import_module(f"grokutils.chapters.{slug}")
        declared = module.settings(profile).findings
        for f in module.FINDINGS:
            verdict = declared[f.name]
            asserted = ("no: smoke asserts only the mechanics" if not asserts_findings(profile)
                        else "no: undecided is printed, not asserted" if verdict == UNDECIDED else "yes")
            out.append(dict(chapter=slug, name=f.name, claim=f.claim, source=f.source, measure=f.measure,
                            verdict=verdict, asserted=asserted))
    return out


def counts(table: list[dict[str, str]]) -> dict[str, int]:
    """How many findings have each verdict."""
    out: dict[str, int] = {}
    for row in table:
        out[row["verdict"]] = out.get(row["verdict"], 0) + 1
    return out


def markdown(table: list[dict[str, str]]) -> str:
    """The scorecard as a MyST table: chapter (a link), finding, source (a citation), verdict, asserted."""
    lines = ["| chapter | finding | source | verdict | asserted |", "|---|---|---|---|---|"]
    for row in table:
        lines.append(f"| {{doc}}`{row['chapter']}` | {row['claim']} | {{cite}}`{row['source']}` | **{row['verdict']}** "
                     f"| {row['asserted']} |")
    return "\n".join(lines)
