"""The profiles every chapter has, and the settings every chapter shares: which profile, whether it asserts the
chapter's findings, and the one domain of seeds."""
from __future__ import annotations

import ast
import dataclasses
import inspect
import os

from grokutils.config import check_choice, check_int

PROFILES = ("smoke", "book", "paper")
PROFILE_ENV = "GROKUTILS_PROFILE"
SEED_LIMIT = 2**31
"""Every seed a chapter derives (its ``seed`` plus an offset) lies in [0, SEED_LIMIT): numpy's and torch's
generators both take it."""
INJECTED_MARK = "# Parameters"
"""The first line of the cell papermill injects after a notebook's ``parameters`` cell (``-p name value``)."""


def resolve_profile(profile: str | None = None) -> str:
    """``profile`` if given, else ``$GROKUTILS_PROFILE``, else ``"book"``; checked against PROFILES."""
    if profile is not None:
        check_choice("profile", profile, PROFILES + (None,))
        return profile
    chosen = os.environ.get(PROFILE_ENV) or "book"
    check_choice(PROFILE_ENV, chosen, PROFILES)
    return chosen


def asserts_findings(profile: str) -> bool:
    """Whether ``profile`` asserts a chapter's findings: every profile but ``smoke``, whose runs are too small to
    show them (it asserts the mechanics)."""
    return profile != "smoke"


def check_seed(seed: int, span: int = 1) -> int:
    """``seed`` checked so that the ``span`` seeds a chapter derives from it (``seed``, ``seed + 1``, ...) all lie in
    the one domain [0, SEED_LIMIT); a clear error names the parameter and its range otherwise."""
    check_int("seed", seed, 0, SEED_LIMIT - span)
    return seed


def check_odd_knob(name: str, value, low: int, high: int, why: str) -> None:
    """Raise ValueError, naming the knob and its allowed values, unless ``value`` is None or an odd integer in
    ``[low, high]``; ``why`` says why it must be odd."""
    check_int(name, value, low, high, none_ok=True)
    if value is not None and value % 2 == 0:
        raise ValueError(f"{name}={value!r} must be odd ({why}); allowed values: an odd integer in [{low}, {high}], "
                         "or None")


def turn(preset, **knobs):
    """A chapter's profile (a frozen dataclass) with each knob the reader gave (not None) in its place, and whether any
    differs from the profile's: ``(profile, turned)``. A turned profile's declared verdicts do not apply."""
    given = {name: value for name, value in knobs.items() if value is not None}
    turned = dataclasses.replace(preset, **given)
    return turned, turned != preset


def check_parameters(namespace: dict, settings) -> None:
    """Raise ValueError if papermill injected a parameter (``-p name value``) that the chapter's ``settings`` does not
    take, naming the chapter's parameters: papermill itself only warns, and the chapter would run its defaults.

    ``namespace`` is the notebook's ``globals()``: IPython's ``In`` holds the injected cell's source (outside IPython
    there is none, and nothing to check)."""
    allowed = list(inspect.signature(settings).parameters)
    for source in namespace.get("In", ()):
        if not source.startswith(INJECTED_MARK):
            continue
        names = [t.id for node in ast.parse(source).body if isinstance(node, ast.Assign) for t in node.targets
                 if isinstance(t, ast.Name)]
        unknown = [name for name in names if name not in allowed]
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r} (papermill -p {unknown[0]} ...): this chapter's "
                             f"parameters are {', '.join(allowed)}")
