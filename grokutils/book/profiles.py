"""The profiles every chapter has, and the settings every chapter shares: which profile, whether it asserts the
chapter's findings, and the one domain of seeds."""
from __future__ import annotations

import dataclasses
import os

from grokutils.config import check_choice, check_int

PROFILES = ("smoke", "book", "paper")
PROFILE_ENV = "GROKUTILS_PROFILE"
SEED_LIMIT = 2**31
"""Every seed a chapter derives (its ``seed`` plus an offset) lies in [0, SEED_LIMIT): numpy's and torch's
generators both take it."""


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


def turn(preset, **knobs):
    """A chapter's profile (a frozen dataclass) with each knob the reader gave (not None) in its place, and whether any
    differs from the profile's: ``(profile, turned)``. A turned profile's declared verdicts do not apply."""
    given = {name: value for name, value in knobs.items() if value is not None}
    turned = dataclasses.replace(preset, **given)
    return turned, turned != preset
