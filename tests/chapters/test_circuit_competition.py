"""The circuit-competition chapter (grokutils.chapters.circuit_competition): settings, errors, the order of the runs,
measure, the Checks on fixtures with and without the sources' findings, glue."""
import pytest

from grokutils import book
from grokutils.chapters import circuit_competition as chapter
from grokutils.sweep import check_batchable
from grokutils.tasks import ModularConfig, MultiTaskConfig, RandomLabelConfig


def test_book_settings_are_the_issue_s_four_experiments():
    s = chapter.settings("book")
    assert s.claims and s.p == 31 and s.mode == "workers_by_size"
    cap = s.capacity[8][0]
    assert isinstance(cap.task, RandomLabelConfig) and cap.task.symmetric and cap.model.d_model == 8
    assert (cap.model.d_head, cap.model.d_mlp, cap.model.n_heads, cap.train.stop_at_val_acc) == (2, 32, 4, None)
    cell = s.grid[32][600][0]
    assert [c.model.seed for c in s.grid[32][600]] == [0, 1, 2] and len(s.capacity[8]) == len(s.multitask[16][1.0]) == 1
    assert isinstance(cell.task, ModularConfig) and cell.task.n_train == 600 and cell.train.stop_at_val_acc == 0.99
    assert (cell.train.optimizer, cell.train.lr, cell.train.weight_decay, cell.train.batch_size) == ("adamw", 1e-3, 1.0, None)
    assert all(s.grid[w][n][0].task.n_train == n for w in s.grid for n in s.grid[w])
    assert s.parent.init_from is None and s.parent.train.stop_at_val_acc is None and s.parent.task.n_train == 800
    kids = [cfgs[0] for cfgs in s.ungrok.values()]
    assert [k.task.n_train for k in kids] == list(s.ungrok) and all(k.init_from == s.parent for k in kids)
    assert all(k.task.held_out_from == 800 and k.task.seed == s.parent.task.seed for k in kids)
    check_batchable(kids)  # the subsets train as one batch
    mt = s.multitask[16]
    assert list(mt) == list(chapter.RATIOS) and all(isinstance(c[0].task, MultiTaskConfig) for c in mt.values())
    assert [c[0].task.n_mem for c in mt.values()] == [0, 840, 1680] and mt[2.0][0].task.n_add == 840
    assert mt[1.0][0].task.p == 41 and list(s.multitask) == [16, 32]  # 2:1 fits in the 1,681 pairs mod 41
    assert list(s.grid) == [16, 32, 128] and list(s.grid[128]) == [400, 500, 600, 800]  # issue 32's cuts
    assert cell.train.steps == 2 * s.grid_early == 8_000 and kids[0].train.steps == 2 * s.ungrok_early == 6_000


def test_paper_runs_the_sources_settings():
    s = chapter.settings("paper")
    assert s.p == 113 and list(s.grid) == [32, 36, 40, 44, 48, 56, 64] and len(s.grid[32]) == 11
    assert list(s.ungrok) == [390, 487, 608, 760, 949, 1185, 1494] and s.parent.model.d_model == 64
    assert s.multitask[64][1.0][0].task.n_add == 3000 and len(s.grid[32][2000]) == 3 and s.findings == chapter.SOURCES


@pytest.mark.parametrize("profile", ["smoke", "book", "paper"])
def test_the_parent_is_a_cell_of_the_grid_trained_its_whole_budget(profile):
    s = chapter.settings(profile)
    cell = s.grid[s.parent.model.d_model][s.parent.task.n_train][0]
    assert s.parent == cell.replace(stop_at_val_acc=None)
    assert max(s.ungrok) < s.parent.task.n_train


def test_run_all_trains_the_parent_first_then_everything_else_once():
    s = chapter.settings("smoke")
    calls = []
    got = book.run_all(s, lambda cfgs, **kw: calls.append(list(cfgs)) or [f"h{len(calls)}-{i}" for i in range(len(cfgs))])
    assert calls[0] == [s.parent] and len(calls) == 2
    assert calls[1] == [c for label, c in s.runs().items() if label != "parent"] and set(got) == set(s.runs())


SIZES = (400, 500, 600, 700, 800)
UNGROK = (100, 138, 191, 265, 366, 506, 700)


def _finals(d_crit, low=0.3):
    """A width's final test accuracies over ``SIZES``: 100% from ``d_crit`` on (None: nowhere), ``low`` below."""
    return {n: 1.0 if d_crit is not None and n >= d_crit else low for n in SIZES}


def _seed(capacity=(100, 400, 800, 860), d_crit=(600, 500, 500), threshold=506, ungrok_low=0.2, parent=1.0,
          multitask=((0.99, 0.5, 0.45), (1.0, 0.7, 0.65)), mt_train=((1.0, 1.0, 1.0), (1.0, 1.0, 1.0)), finals=None,
          mirror=0.5, widths=(16, 32, 64)):
    """One seed's numbers (``chapter.seed_numbers``) with every finding of the sources: ``SOURCES``. The ungrokking runs
    end at 100% from ``threshold`` on and at ``ungrok_low`` on the smallest subset; ``mirror``: the share of held-out
    addition pairs whose mirror was trained (the 1:1 mixture reaches 70% at width 32: more than commutativity)."""
    ungrok = {n: 1.0 if n >= threshold else ungrok_low if n == UNGROK[0] else 0.6 for n in UNGROK}
    return {"capacity": dict(zip((4, 8, 12, 16), capacity)),
            "finals": finals or {w: _finals(d) for w, d in zip(widths, d_crit)}, "ungrok": ungrok, "parent": parent,
            "multitask": {w: dict(zip(chapter.RATIOS, accs)) for w, accs in zip(widths, multitask)},
            "multitask_train": {w: dict(zip(chapter.RATIOS, accs)) for w, accs in zip(widths, mt_train)},
            "mirror": mirror}


def _results(*seeds, **kwargs):
    """Results (as ``measure`` returns them) of seeds ``seeds`` (each from ``_seed``), or of one ``_seed(**kwargs)``."""
    return {"by_seed": list(seeds) or [_seed(**kwargs)], "finite": True}


def _with(findings):
    s = chapter.settings("book")
    return type(s)(**{**vars(s), "findings": findings})


def _verdicts(r, s):
    return {v.finding.name: v.verdict for v in chapter.judged(r, s)}


DECLARED = {k for k, v in chapter.SOURCES.items() if v != "undecided"}
"""The findings ``SOURCES`` declares (the mirror reading of the mixtures is ours and not declared there)."""


def _departures(verdicts: dict) -> set:
    """The declared findings whose verdict is not the sources'."""
    return {k for k in DECLARED if verdicts[k] != chapter.SOURCES[k]}


def test_the_sources_findings_hold_on_a_fixture_that_has_them():
    s = _with(chapter.SOURCES)
    verdicts = _verdicts(_results(), s)
    assert not _departures(verdicts) and verdicts["mixture_at_mirror_share"] == "does not hold"
    chapter.check(_results(), s)


BOOK_WIDTHS = (16, 32, 128)
BOOK_LIKE = dict(d_crit=(600, 500, 500), widths=BOOK_WIDTHS, threshold=265, ungrok_low=0.23, mirror=0.501,
                 multitask=((0.983, 0.275, 0.046), (1.0, 0.504, 0.501)), mt_train=((1.0, 0.804, 0.704), (1.0, 1.0, 1.0)))
"""One seed shaped like issue 32's book run at seed 0: D_crit 600 / 500 / 500 for widths 16 / 32 / 128, the
ungrokking threshold 265 (more than 1.5x below 500), the 2:1 mixture far below the 1:1 one at width 16, both at or
below the mirror share."""


def _grid_seed(d_crit, threshold=265):
    """A grid seed only (the capacity and multi-task runs have one seed at book)."""
    return {k: v for k, v in _seed(d_crit=d_crit, threshold=threshold, widths=BOOK_WIDTHS).items()
            if k in ("finals", "ungrok", "parent")}


def test_the_book_verdicts_hold_on_a_fixture_like_the_book_run():
    # Like the book run's three grid seeds: seed 0 as BOOK_LIKE, seed 1 with width 128 needing more than the others
    # (600 against 500), seed 2 as seed 0: the seeds disagree on whether D_crit falls, or even does not increase.
    s = chapter.settings("book")
    book_like = _results(_seed(**BOOK_LIKE), _grid_seed((500, 500, 600)), _grid_seed((600, 500, 500)))
    verdicts = _verdicts(book_like, s)
    assert {k: v for k, v in verdicts.items() if chapter.BOOK_FINDINGS[k] != "undecided"} == {
        k: v for k, v in chapter.BOOK_FINDINGS.items() if v != "undecided"}
    assert verdicts["d_crit_falls"] == verdicts["d_crit_not_increasing"] == "undecided"
    assert verdicts["mixture_at_mirror_share"] == "holds"
    chapter.check(book_like, s)
    with pytest.raises(AssertionError, match="failed checks"):
        chapter.check(_results(), s)


def test_a_cell_at_the_level_leaves_the_grid_findings_undecided_either_side_of_it():
    # Issue 27: width 16 at 800 examples ended above 90% on one machine and at 88.8% on another, and the verdict
    # flipped. Within the margin both readings are "undecided"; that D_crit does not increase holds either way.
    s = _with(chapter.SOURCES)
    for acc in (0.888, 0.905):
        finals = {16: {**_finals(600), 800: acc}, 32: _finals(500), 64: _finals(500)}
        v = {x.finding.name: x for x in chapter.judged(_results(finals=finals), s)}
        assert v["d_crit_within_grid"].verdict == "undecided" and v["d_crit_not_increasing"].verdict == "holds"
        assert "within the margin" in v["d_crit_within_grid"].text


def test_the_grid_s_findings_are_judged_on_each_grid_seed_and_the_others_on_theirs():
    s = _with(chapter.SOURCES)
    grid_only = {k: v for k, v in _seed().items() if k in ("finals", "ungrok", "parent")}
    evidence = chapter.evidence(_results(_seed(), grid_only, grid_only), s)
    assert len(evidence["d_crit_not_increasing"]) == len(evidence["ungrok_at_d_crit"]) == 3
    assert len(evidence["capacity_grows"]) == len(evidence["ratio_matters_little"]) == len(evidence["ungrokking"]) == 1
    assert [e.label for e in evidence["d_crit_within_grid"]] == ["seed 0", "seed 1", "seed 2"]


def test_seeds_that_disagree_leave_a_finding_undecided():
    s = _with(chapter.SOURCES)
    r = _results(_seed(), _seed(d_crit=(500, 500, 700)))
    v = {x.finding.name: x for x in chapter.judged(r, s)}["d_crit_not_increasing"]
    assert v.verdict == "undecided" and "the seeds disagree" in v.reason and "seed 0" in v.reason
    with pytest.raises(AssertionError, match="failed checks"):
        chapter.check(r, s)


@pytest.mark.parametrize("finding, broken", [
    ("capacity_grows", dict(capacity=(400, 420, 430, 440))),  # flat
    ("capacity_grows", dict(capacity=(100, 800, 400, 860))),  # falls on the way
    ("d_crit_within_grid", dict(d_crit=(None, 500, 500))),
    ("d_crit_falls", dict(d_crit=(500, 500, 500))),  # flat: does not increase, does not fall
    ("ungrokking", dict(ungrok_low=0.95)),  # nothing lost on the smallest subset
    ("memorisation_hinders", dict(multitask=((0.99, 0.95, 0.9), (1.0, 0.7, 0.65)))),
    ("ratio_matters_little", dict(multitask=((0.99, 0.5, 0.45), (1.0, 0.7, 0.45)))),  # at the larger width
])
def test_each_check_fails_on_a_fixture_without_its_finding(finding, broken):
    s = _with(chapter.SOURCES)
    verdicts = _verdicts(_results(**broken), s)
    assert _departures(verdicts) == {finding}
    assert verdicts[finding] == "does not hold"
    with pytest.raises(AssertionError, match="failed checks"):
        chapter.check(_results(**broken), s)


@pytest.mark.parametrize("broken, changed", [
    (dict(d_crit=(None, None, None)), {"d_crit_within_grid", "d_crit_not_increasing", "d_crit_falls",
                                       "ungrok_at_d_crit", "ungrok_below_d_crit"}),  # nothing generalises: not tested
    (dict(d_crit=(500, 600, None)), {"d_crit_within_grid", "d_crit_not_increasing", "d_crit_falls"}),
    (dict(d_crit=(500, 500, 700)), {"d_crit_not_increasing", "d_crit_falls"}),
    (dict(threshold=191), {"ungrok_at_d_crit", "ungrok_below_d_crit"}),  # the parent's width (32) has D_crit 500
    (dict(threshold=10_000), {"ungrokking", "ungrok_at_d_crit"}),  # not even the largest subset keeps it
    (dict(multitask=((0.99, 0.5, 0.1), (1.0, 0.7, 0.65)), mt_train=((1, 1, 0.8), (1, 1, 1))),
     {"ratio_matters_little", "more_labels_hurt_smallest"}),
    (dict(multitask=((0.99, 0.5, 0.1), (1.0, 0.7, 0.65))), {"ratio_matters_little"}),  # fits 2:1, so not for want of room
])
def test_the_paired_findings_move_together_and_only_where_their_fixture_says(broken, changed):
    verdicts = _verdicts(_results(**broken), _with(chapter.SOURCES))
    assert _departures(verdicts) == changed


def test_a_parent_that_never_generalised_tests_nothing_about_ungrokking():
    s = _with(chapter.SOURCES)
    verdicts = _verdicts(_results(parent=0.3), s)
    assert {k for k, v in verdicts.items() if v == "not tested"} == {"ungrokking", "ungrok_at_d_crit",
                                                                      "ungrok_below_d_crit"}
    with pytest.raises(AssertionError, match="the parent ended at 30.0%"):
        chapter.check(_results(parent=0.3), s)


def test_smoke_asserts_only_the_mechanics():
    s = chapter.settings("smoke")
    chapter.check(_results(capacity=(1, 1)), s)
    with pytest.raises(AssertionError, match="finite"):
        chapter.check(_results() | {"finite": False}, s)


def test_measure_reads_zones_critical_sizes_and_accuracies_off_the_runs(make_history):
    s = chapter.settings("smoke")
    steps = [0, 10, 20, 40]
    grok = dict(train_acc=[0, 1, 1, 1], val_acc=[0, 0, .5, 1])
    memo = dict(train_acc=[0, 1, 1, 1], val_acc=[0, 0, .05, .05])
    histories = {}
    for label, cfg in s.runs().items():
        kind = grok if ("90 examples" in label or label.startswith("ungrok, 60") or label == "parent"
                        or "addition alone" in label) else memo
        histories[label] = make_history(steps, config=cfg, **kind)
    r = chapter.measure(histories, s)
    assert r["d_crit"] == {8: 90, 16: 90} and r["grid"][8][60]["zone"] == "memorisation"
    assert r["grid"][16][90] == {"final": 1.0, "best": 1.0, "zone": "grokking", "delay": 30}
    assert r["ungrok"] == {20: 0.05, 60: 1.0} and r["ungrok_threshold"] == 60 and r["parent"] == 1.0
    assert r["multitask"][8] == {0.0: 1.0, 1.0: 0.05, 2.0: 0.05}
    assert r["capacity"] == {4: 108, 8: 108} and r["n_capacity"] == 108 and len(r["by_seed"]) == 1
    assert r["by_seed"][0]["finals"] == {8: {60: 0.05, 90: 1.0}, 16: {60: 0.05, 90: 1.0}}
    glued = chapter.glued(r, s)
    assert glued["d_crit_by_width"] == "width 8: 90, width 16: 90" and glued["ungrok_threshold"] == "60"
    assert glued["verdict_ungrokking"] == "holds" and glued["zone_counts"] == "grokking 2, memorisation 2"


def test_turned_grid_seeds_declare_nothing():
    assert chapter.settings("book").findings == chapter.BOOK_FINDINGS
    s = chapter.settings("book", grid_seeds=5)
    assert s.findings is None and all(len(runs) == 5 for cells in s.grid.values() for runs in cells.values())


@pytest.mark.parametrize("multitask, mirror, verdict", [
    (((0.99, 0.51, 0.45), (1.0, 0.5, 0.4)), 0.5, "holds"),          # at the mirror share at both widths
    (((0.99, 0.51, 0.45), (1.0, 0.7, 0.65)), 0.5, "does not hold"),  # width 32 answers more than commutativity
    (((0.99, 0.2, 0.1), (1.0, 0.5, 0.4)), 0.5, "holds"),             # width 16 answers less: nothing beyond it
    (((0.99, 0.55, 0.45), (1.0, 0.5, 0.4)), 0.5, "undecided"),       # 5 points above: inside the margin
    (((0.5, 0.5, 0.45), (1.0, 0.5, 0.4)), 0.5, "not tested"),        # addition alone did not generalise
])
def test_the_mixture_s_mirror_reading_fails_above_the_share_and_needs_addition_alone_to_generalise(
        multitask, mirror, verdict):
    # Issue 32: the 1:1 runs sat at 50.3-50.4% against a mirror share of 50.1%: commutativity alone. A mixture that
    # answers more than the mirrored pairs has learned more than that; one that answers fewer has not.
    s = _with(chapter.SOURCES)
    assert _verdicts(_results(multitask=multitask, mirror=mirror), s)["mixture_at_mirror_share"] == verdict


@pytest.mark.parametrize("early, full, closed", [
    ((191, 600), (265, 500), True),    # the threshold rose and D_crit fell
    ((191, 600), (191, 500), True),    # D_crit fell alone
    ((191, 600), (191, 600), False),   # neither moved
    ((191, None), (191, 700), True),   # D_crit came into the grid
    ((265, 500), (191, 600), False),   # both moved apart
    ((191, 500), (265, 800), False),   # the threshold rose, but D_crit rose more: the ratio grew from 2.6 to 3.0
])
def test_the_budget_reading_says_whether_twice_the_budget_closed_the_gap(early, full, closed):
    text = chapter.budget_reading(early[0], full[0], early[1], full[1])
    assert ("part of it was the budget's" in text) is closed and ("is not the budget's" in text) is not closed


def test_measure_reads_the_grid_and_the_ungrokking_runs_at_the_shorter_budget_too(make_history):
    s = chapter.settings("smoke")  # grid budget 40, read early at 20; ungrokking 30, early 15
    steps = [0, 10, 20, 40]
    histories = {}
    for label, cfg in s.runs().items():
        late = "grid" in label and "60 examples" in label  # generalises after the early reading
        val = [0, 0, .05, 1] if late else [0, .5, 1, 1] if "examples" in label or label == "parent" else [0, 0, 0, 0]
        histories[label] = make_history(steps if "ungrok" not in label else [0, 10, 15, 30], config=cfg,
                                        train_acc=[0, 1, 1, 1], val_acc=val)
    r = chapter.measure(histories, s)
    assert r["d_crit"] == {8: 60, 16: 60} and r["d_crit_early"] == {8: 90, 16: 90}
    assert r["grid_early"][8] == {60: 0.05, 90: 1.0} and r["ungrok_early"] == {20: 1.0, 60: 1.0}
    assert 0 < r["mirror"][1.0] < 1 and r["mirror"][0.0] == r["mirror"][1.0]  # one addition split per seed
    glued = chapter.glued(r, s)
    nearest = min(s.example("grid").train.log_steps(), key=lambda x: abs(x - 20))
    assert glued["d_crit_early_by_width"] == "width 8: 90, width 16: 90" and glued["grid_early_logged"] == str(nearest)
    assert glued["budget_reading"].startswith("with twice the budget the ungrokking threshold stayed at 20 and D_crit "
                                              "fell to 60")
