"""How the chapters write numbers into their prose, tables and Checks: one formatter and the spellings of a missing
value."""
from __future__ import annotations

NOT_REACHED = "not reached"
MISSING = "n/a"


def fmt(value, spec: str = "", missing: str = MISSING) -> str:
    """``value`` in format ``spec`` (``format(value, spec)``), or ``missing`` for None (not measurable)."""
    return missing if value is None else format(value, spec)


def fmt_step(step: int | None) -> str:
    """A step for the prose: ``"3,976"``, or ``"not reached"`` for None."""
    return fmt(step, ",", NOT_REACHED)


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage (``"18.1%"``), or ``"n/a"`` for None."""
    return fmt(value, f".{digits}%")


def fmt_fraction(fraction: float | None) -> str:
    """A training fraction for the prose and tables: ``"45%"``, or ``"none"`` for None (no fraction reached a level)."""
    return fmt(fraction, ".0%", "none")


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table for a chapter's output: ``header`` over ``rows``, columns padded to their widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)
