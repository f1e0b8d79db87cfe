"""grokutils.book.findings: a finding judged on its evidence with three verdicts and "undecided", and the Checks that
assert what a profile declares."""
import pytest

from grokutils.book import (DOES_NOT_HOLD, HOLDS, NOT_TESTED, UNDECIDED, Checks, Evidence, Finding, judge, judge_all,
                            verdict_glue)

RISES = Finding("rises", "the curve rises", "power2022grokking", "the rise, above 0", "the run fitted", margin=0.1)


def seeds(*scores, powered=True):
    return [Evidence(x, f"{x}", powered, "the run did not fit", f"seed {k}") for k, x in enumerate(scores)]


@pytest.mark.parametrize("scores, verdict", [
    ((0.5,), HOLDS), ((-0.5,), DOES_NOT_HOLD), ((0.05,), UNDECIDED), ((-0.1,), UNDECIDED),  # the margin is exclusive
    ((0.5, 0.3, 0.2), HOLDS), ((-0.5, -0.3), DOES_NOT_HOLD), ((0.5, -0.5), UNDECIDED), ((0.5, 0.05), UNDECIDED),
    ((None,), NOT_TESTED),
])
def test_a_verdict_needs_every_seed_past_the_margin(scores, verdict):
    assert judge(RISES, seeds(*scores)).verdict == verdict


def test_without_power_nothing_is_judged_either_way():
    for score in (0.5, -0.5, 0.0):
        v = judge(RISES, seeds(score, powered=False))
        assert v.verdict == NOT_TESTED and v.text == "is not tested at this profile (the run did not fit)"


def test_seeds_that_disagree_give_the_spread():
    v = judge(RISES, seeds(0.5, -0.5, 0.4))
    assert v.verdict == UNDECIDED and v.reason.startswith("the seeds disagree (holds on seed 0, seed 2; does not hold "
                                                          "on seed 1")
    assert "spread 1" in v.reason and v.measured == "seed 0: 0.5; seed 1: -0.5; seed 2: 0.4"
    mixed = judge(RISES, [*seeds(0.5), Evidence(0.5, "0.5", False, "the run did not fit", "seed 1")])
    assert mixed.verdict == UNDECIDED and "not tested on seed 1" in mixed.reason
    sizes = judge(RISES, [Evidence(0.5, "0.5", label="N = 648"), Evidence(-0.5, "-0.5", label="N = 2,793")])
    assert sizes.reason.startswith("the measurements disagree (holds on N = 648; does not hold on N = 2,793")


def test_inside_the_margin_says_so():
    v = judge(RISES, seeds(0.05, 0.02))
    assert v.text == "is undecided (within the margin of 0.1 (scores 0.05, 0.02; spread 0.03))"


def test_findings_are_checked_when_declared():
    with pytest.raises(ValueError, match="identifier"):
        Finding("two words", "c", "s", "m")
    with pytest.raises(ValueError, match="margin"):
        Finding("x", "c", "s", "m", margin=-1)
    with pytest.raises(ValueError, match="no evidence"):
        judge(RISES, [])
    with pytest.raises(KeyError, match="rises"):
        judge_all([RISES], {})


def test_checks_assert_the_declared_verdict_and_print_a_declared_undecided(capsys):
    verdicts = judge_all([RISES], {"rises": seeds(-0.5)})
    assert verdict_glue(verdicts) == {"verdict_rises": "does not hold"}
    checks = Checks(claims=True)
    checks.findings(verdicts, {"rises": DOES_NOT_HOLD})
    checks.report()
    wrong = Checks(claims=True)
    wrong.findings(verdicts, {"rises": HOLDS})
    with pytest.raises(AssertionError, match=r"the curve rises \[the rise, above 0\]: does not hold \(declared: holds\)"):
        wrong.report()
    undecided = Checks(claims=True)
    undecided.findings(verdicts, {"rises": UNDECIDED})
    assert [c.asserted for c in undecided.report()] == [False]
    assert "NOT ASSERTED  the curve rises" in capsys.readouterr().out
    with pytest.raises(ValueError, match="expected verdict"):
        Checks(claims=True).finding(verdicts[0], "maybe")


def test_a_profile_without_claims_records_no_finding(capsys):
    checks = Checks(claims=False)
    checks.findings(judge_all([RISES], {"rises": seeds(-0.5)}), {"rises": HOLDS})
    assert checks.report() == [] and "asserts only the mechanics" in capsys.readouterr().out


def test_settings_that_differ_from_the_profile_declare_nothing(capsys):
    """A reader who turns a parameter gets every verdict printed, none asserted: the profile's declared verdicts are
    for the profile's own runs."""
    checks = Checks(claims=True)
    checks.findings(judge_all([RISES], {"rises": seeds(-0.5)}), None)
    assert [(c.passed, c.asserted) for c in checks.report()] == [(True, False)]
    assert "does not hold (settings differ from the profile's: nothing declared)" in capsys.readouterr().out
