"""A chapter's findings and its Checks: each finding declared once, judged on every seed, with three verdicts.

A ``Finding`` is one claim of a source in our words, with how we measure it, the margin its measurement must clear
and its power condition (what the runs must show before it can be judged at all). A chapter's ``measure`` turns
its runs into ``Evidence``, one per seed (or per run set); ``judge`` turns the evidence into a ``Verdict``:

- **holds**: every seed clears the threshold by more than the margin;
- **does not hold**: every seed misses it by more than the margin, and every seed had the power to show it;
- **not tested** at this profile: the power condition failed (or nothing could be measured), with the reason: the
  runs could not have shown the finding either way;
- **undecided**: a measurement inside the margin, or seeds (or a chapter's several measurements) that disagree, with
  the scores and their spread.

A profile declares the verdict its runs give (``expected``); ``Checks.finding`` asserts it, except a declared
"undecided", which claims nothing and is printed, not asserted. The glue (``verdict_glue``) and the book's scorecard
read the same records.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grokutils import dryrun

HOLDS, DOES_NOT_HOLD, NOT_TESTED, UNDECIDED = "holds", "does not hold", "not tested", "undecided"
VERDICTS = (HOLDS, DOES_NOT_HOLD, NOT_TESTED, UNDECIDED)


@dataclass(frozen=True)
class Finding:
    """One finding of a source, declared once; the Checks, the glue and the scorecard read it.

    Attributes:
        name: its key (the glue's ``verdict_<name>``).
        claim: the source's claim in our words.
        source: the source's citation key in ``book/references.bib``.
        measure: how we measure it: the number, and the threshold it must clear to hold.
        power: the power condition in words: what the runs must show before the finding can be judged at all (they
            fitted, they reached the level, the curve rose); empty where the measurement needs nothing more.
        margin: how far past its threshold a measurement must lie, in the units of its score, for either verdict;
            inside it the verdict is "undecided".
    """

    name: str
    claim: str
    source: str
    measure: str
    power: str = ""
    margin: float = 0.0

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(f"Finding.name must be an identifier (it names glue), got {self.name!r}")
        if self.margin < 0:
            raise ValueError(f"Finding.margin must be at least 0, got {self.margin!r}")


@dataclass(frozen=True)
class Evidence:
    """One measurement of a finding: one seed's runs, or a run set.

    Attributes:
        score: how far the measurement lies past the finding's threshold, in the finding's units: positive where it
            holds, negative where it does not (None: it could not be measured).
        measured: the measured value in words, printed beside the Check.
        powered: whether the runs met the finding's power condition.
        why_not: why the power condition failed or nothing could be measured (the "not tested" reason).
        label: which seed or run set this is (e.g. ``"seed 1"``; empty for a chapter's one run set).
    """

    score: float | None
    measured: str
    powered: bool = True
    why_not: str = ""
    label: str = ""


@dataclass(frozen=True)
class Verdict:
    """A finding judged on its evidence: ``verdict`` (one of ``VERDICTS``) and ``reason`` (why it is not tested, or
    what leaves it undecided; empty otherwise)."""

    finding: Finding
    verdict: str
    evidence: tuple[Evidence, ...]
    reason: str = ""

    @property
    def text(self) -> str:
        """The verdict as the prose quotes it, a predicate that follows the finding ("that X ..."): "holds", "does not
        hold", "is not tested at this profile (<reason>)" or "is undecided (<reason>)"."""
        if self.verdict == NOT_TESTED:
            return f"is not tested at this profile ({self.reason})"
        return f"is undecided ({self.reason})" if self.verdict == UNDECIDED else self.verdict

    @property
    def measured(self) -> str:
        """Every measurement, labelled where there are several."""
        return "; ".join(f"{e.label}: {e.measured}" if e.label else e.measured for e in self.evidence)


def judge_one(finding: Finding, e: Evidence) -> str:
    """The verdict one measurement gives: not tested without its power (or a score), else past the margin either way,
    or inside it."""
    if e.score is None or not e.powered:
        return NOT_TESTED
    if e.score > finding.margin:
        return HOLDS
    return DOES_NOT_HOLD if e.score < -finding.margin else UNDECIDED


def judge(finding: Finding, evidence: Sequence[Evidence]) -> Verdict:
    """``finding``'s verdict over ``evidence`` (one per seed): the verdict every seed gives, or "undecided" where they
    disagree."""
    if not evidence:
        raise ValueError(f"judge({finding.name}): no evidence")
    evidence = tuple(evidence)
    each = [judge_one(finding, e) for e in evidence]
    if len(set(each)) > 1:
        which = "seeds" if all(e.label.startswith("seed") for e in evidence) else "measurements"
        return Verdict(finding, UNDECIDED, evidence, f"the {which} disagree (" + _by_verdict(evidence, each) + ")")
    verdict = each[0]
    if verdict == NOT_TESTED:
        reasons = dict.fromkeys(e.why_not or "it could not be measured" for e in evidence)
        return Verdict(finding, verdict, evidence, "; ".join(reasons))
    if verdict == UNDECIDED:
        where = f"within the margin of {finding.margin:.3g}" if finding.margin else "at the threshold"
        return Verdict(finding, verdict, evidence, f"{where} ({_scores(evidence)})")
    return Verdict(finding, verdict, evidence)


def _by_verdict(evidence: tuple[Evidence, ...], each: list[str]) -> str:
    groups = {}
    for i, (e, verdict) in enumerate(zip(evidence, each)):
        groups.setdefault(verdict, []).append(e.label or f"run set {i}")
    return "; ".join(f"{verdict} on {', '.join(labels)}" for verdict, labels in groups.items()) + "; " + _scores(evidence)


def _scores(evidence: tuple[Evidence, ...]) -> str:
    scores = [e.score for e in evidence if e.score is not None]
    if len(scores) == 1:
        return f"score {scores[0]:.3g}"
    return f"scores {', '.join(f'{x:.3g}' for x in scores)}; spread {max(scores) - min(scores):.3g}" if scores else "no score"


def verdict_glue(verdicts: Sequence[Verdict]) -> dict[str, str]:
    """``verdict_<name>``: each verdict as the prose quotes it (``Verdict.text``)."""
    return {f"verdict_{v.finding.name}": v.text for v in verdicts}


@dataclass(frozen=True)
class Check:
    """One line of the Checks: what it says, what was measured, whether it passed, and whether it is asserted (a
    finding declared undecided, and every finding in a dry run, is printed, not asserted)."""

    claim: str
    measured: str
    passed: bool
    asserted: bool = True


class Checks:
    """A chapter's Checks: ``expect`` the mechanics, ``finding`` each finding against its declared verdict, ``report``.

    ``claims`` says whether the profile asserts the chapter's findings (``profiles.asserts_findings``; False at
    ``smoke``, where the runs are too small to show them): then ``finding`` and ``claim`` record nothing. In a dry run
    (``dryrun.enabled()``) the findings are judged on the synthetic runs and printed, not asserted; on the null fixture
    (``dryrun.null()``) they are asserted, and must fail.
    """

    def __init__(self, claims: bool):
        self.claims, self.results, self.dry = claims, [], dryrun.enabled() and not dryrun.null()

    def expect(self, claim: str, measured, passed: bool) -> None:
        """Record a claim that holds at every profile (the mechanics)."""
        self.results.append(Check(claim, str(measured), bool(passed)))

    def claim(self, claim: str, measured, passed) -> None:
        """Record a claim about the runs that only a profile asserting findings makes (e.g. "the parent generalised").

        ``measured`` and ``passed`` may be functions, called only then (their inputs may not exist at ``smoke``).
        """
        if self.claims:
            self.results.append(Check(claim, str(measured() if callable(measured) else measured),
                                      bool(passed() if callable(passed) else passed), asserted=not self.dry))

    def finding(self, verdict: Verdict, expected: str | None) -> None:
        """Record ``verdict`` against the verdict the profile declares; "undecided" declared is printed, not asserted,
        and so is every verdict where ``expected`` is None: the settings differ from the profile's (a parameter was
        turned), so the profile's declared verdicts do not apply to these runs."""
        if expected is not None and expected not in VERDICTS:
            raise ValueError(f"expected verdict of {verdict.finding.name} must be one of {VERDICTS}, got {expected!r}")
        if not self.claims:
            return
        line = f"{verdict.finding.claim} [{verdict.finding.measure}]: {verdict.text}"
        if expected is None:
            self.results.append(Check(f"{line} (settings differ from the profile's: nothing declared)", verdict.measured,
                                      True, False))
            return
        if expected == UNDECIDED:
            self.results.append(Check(f"{line} (declared undecided at this profile)", verdict.measured, True, False))
            return
        self.results.append(Check(f"{line} (declared: {expected})", verdict.measured, verdict.verdict == expected,
                                  asserted=not self.dry))

    def findings(self, verdicts: Sequence[Verdict], expected: dict[str, str] | None) -> None:
        """``finding`` for each of ``verdicts``; ``expected`` names every one's declared verdict (None: the settings
        differ from the profile's, and nothing is declared)."""
        for verdict in verdicts:
            self.finding(verdict, None if expected is None else expected[verdict.finding.name])

    def finite(self, histories: dict) -> None:
        """Every logged metric of every run (name -> History) is finite."""
        for name, history in histories.items():
            self.expect(f"{name}: every logged metric is finite", "finite" if history.is_finite() else "NaN or inf",
                        history.is_finite())

    def report(self) -> list[Check]:
        """Print every check with its measured value; raise AssertionError naming the failed ones."""
        for c in self.results:
            verdict = "PASS" if c.passed else "FAIL"
            if not c.asserted:
                verdict = f"DRY RUN ({verdict.lower()}, not asserted)" if self.dry else "NOT ASSERTED"
            print(f"{verdict}  {c.claim}  (measured: {c.measured})")
        if not self.claims:
            print("this profile asserts only the mechanics, not the chapter's findings")
        failed = [c for c in self.results if c.asserted and not c.passed]
        if failed:
            raise AssertionError("failed checks: " + "; ".join(f"{c.claim} (measured: {c.measured})" for c in failed))
        print("DRY RUN: the mechanics passed; the findings were not asserted" if self.dry else "all checks passed")
        return self.results


def judge_all(findings: Sequence[Finding], evidence: dict[str, Sequence[Evidence]]) -> list[Verdict]:
    """Every finding judged on its evidence (name -> one Evidence per seed)."""
    missing = [f.name for f in findings if f.name not in evidence]
    if missing:
        raise KeyError(f"no evidence for findings {missing}")
    return [judge(f, evidence[f.name]) for f in findings]
