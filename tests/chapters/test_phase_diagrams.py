"""The phase-diagram chapter's contract: settings per profile and their errors, the clear-phase rule, the findings'
verdicts on fixtures with the phenomena, without them and where nothing learns, the Checks and the glue."""
import math
import re
from pathlib import Path

import pytest
import torch

from grokutils.analysis.phases import phase
from grokutils.book import DOES_NOT_HOLD, HOLDS, NOT_TESTED, UNDECIDED
from grokutils.chapters import phase_diagrams as chapter
from grokutils.history import History
from grokutils.recipes import liu_toy_run

NOTEBOOK = Path(__file__).resolve().parents[2] / "book" / "phase_diagrams.ipynb"
BUDGET, GAP = 10_000, 1_000
LRS = (1e-4, 1e-3, 1e-2)
WDS = (0.0, 2.0, 4.0, 8.0)
LINE = [float(x) for x in range(10)]
SCRAMBLED = [3.0, 7.0, 0.0, 9.0, 1.0, 5.0, 8.0, 2.0, 6.0, 4.0]
STEPS = {"C": (1_000, 1_300), "G": (1_000, 4_000), "M": (1_000, None), "X": (None, None)}
"""Each phase's steps to 90% training and test accuracy in the fixtures (clear, at BUDGET and GAP)."""


def test_book_profile_is_every_other_of_their_learning_rates_at_their_quick_budget():
    s = chapter.settings("book")
    assert s.claims and s.findings == chapter.BOOK_FINDINGS and list(s.findings) == [f.name for f in chapter.FINDINGS]
    assert [round(math.log10(lr), 6) for lr in s.lrs] == [-4.0, -3.6, -3.2, -2.8, -2.4, -2.0]
    assert list(s.grid[s.lrs[0]]) == [float(wd) for wd in range(11)] and s.grid_seed == 58 and s.mode == "workers"
    cfg = s.grid[s.lrs[2]][3.0]
    assert (cfg.train.lr, cfg.train.weight_decay, cfg.train.embed_lr, cfg.train.embed_weight_decay) == \
        (s.lrs[2], 3.0, 1e-3, 0.0)
    assert cfg.train.steps == BUDGET and cfg.train.stop_at_val_acc == 0.9 and cfg.train.probes == ("embedding",)
    assert (cfg.task.seed, cfg.model.seed, cfg.model.template_seed, cfg.task.n_train) == (58, 58, 58, 45)
    assert cfg.train.log_steps()[:3] == [0, 10, 20]
    theory = s.theory[50]
    assert [c.task.seed for c in theory] == [0, 1, 2] and theory[0].train.batch_size == 45
    assert s.theory[45][0].train.batch_size is None and theory[0].train.steps == 5_000
    assert theory[0].train.lr == 1e-4 and theory[0].train.weight_decay == 0.0
    assert list(s.transformer) == [0.0, 0.3, 1.0, 3.0, 10.0]
    assert s.transformer[1.0].task.p == 31 and s.transformer[1.0].train.stop_at_val_acc == 0.9


def test_paper_profile_is_their_grid_and_budget():
    s = chapter.settings("paper")
    assert len(s.lrs) == 11 and s.grid[s.lrs[0]][0.0].train.steps == 100_000 and s.findings == chapter.SOURCES


def test_seed_moves_every_group():
    s = chapter.settings("book", seed=1)
    assert s.grid_seed == 59 and s.grid[s.lrs[0]][0.0].model.template_seed == 59
    assert [c.task.seed for c in s.theory[5]] == [1, 2, 3] and s.transformer[0.0].task.seed == 1


def test_a_turned_budget_declares_nothing():
    assert chapter.settings("book", steps=500).findings is None
    assert chapter.settings("book", steps=BUDGET).findings == chapter.BOOK_FINDINGS


@pytest.mark.parametrize("kwargs, match", [
    (dict(profile="huge"), "profile='huge'"),
    (dict(steps=5), r"steps=5 must be an integer in \[10, inf\]"),
    (dict(seed=-1), "seed=-1"),
    (dict(seed=2**31 - 10), "seed=2147483638"),  # the grid's seed 58 + seed would leave the one seed domain
    (dict(device="tpu"), "device='tpu'"),
])
def test_settings_reject_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chapter.settings(**{"profile": "book", **kwargs})


@pytest.mark.parametrize("fit, general, expected", [
    (1_000, 1_300, True), (1_000, 4_000, True), (1_000, 2_100, False), (1_000, 1_900, False),
    (1_000, None, True), (None, None, True), (1_000, 9_000, False), (8_500, None, False)])
def test_a_phase_is_clear_when_nearby_thresholds_and_budgets_agree(fit, general, expected):
    assert chapter.clear(fit, general, BUDGET, GAP) is expected


def _cell(code: str, rep=None, rqi_at=None) -> dict:
    """A grid cell's numbers: phase ``code`` (C, G, M, X for confusion) and its RQI where it generalised."""
    fit, general = STEPS[code]
    return {"fit": fit, "general": general, "phase": phase(fit, general, BUDGET, GAP),
            "clear": chapter.clear(fit, general, BUDGET, GAP), "rqi": torch.ones(3),
            "rqi_at_general": None if general is None else (1.0 if rqi_at is None else rqi_at),
            "final_rqi": 1.0 if general is not None else 0.3, "final_train": 0.0 if fit is None else 1.0,
            "final_val": 1.0 if general is not None else 0.1}


def _grid(rows: list[str], rqi_at: float = 1.0) -> dict:
    return {lr: {wd: _cell(code, rqi_at=rqi_at) for wd, code in zip(WDS, row)} for lr, row in zip(LRS, rows)}


def _theory(predicted: float, measured: float, train: float = 1.0) -> dict:
    one = {"ideal": 1.0, "ideal_test": 1.0, "predicted": predicted, "predicted_test": predicted, "measured": measured,
           "measured_test": measured, "final_train": train}
    return {size: [dict(one), dict(one)] for size in (10, 45)}


def _results(rows: list[str], rqi_at=1.0, predicted=0.9, measured=0.92, train=1.0) -> dict:
    grid = _grid(rows, rqi_at)
    transformer = {0.0: _cell("M"), 1.0: _cell("G")}
    return {"grid": grid, "theory": _theory(predicted, measured, train), "transformer": transformer,
            "examples": chapter.examples(grid), "finite": True, "loss_fell": True}


WITH = ["CCGM", "MMMX", "MMXX"]
"""Comprehension at the slow decoder, grokking between it and memorisation, memorisation at the fast decoders with
small weight decay, confusion at large weight decay."""
REVERSED = ["XXMM", "XMMM", "GGCC"]
"""The opposite corners: memorisation at the slow decoder, generalisation at the fast one, confusion at small weight
decay, grokking beside comprehension only."""
NO_GROKKING = ["CCCM", "MMMX", "MMXX"]
NOTHING = ["XXXX", "XXXX", "XXXX"]


def _verdicts(results, profile="paper") -> dict[str, str]:
    return {v.finding.name: v.verdict for v in chapter.judged(results, chapter.settings(profile))}


def test_every_finding_holds_with_the_phenomena():
    assert _verdicts(_results(WITH)) == dict.fromkeys(chapter.SOURCES, HOLDS)


def test_findings_do_not_hold_without_the_phenomena():
    verdicts = _verdicts(_results(REVERSED, rqi_at=0.4, predicted=0.3, measured=0.9))
    assert verdicts == dict(all_four_phases=HOLDS, fast_decoder_memorises=DOES_NOT_HOLD,
                            simple_decoder_confused=DOES_NOT_HOLD, grokking_between=DOES_NOT_HOLD,
                            structure_first=DOES_NOT_HOLD, theory_predicts=DOES_NOT_HOLD)
    missing = _verdicts(_results(NO_GROKKING))
    assert missing["all_four_phases"] == DOES_NOT_HOLD and missing["grokking_between"] == NOT_TESTED


def test_a_phase_with_only_unclear_cells_is_undecided():
    results = _results(NO_GROKKING)
    lr, wd = LRS[0], WDS[2]
    results["grid"][lr][wd] = dict(_cell("C"), general=2_100, phase="grokking", clear=False)
    assert _verdicts(results)["all_four_phases"] == UNDECIDED


def test_nothing_learns_tests_nothing():
    verdicts = _verdicts(_results(NOTHING, train=0.1))
    assert verdicts == dict.fromkeys(chapter.SOURCES, NOT_TESTED)


def test_check_asserts_the_declared_verdicts():
    s = chapter.settings("paper")
    chapter.check(_results(WITH), s)
    with pytest.raises(AssertionError, match="sandwiched"):
        chapter.check(_results(REVERSED), s)
    with pytest.raises(AssertionError, match="not tested"):
        chapter.check(_results(NOTHING, train=0.1), s)
    book = chapter.settings("book")  # declares grokking_between undecided: printed, not asserted
    checks = chapter.check(_results(["CCCM", "MMGX", "MMXX"]), book)
    assert not [c for c in checks if "sandwiched" in c.claim][0].asserted


def test_glue_has_every_number_the_prose_quotes():
    s = chapter.settings("paper")
    glued = chapter.glued(_results(WITH), s)
    assert glued["n_clear_grokking"] == "1"
    assert glued["example_grokking"] == ("learning rate 1.0e-04, weight decay 4 (90% of the training pairs at step "
                                         "1,000, of the test pairs at step 4,000)")
    assert glued["example_confusion"].endswith("(90% of the training pairs never, of the test pairs never)")
    assert glued["example_confusion"].startswith("learning rate 1.0e-03") and glued["verdict_theory_predicts"] == HOLDS
    assert glued["prediction_error"] == "0.020" and glued["transformer_phases"].startswith("weight decay 0: memor")
    nothing = chapter.glued(_results(NOTHING, train=0.1), s)
    assert nothing["example_grokking"] == "none in this grid"
    quoted = set(re.findall(r"\{glue:text\}`(\w+)`", NOTEBOOK.read_text()))
    assert quoted - set(nothing) <= {"profile", "wall_seconds"}  # book.start and book.finish glue those


def _toy_history(values: list[list[float]], train_acc, val_acc, n_train=45) -> History:
    """A toy run's History with its representation logged at each step (``values``: one list of 10 per step)."""
    cfg = liu_toy_run(n_train=n_train, seed=3, steps=100, n_logs=len(values))
    steps = torch.tensor(cfg.train.log_steps())
    metrics = {"train_loss": torch.linspace(1, 0.1, len(steps)).double(), "val_loss": torch.ones(len(steps)).double(),
               "train_acc": torch.tensor(train_acc, dtype=torch.float64),
               "val_acc": torch.tensor(val_acc, dtype=torch.float64),
               "weight_norm": torch.ones(len(steps)).double()}
    metrics.update({f"embed/{v}.0": torch.tensor([row[v] for row in values]).double() for v in range(10)})
    return History(cfg, steps, metrics, train_index=cfg.task.train_index(), final_state={}, wall_seconds=0.0,
                   device="cpu")


def test_cell_numbers_read_the_rqi_where_the_test_level_is_first_reached():
    h = _toy_history([SCRAMBLED, LINE, LINE], [0.2, 1.0, 1.0], [0.0, 0.5, 0.9])
    n = chapter.cell_numbers(h, budget=100, gap=10)
    assert (n["fit"], n["general"], n["phase"]) == (50, 100, "memorisation")  # 100 is the budget: not reached
    n = chapter.cell_numbers(h, budget=1_000, gap=10)
    assert n["phase"] == "grokking" and n["rqi_at_general"] == 1.0 and float(n["rqi"][0]) < 0.2


def test_theory_numbers_count_the_pairs_a_closed_parallelogram_reaches():
    perfect = chapter.theory_numbers(_toy_history([SCRAMBLED, LINE], [1.0, 1.0], [0.0, 1.0]))
    assert perfect["predicted"] == perfect["ideal"] and perfect["measured"] == 1.0
    scrambled = chapter.theory_numbers(_toy_history([LINE, SCRAMBLED], [1.0, 1.0], [0.0, 0.0]))
    assert scrambled["predicted"] < perfect["predicted"] and scrambled["measured"] == 45 / 55
