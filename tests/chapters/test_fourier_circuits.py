"""The chapter book/fourier_circuits.ipynb: its settings per profile, their errors, its numbers, its findings (each
judged on a fixture with it, one without it and one in which nothing learns), its Checks and its glue."""
import dataclasses
import inspect
import json
import math
import re
from pathlib import Path

import pytest
import torch

from grokutils import book, published
from grokutils.analysis import fourier
from grokutils.book import DOES_NOT_HOLD, HOLDS, NOT_TESTED, UNDECIDED
from grokutils.chapters import fourier_circuits as chapter
from grokutils.recipes import nanda_run
from grokutils.train import train

NOTEBOOK = Path(__file__).resolve().parents[2] / "book" / "fourier_circuits.ipynb"


def test_book_profile_is_the_measured_setting():
    s = chapter.settings("book")
    assert s.run == nanda_run(113, 0.3, 18_000, log_every=10, seed=0, checkpoint_every=100)
    task, model, t = s.run.task, s.run.model, s.run.train
    assert (task.op, task.p, task.frac_train, task.n_train) == ("add", 113, 0.3, 3830)
    assert (model.n_layers, model.d_model, model.n_heads, model.d_head, model.d_mlp) == (1, 128, 4, 32, 512)
    assert (model.act_fn, model.normalization, model.use_attn_bias, model.use_unembed_bias) == ("relu", None, False, False)
    assert (t.optimizer, t.lr, t.weight_decay, t.betas, t.warmup_steps, t.batch_size, t.loss, t.adam_eps) == (
        "adamw", 1e-3, 1.0, (0.9, 0.98), 10, None, "cross_entropy_f64", 1e-8)
    assert (t.steps, t.checkpoint_every, t.n_logs, t.log_spacing) == (18_000, 100, 1801, "linear")
    assert s.claims and s.min_test_acc == 0.99 and s.n_snapshots == 8 and s.findings == chapter.BOOK_FINDINGS
    assert s.data_files == (published.PUBLISHED_FILE,)
    assert s.describe()[0] == "task: a + b mod 113, 3,830 of 12,769 pairs for training"
    assert s.seeds == [0] and s.seed_runs == ()


def test_book_spike_controls_are_the_run_in_float32_with_and_without_a_larger_eps():
    s = chapter.settings("book")
    assert list(s.controls) == list(chapter.CONTROLS) and s.control_steps == 3000
    window = nanda_run(113, 0.3, 3000, log_every=10, seed=0).replace(loss="cross_entropy")
    assert s.controls[chapter.CONTROLS[0]] == window
    assert s.controls[chapter.CONTROLS[1]] == window.replace(adam_eps=1e-5)
    assert all(c.train.checkpoint_every is None and c.model == s.run.model for c in s.controls.values())
    assert chapter.settings("book", steps=1000).control_steps == 1000  # never longer than the run


def test_paper_profile_is_the_mainline_run_over_three_seeds():
    s, book = chapter.settings("paper"), chapter.settings("book")
    assert s.run.train.steps == chapter.PAPER["epochs"] and s.run.train.n_logs == 4001
    assert s.run.model == book.run.model and s.run.task == book.run.task and s.claims
    assert s.seeds == [0, 1, 2] and s.control_steps == 40_000 and s.findings == chapter.SOURCES
    assert [(r.task.seed, r.model.seed, r.train.seed) for r in s.seed_runs] == [(1, 1, 1), (2, 2, 2)]
    assert chapter.settings("paper", seed=5, n_seeds=1).seeds == [5]
    assert chapter.settings("book", n_seeds=3).seeds == [0, 1, 2]


def test_smoke_profile_and_parameters():
    s = chapter.settings("smoke", seed=3, frac_train=0.5, steps=60, device="cpu")
    assert (s.p, s.run.task.seed, s.run.model.seed, s.run.task.frac_train) == (23, 3, 3, 0.5)
    assert (s.run.train.steps, s.run.train.checkpoint_every, s.device, s.seed) == (60, 30, "cpu", 3)
    assert not s.claims and s.n_snapshots == 4 and s.findings is None  # frac_train turned: nothing declared
    short = chapter.settings("smoke", steps=30)  # one checkpoint interval: 2 checkpoints, metrics every 10 epochs
    assert short.run.train.n_logs == 4 and short.run.train.log_steps() == [0, 10, 20, 30]
    assert len(range(0, 31, short.run.train.checkpoint_every)) == 2


def test_notebook_parameters_are_the_settings_parameters():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    params = next(c for c in cells if "parameters" in c["metadata"].get("tags", []))
    names = [line.split("=")[0].strip() for line in "".join(params["source"]).splitlines() if line.strip()]
    assert names == list(inspect.signature(chapter.settings).parameters)


@pytest.mark.parametrize("kwargs, message", [
    (dict(profile="fast"), "profile='fast'"),
    (dict(seed="abc"), "seed='abc'"),
    (dict(seed=1.0), "seed=1.0"),
    (dict(seed=True), "seed=True"),
    (dict(seed=-1), "seed=-1"),
    (dict(frac_train="0.3"), "frac_train='0.3'"),
    (dict(frac_train=0.0), "frac_train=0.0"),
    (dict(frac_train=1), "frac_train=1"),
    (dict(frac_train=math.nan), "frac_train=nan"),
    (dict(frac_train=math.inf), "frac_train=inf"),
    (dict(frac_train=0.001), r"frac_train=0.001 gives 0 of 529 pairs for training"),
    (dict(steps=1e2), "steps=100.0"),
    (dict(steps="300"), "steps='300'"),
    (dict(steps=0), "steps=0"),
    (dict(steps=math.nan), "steps=nan"),
    (dict(steps=29), r"steps=29 gives fewer than 2 checkpoints"),
    (dict(device="tpu"), "device='tpu'"),
    (dict(n_seeds=0), "n_seeds=0"),
    (dict(n_seeds=2.0), "n_seeds=2.0"),
])
def test_bad_parameters_name_themselves_and_the_allowed_values(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        chapter.settings(**{"profile": "smoke", **kwargs})
    assert "allowed" in str(err.value) or "must be" in str(err.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_fails_early():
    with pytest.raises(ValueError, match="CUDA is not available here"):
        chapter.settings("smoke", device="cuda")


def test_book_steps_shorter_than_a_checkpoint_interval_fail():
    with pytest.raises(ValueError, match="one every 100 epochs at profile 'book'"):
        chapter.settings("book", steps=99)


@pytest.mark.parametrize("field, value", [("key_power", 1.5), ("min_test_acc", 0.0), ("max_key_freqs", 0),
                                          ("n_snapshots", 1), ("excluded_rise", 0.5), ("phase_factor", math.nan),
                                          ("max_excluded_acc", 1.5), ("spike_factor", 1.0), ("spike_window", 0),
                                          ("spike_floor", -1.0)])
def test_thresholds_are_checked(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(chapter.settings("smoke"), **{field: value})


def _grokked_measures() -> dict:
    """Progress measures shaped like the paper's mainline run (phases near 1,400, 9,400, 14,000)."""
    steps = torch.arange(0, 18_001, 100)
    s = steps.double()
    log_test = torch.where(s < 1400, 0.7 + s / 1400 * 0.7, torch.tensor(1.4))  # memorise, then plateau
    log_test = torch.where(s > 9000, 1.4 - (s - 9000) / 5000 * 8.4, log_test).clamp_min(-7.0)  # cleanup 9k-14k
    log_excluded = torch.where(s <= 1400, -0.5 - s / 1400 * 2.5, -3.0 + (s - 1400) / 8000 * 4.0).clamp_max(1.0)
    log_restricted = torch.where(s < 4000, torch.tensor(1.5), 1.5 - (s - 4000) / 5000 * 8.5).clamp_min(-7.0)
    return {"steps": steps, "train_loss": torch.full_like(s, 1e-7), "test_loss": 10 ** log_test,
            "restricted_loss": 10 ** log_restricted, "excluded_loss": 10 ** log_excluded}


GROKKED_GINI = {"W_E": {"memorisation_end": 0.3, "circuit_formation_end": 0.5, "cleanup_end": 0.85},
                "W_L": {"memorisation_end": 0.3, "circuit_formation_end": 0.6, "cleanup_end": 0.9}}


def spikes(n: int, max_rise: float, fit_step: int | None = 1200, min_loss: float = 1e-7) -> dict:
    """One run's spike counts, as ``measure_spikes`` gives them."""
    return {"n_spikes": n, "spike_steps": [2000 + 100 * i for i in range(n)], "max_rise": max_rise,
            "min_loss": min_loss, "fit_step": fit_step}


SPIKES = {chapter.MAIN: spikes(0, 3.0), chapter.CONTROLS[0]: spikes(2, 1e4), chapter.CONTROLS[1]: spikes(0, 2.0),
          chapter.MAIN_FULL: spikes(0, 3.0)}


def grokked_seed(seed: int = 0, **changes) -> dict:
    """One seed's numbers (``measure_seed``) of a run that grokked as the paper describes."""
    measures = _grokked_measures()
    phases = fourier.phase_boundaries(measures["steps"], measures["test_loss"], measures["excluded_loss"])
    x = {"seed": seed, "finite": True, "loss_fell": True, "measures_finite": True, "fit_step": 1000,
         "final_test_acc": 1.0, "key_freqs": [14, 35, 41, 42, 52], "key_power": 0.94, "embed_key_power": 0.9,
         "measures": measures, "phases": phases, "plateau": chapter.plateau_losses(measures, phases),
         "final_measures": {"restricted_loss": 1e-6, "restricted_acc": 1.0, "excluded_loss": 6.0,
                            "excluded_acc": 0.01, "train_loss": 1e-7},
         "excluded_per_freq": {14: 0.5, 35: 0.8, 41: 0.3, 42: 0.2, 52: 0.9}, "gini_at": GROKKED_GINI}
    return {**x, **changes}


def grokked_results(seed_results=(), **changes) -> dict:
    """A results dict (``measure``) of a run that grokked as the paper describes, with its spike controls."""
    return {**grokked_seed(), "spikes": SPIKES, "published_test_acc": 1.0, "seed_results": list(seed_results),
            **changes}


NEVER_LEARNED = dict(final_test_acc=0.01, fit_step=None, key_freqs=[3, 7, 12, 19, 25, 33, 40, 44, 51], key_power=0.1,
                     embed_key_power=0.1, phases=None, plateau=None,
                     final_measures={"restricted_loss": 4.8, "restricted_acc": 0.01, "excluded_loss": 4.7,
                                     "excluded_acc": 0.01, "train_loss": 4.7},
                     excluded_per_freq={k: 4.7 for k in (3, 7, 12)}, gini_at=None,
                     spikes={name: spikes(0, 1.0, fit_step=None, min_loss=4.7) for name in SPIKES})
"""A run in which nothing learns: accuracy at chance, the losses flat near ln 113, nothing fitted."""

_PHASES_LATE = {"memorisation_end": 5000, "circuit_formation_end": 9400, "cleanup_end": 14_000}
WITHOUT = {
    "generalises": dict(final_test_acc=0.3),
    "few_key_freqs": dict(key_power=0.5),
    "embed_key_freqs": dict(embed_key_power=0.5),
    "key_freqs_suffice": dict(final_measures={**grokked_seed()["final_measures"], "restricted_acc": 0.6}),
    "key_freqs_needed": dict(final_measures={**grokked_seed()["final_measures"], "excluded_acc": 0.9}),
    "each_freq_matters": dict(excluded_per_freq={14: 0.5, 35: 5e-7}),
    "phases_in_order": dict(phases={"memorisation_end": 1400, "circuit_formation_end": 9400, "cleanup_end": 9400}),
    "phase_epochs": dict(phases=_PHASES_LATE),
    "circuit_before_test": dict(plateau={**grokked_seed()["plateau"], "test_over_restricted": 0.5}),
    "restricted_falls": dict(plateau={**grokked_seed()["plateau"], "restricted_start": 30.0, "restricted_min": 20.0}),
    "excluded_rises": dict(plateau={**grokked_seed()["plateau"], "excluded_start": 0.01, "excluded_max": 0.05}),
    "gini_we_rises": dict(gini_at={**GROKKED_GINI, "W_E": {**GROKKED_GINI["W_E"], "cleanup_end": 0.4}}),
    "gini_wl_rises": dict(gini_at={**GROKKED_GINI, "W_L": {**GROKKED_GINI["W_L"], "cleanup_end": 0.5}}),
    "float64_no_spikes": dict(spikes={**SPIKES, chapter.MAIN: spikes(2, 1e4)}),
    "float32_spikes": dict(spikes={**SPIKES, chapter.CONTROLS[0]: spikes(0, 3.0)}),
    "eps_no_spikes": dict(spikes={**SPIKES, chapter.CONTROLS[1]: spikes(1, 1e3)}),
}
"""For each finding, a change to the grokked run that removes its phenomenon and nothing else."""


def verdicts(results: dict, s=None) -> dict[str, str]:
    return {v.finding.name: v.verdict for v in chapter.judged(results, s or chapter.settings("book"))}


def test_every_finding_has_a_fixture_without_it():
    assert list(WITHOUT) == [f.name for f in chapter.FINDINGS]
    assert set(chapter.SOURCES.values()) == {HOLDS} and list(chapter.BOOK_FINDINGS) == list(WITHOUT)


def test_every_finding_holds_on_a_grokked_run(capsys):
    assert [grokked_seed()["phases"][name] for name in chapter.PHASES] == [1400, 9500, 13600]
    assert set(verdicts(grokked_results()).values()) == {HOLDS}
    checks = chapter.check(grokked_results(), chapter.settings("book"))
    assert all(c.passed for c in checks) and len(checks) == 4 + len(chapter.FINDINGS)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(WITHOUT))
def test_a_run_without_the_phenomenon_does_not_show_the_finding(name):
    got = verdicts(grokked_results(**WITHOUT[name]))
    assert got[name] == DOES_NOT_HOLD
    # nothing else fails: the other findings hold, or lose their power where the change takes it away
    assert all(v in (HOLDS, NOT_TESTED) for k, v in got.items() if k != name)
    sources = dataclasses.replace(chapter.settings("book"), findings=chapter.SOURCES)  # book declares one undecided
    with pytest.raises(AssertionError, match="failed checks"):
        chapter.check(grokked_results(**WITHOUT[name]), sources)


def test_a_run_that_learned_nothing_tests_nothing_and_fails_the_checks():
    results = grokked_results(**NEVER_LEARNED)
    judged = chapter.judged(results, chapter.settings("book"))
    assert {v.verdict for v in judged} == {NOT_TESTED}
    reasons = {v.finding.name: v.reason for v in judged}
    assert reasons["generalises"].startswith("the run did not fit its training set")
    assert reasons["phase_epochs"].startswith("the run did not generalise (final test accuracy 1.0%")
    assert "did not fit its training set in the first 3,000 epochs" in reasons["float32_spikes"]
    with pytest.raises(AssertionError, match="failed checks") as err:
        chapter.check(results, chapter.settings("book"))
    assert "is not tested at this profile" in str(err.value)


def test_a_run_that_fitted_but_did_not_generalise_tests_only_generalisation():
    got = verdicts(grokked_results(final_test_acc=0.3))
    assert got["generalises"] == DOES_NOT_HOLD
    assert all(v == NOT_TESTED for k, v in got.items() if k != "generalises" and "spike" not in k)


def test_phase_findings_are_not_tested_without_an_end_of_cleanup():
    phases = {"memorisation_end": 1400, "circuit_formation_end": 9400, "cleanup_end": None}
    got = chapter.judged(grokked_results(phases=phases, gini_at={m: {**g, "cleanup_end": None}
                                                                 for m, g in GROKKED_GINI.items()}),
                         chapter.settings("book"))
    phased = {"phases_in_order", "phase_epochs", "circuit_before_test", "restricted_falls", "excluded_rises",
              "gini_we_rises", "gini_wl_rises"}
    assert {v.finding.name for v in got if v.verdict == NOT_TESTED} == phased
    assert all(v.reason == "its test loss never fell to a final level (no end of cleanup)" for v in got
               if v.finding.name in phased)


def test_a_spike_control_that_did_not_fit_is_not_tested():
    got = verdicts(grokked_results(spikes={**SPIKES, chapter.CONTROLS[1]: spikes(0, 2.0, fit_step=None)}))
    assert got["eps_no_spikes"] == NOT_TESTED and got["float32_spikes"] == HOLDS


def test_a_measurement_inside_the_margin_is_undecided():
    got = chapter.judged(grokked_results(key_power=0.81, spikes={**SPIKES, chapter.CONTROLS[0]: spikes(1, 120.0)}),
                         chapter.settings("book"))
    by_name = {v.finding.name: v for v in got}
    assert by_name["few_key_freqs"].verdict == UNDECIDED and by_name["float32_spikes"].verdict == UNDECIDED
    assert "within the margin" in by_name["few_key_freqs"].text


def test_each_seed_is_judged_and_disagreeing_seeds_leave_a_finding_undecided():
    s = chapter.settings("paper")
    agree = grokked_results(seed_results=[grokked_seed(1), grokked_seed(2)])
    evidence = chapter.evidence(agree, s)
    assert [e.label for e in evidence["phase_epochs"]] == ["seed 0", "seed 1", "seed 2"]
    assert [e.label for e in evidence["float32_spikes"]] == ["seed 0"]  # the controls run on the first seed alone
    assert set(verdicts(agree, s).values()) == {HOLDS}
    disagree = grokked_results(seed_results=[grokked_seed(1), grokked_seed(2, phases=_PHASES_LATE)])
    by_name = {v.finding.name: v for v in chapter.judged(disagree, s)}
    assert by_name["phase_epochs"].verdict == UNDECIDED and "the seeds disagree" in by_name["phase_epochs"].reason
    with pytest.raises(AssertionError, match="phases end near the paper's epochs"):
        chapter.check(disagree, s)


def test_smoke_asserts_only_the_mechanics(capsys):
    smoke = chapter.settings("smoke")
    checks = chapter.check(grokked_results(**NEVER_LEARNED), smoke)
    assert len(checks) == 4 and "asserts only the mechanics" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="the authors' model scores at least 100%"):
        chapter.check(grokked_results(**NEVER_LEARNED, published_test_acc=0.99), smoke)
    with pytest.raises(AssertionError, match="seed 0: the progress measures are finite"):
        chapter.check(grokked_results(measures_finite=False), smoke)
    with pytest.raises(AssertionError, match="seed 0: the run's logged metrics are finite"):
        chapter.check(grokked_results(finite=False), smoke)
    with pytest.raises(AssertionError, match="seed 3: the training loss ended below"):
        chapter.check(grokked_results(seed_results=[grokked_seed(3, loss_fell=False)]), smoke)


def _loss_curve(steps: torch.Tensor, low: float, spike_at: int | None = None, top: float = 1e-3) -> list[float]:
    """A training loss falling from 4.7 to ``low`` by epoch 1,000 (log-linearly), then flat; with ``spike_at``, a
    rise to ``top`` for 50 epochs there."""
    s = steps.double()
    log = math.log10(4.7) + (math.log10(low) - math.log10(4.7)) * (s / 1000).clamp_max(1.0)
    if spike_at is not None:
        log = torch.where((s >= spike_at) & (s < spike_at + 50), torch.tensor(math.log10(top)), log)
    return (10 ** log).tolist()


def test_measure_spikes_on_synthetic_runs_feeds_the_spike_findings(make_history):
    s = chapter.settings("book")
    steps = list(range(0, 3001, 10))
    fitted = [0.1 if step < 800 else 1.0 for step in steps]
    t = torch.tensor(steps)
    main = make_history(list(range(0, 18_001, 10)), train_loss=_loss_curve(torch.arange(0, 18_001, 10), 1e-9),
                        train_acc=[0.1 if step < 800 else 1.0 for step in range(0, 18_001, 10)])
    controls = {chapter.CONTROLS[0]: make_history(steps, train_loss=_loss_curve(t, 1e-7, spike_at=2000),
                                                  train_acc=fitted),
                chapter.CONTROLS[1]: make_history(steps, train_loss=_loss_curve(t, 1e-4), train_acc=fitted)}
    counts = chapter.measure_spikes(main, controls, s)
    assert list(counts) == [chapter.MAIN, *chapter.CONTROLS, chapter.MAIN_FULL]
    assert counts[chapter.CONTROLS[0]]["n_spikes"] == 1 and counts[chapter.CONTROLS[0]]["spike_steps"] == [2000]
    assert counts[chapter.MAIN]["n_spikes"] == counts[chapter.CONTROLS[1]]["n_spikes"] == 0
    assert all(c["fit_step"] == 800 for c in counts.values())
    got = verdicts(grokked_results(spikes=counts), s)
    assert got["float32_spikes"] == got["float64_no_spikes"] == got["eps_no_spikes"] == HOLDS
    # a rise of the float64 loss from below float32's resolution to 1e-5 is 84x that resolution: inside the margin
    spiked = {top: make_history(main.steps.tolist(), train_loss=_loss_curve(main.steps, 1e-9, spike_at=2000, top=top),
                                train_acc=main.train_acc.tolist()) for top in (1e-5, 1e-3)}
    got = verdicts(grokked_results(spikes=chapter.measure_spikes(spiked[1e-5], controls, s)), s)
    assert got["float64_no_spikes"] == UNDECIDED
    # a spike to 1e-3 in the float64 run: its finding fails; a control that never fits is not tested
    controls[chapter.CONTROLS[1]] = make_history(steps, train_loss=_loss_curve(t, 1e-4), train_acc=[0.1] * len(steps))
    got = verdicts(grokked_results(spikes=chapter.measure_spikes(spiked[1e-3], controls, s)), s)
    assert got["float64_no_spikes"] == DOES_NOT_HOLD and got["eps_no_spikes"] == NOT_TESTED


def test_measure_spikes_reads_the_controls_window():
    s = chapter.settings("smoke", steps=60)
    history = train(s.run, device="cpu", progress=False)
    controls = {name: train(run, device="cpu", progress=False) for name, run in s.controls.items()}
    counts = chapter.measure_spikes(history, controls, s)
    assert list(counts) == [chapter.MAIN, *chapter.CONTROLS, chapter.MAIN_FULL]
    assert all(set(v) == {"n_spikes", "spike_steps", "max_rise", "min_loss", "fit_step"} for v in counts.values())
    # the float32 and float64 losses of one run differ only by rounding
    assert counts[chapter.MAIN]["min_loss"] == pytest.approx(counts[chapter.CONTROLS[0]]["min_loss"], rel=1e-3)


def _untrained_published() -> published.Published:
    return published.Published(model=published.nanda_config().build().eval(), split=published.nanda_split(),
                               train_losses=torch.ones(3), test_losses=torch.ones(1), epoch=7, weight_decay=0.1)


def test_measures_of_tiny_runs_pass_the_smoke_checks_and_glue_every_name_the_page_quotes():
    s = chapter.settings("smoke", steps=60, n_seeds=2)
    assert s.runs() == {"run": s.run, "controls": s.controls, "seeds": list(s.seed_runs)} and s.mode is None
    histories = book.run_all(s, lambda cfgs, **kw: [train(cfg, device="cpu", progress=False) for cfg in cfgs])
    assert list(histories["controls"]) == list(chapter.CONTROLS) and len(histories["seeds"]) == 1
    results = chapter.measure(histories, s, _untrained_published())
    assert results["acts"].shape == (23, 23, 64) and results["wl_power"].shape == (12,)
    assert 0 < results["key_power"] <= 1 and 0 < results["embed_key_power"] <= 1
    assert results["logit_norms"].shape == (23, 23) and 1 <= results["n_components"] <= 23 * 23 - 1
    assert results["checkpoint_steps"] == [0, 30, 60] and results["spectra"].shape == (3, 12)
    assert results["measures"]["steps"].tolist() == [0, 30, 60]
    assert results["measures"]["excluded_loss_per_freq"].shape == (3, len(results["key_freqs"]))
    assert list(results["excluded_per_freq"]) == results["key_freqs"]
    # the checkpoint at the last step is the final model: its loss on the training pairs is the logged one
    history = histories["run"]
    assert results["measures"]["train_loss"][-1].item() == pytest.approx(history.train_loss[-1].item(), rel=1e-4)
    assert results["final_measures"]["train_loss"] == results["measures"]["train_loss"][-1].item()
    assert set(results["plateau"]) == {"restricted_start", "restricted_min", "excluded_start", "excluded_max",
                                       "test_over_restricted"}
    assert results["gini"]["W_E"].shape == (3,) and set(results["gini_at"]) == {"W_E", "W_L"}
    assert [x["seed"] for x in results["seed_results"]] == [1]
    assert [row["seed"] for row in results["seeds"]["per_seed"]] == [0, 1]
    assert results["published_test_acc"] < 0.05 and results["published_epochs"] == 7
    results["published_test_acc"] = 1.0
    assert all(c.passed for c in chapter.check(results, s))
    assert all(len(e) == (1 if "spike" in name else 2) for name, e in chapter.evidence(results, s).items())
    glued = chapter.glued(results, s)
    assert all(isinstance(v, str) for v in glued.values())
    quoted = set(re.findall(r"\{glue:text\}`(\w+)`", NOTEBOOK.read_text()))
    assert quoted - set(glued) <= {"profile", "wall_seconds"}, "book.finish glues these two"
    assert {f"verdict_{f.name}" for f in chapter.FINDINGS} <= quoted, "the page quotes every verdict"


def test_the_same_run_measured_twice_gives_the_same_numbers():
    s = chapter.settings("smoke", steps=60)
    history = train(s.run, device="cpu", progress=False)
    once, again = chapter.measure_seed(history, s), chapter.measure_seed(history, s)
    summary = chapter.over_seeds([once, again])
    assert summary["per_seed"][0] == summary["per_seed"][1]
    mem = once["phases"]["memorisation_end"]
    assert summary["summary"]["memorisation_end"] == (mem, mem, mem)


def test_phases_over_seeds_for_the_prose():
    assert chapter.fmt_over_seeds((9400, 9400, 9400)) == "9,400"
    assert chapter.fmt_over_seeds((9400, 8100, 10200)) == "9,400 (8,100-10,200)"
    assert chapter.fmt_over_seeds(None) == "not reached"


def test_measure_published_on_an_untrained_model():
    out = chapter.measure_published(_untrained_published(), chapter.settings("smoke"))
    assert out["published_test_acc"] < 0.05 and out["published_test_loss"] > 1
    assert out["published_power"].shape == (57,) and out["published_wl_power"].shape == (57,)
    assert (out["published_epochs"], out["published_weight_decay"]) == (7, 0.1)


def test_a_turned_parameter_declares_nothing():
    assert chapter.settings("book").findings == chapter.BOOK_FINDINGS
    assert chapter.settings("book", steps=9000).findings is None and chapter.settings("book", frac_train=0.5).findings is None
    assert chapter.settings("book", n_seeds=2).findings == chapter.BOOK_FINDINGS  # more seeds: the verdicts must survive
