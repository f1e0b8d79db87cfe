"""The circuit-competition chapter (grokutils.chapters.circuit_competition): settings, errors, the order of the runs,
measure, the Checks on fixtures with and without the sources' findings, glue."""
import pytest

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
    assert mt[1.0][0].task.p == 41 and list(s.multitask) == [16, 24, 32]  # 2:1 fits in the 1,681 pairs mod 41


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
    got = chapter.run_all(s, lambda cfgs, **kw: calls.append(list(cfgs)) or [f"h{len(calls)}-{i}" for i in range(len(cfgs))])
    assert calls[0] == [s.parent] and len(calls) == 2
    assert calls[1] == [c for label, c in s.runs().items() if label != "parent"] and set(got) == set(s.runs())


def _results(capacity=(100, 400, 800, 860), d_crit=(600, 500, 500), ungrok=(0.2, 0.6, 0.95, 1.0), threshold=500,
             multitask=((0.99, 0.5, 0.45), (1.0, 0.7, 0.65)), mt_train=((1.0, 1.0, 1.0), (1.0, 1.0, 1.0)), parent=1.0):
    """Results with every finding of the sources: ``SOURCES``."""
    widths = (16, 32, 64)
    return {"capacity": dict(zip((4, 8, 12, 16), capacity)), "n_capacity": 864,
            "grid": {w: {n: {"final": 1.0, "best": 1.0, "zone": "grokking", "delay": 100} for n in (300, 800)} for w in widths},
            "d_crit": dict(zip(widths, d_crit)), "parent": parent,
            "ungrok": dict(zip((100, 200, 400, 700), ungrok)), "ungrok_threshold": threshold,
            "multitask": {w: dict(zip(chapter.RATIOS, accs)) for w, accs in zip(widths, multitask)},
            "multitask_train": {w: dict(zip(chapter.RATIOS, accs)) for w, accs in zip(widths, mt_train)}, "finite": True}


def _with(findings):
    s = chapter.settings("book")
    return type(s)(**{**vars(s), "findings": findings})


def test_the_sources_findings_hold_on_a_fixture_that_has_them():
    s = _with(chapter.SOURCES)
    assert chapter.verdicts(_results(), s) == chapter.SOURCES
    chapter.check(_results(), s)


BOOK_LIKE = dict(d_crit=(None, 600, 600), threshold=191, multitask=((0.98, 0.28, 0.04), (1.0, 0.5, 0.41)),
                 mt_train=((1.0, 0.81, 0.7), (1.0, 1.0, 0.96)))
"""Results shaped like the book run's: width 16 without a critical size, the ungrokking threshold a third of D_crit,
the 2:1 mixture far below the 1:1 one at width 16."""


def test_the_book_findings_hold_on_a_fixture_like_the_book_run():
    s = chapter.settings("book")
    assert chapter.verdicts(_results(**BOOK_LIKE), s) == chapter.BOOK_FINDINGS
    chapter.check(_results(**BOOK_LIKE), s)
    with pytest.raises(AssertionError, match="failed checks"):
        chapter.check(_results(), s)


@pytest.mark.parametrize("finding, broken", [
    ("capacity_grows", dict(capacity=(400, 420, 430, 440))),  # flat
    ("capacity_grows", dict(capacity=(100, 800, 400, 860))),  # falls on the way
    ("d_crit_within_grid", dict(d_crit=(None, 500, 500))),
    ("d_crit_not_increasing", dict(d_crit=(500, 500, 700))),
    ("ungrokking", dict(ungrok=(0.95, 0.97, 0.99, 1.0))),  # nothing lost on the smallest subset
    ("ungrokking", dict(ungrok=(0.2, 0.3, 0.4, 0.5))),  # not even the largest keeps it
    ("memorisation_hinders", dict(multitask=((0.99, 0.95, 0.9), (1.0, 0.7, 0.65)))),
    ("ratio_matters_little", dict(multitask=((0.99, 0.5, 0.45), (1.0, 0.7, 0.45)))),  # at the larger width
])
def test_each_check_fails_on_a_fixture_without_its_finding(finding, broken):
    s = _with(chapter.SOURCES)
    verdicts = chapter.verdicts(_results(**broken), s)
    assert {k for k, v in verdicts.items() if v != chapter.SOURCES[k]} == {finding}
    with pytest.raises(AssertionError, match="failed checks"):
        chapter.check(_results(**broken), s)


@pytest.mark.parametrize("broken, changed", [
    (dict(d_crit=(None, None, None)), {"d_crit_within_grid", "d_crit_not_increasing", "ungrok_at_d_crit"}),  # vacuous
    (dict(d_crit=(500, 600, None)), {"d_crit_within_grid", "d_crit_not_increasing"}),
    (dict(threshold=200), {"ungrok_at_d_crit", "ungrok_below_d_crit"}),  # the parent's width (32) has D_crit 500
    (dict(threshold=None), {"ungrok_at_d_crit"}),
    (dict(multitask=((0.99, 0.5, 0.1), (1.0, 0.7, 0.65)), mt_train=((1, 1, 0.8), (1, 1, 1))),
     {"ratio_matters_little", "more_labels_hurt_smallest"}),
    (dict(multitask=((0.99, 0.5, 0.1), (1.0, 0.7, 0.65))), {"ratio_matters_little"}),  # fits 2:1, so not for want of room
])
def test_the_paired_findings_move_together_and_only_where_their_fixture_says(broken, changed):
    verdicts = chapter.verdicts(_results(**broken), _with(chapter.SOURCES))
    assert {k for k, v in verdicts.items() if v != chapter.SOURCES[k]} == changed


def test_a_finding_the_profile_negates_fails_where_it_holds():
    s = _with({**chapter.SOURCES, "ungrok_at_d_crit": False, "ungrok_below_d_crit": True})
    chapter.check(_results(threshold=200), s)
    with pytest.raises(AssertionError, match="NOT: the ungrokking threshold"):
        chapter.check(_results(), s)


def test_a_parent_that_never_generalised_fails_the_checks():
    s = _with(chapter.SOURCES)
    with pytest.raises(AssertionError, match="the parent generalised"):
        chapter.check(_results(parent=0.3), s)


def test_smoke_asserts_only_the_mechanics():
    s = chapter.settings("smoke")
    chapter.check(_results(capacity=(1, 1), d_crit=(None, None)) | {"capacity": {4: 1, 8: 1}}, s)
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
    assert r["capacity"] == {4: 108, 8: 108} and r["n_capacity"] == 108
    glued = chapter.glued(r, s)
    assert glued["d_crit_by_width"] == "width 8: 90, width 16: 90" and glued["ungrok_threshold"] == "60"
    assert glued["verdict_ungrokking"] == "holds" and glued["zone_counts"] == "grokking 2, memorisation 2"
