"""The chapter book/fourier_circuits.ipynb: its settings per profile, their errors, its numbers and its Checks."""
import dataclasses
import inspect
import json
import math
from pathlib import Path

import pytest
import torch

from grokutils import published
from grokutils.analysis import fourier
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
    assert s.claims and s.min_test_acc == 0.99 and s.n_snapshots == 8
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
    assert s.seeds == [0, 1, 2] and s.control_steps == 40_000
    assert [(r.task.seed, r.model.seed, r.train.seed) for r in s.seed_runs] == [(1, 1, 1), (2, 2, 2)]
    assert chapter.settings("paper", seed=5, n_seeds=1).seeds == [5]
    assert chapter.settings("book", n_seeds=3).seeds == [0, 1, 2]


def test_smoke_profile_and_parameters():
    s = chapter.settings("smoke", seed=3, frac_train=0.5, steps=60, device="cpu")
    assert (s.p, s.run.task.seed, s.run.model.seed, s.run.task.frac_train) == (23, 3, 3, 0.5)
    assert (s.run.train.steps, s.run.train.checkpoint_every, s.device, s.seed) == (60, 30, "cpu", 3)
    assert not s.claims and s.n_snapshots == 4
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
                                          ("spike_floor", -1.0), ("spiking", ("no such run",))])
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
SPIKES = {chapter.MAIN: {"n_spikes": 0}, chapter.CONTROLS[0]: {"n_spikes": 3}, chapter.CONTROLS[1]: {"n_spikes": 0}}


def grokked_results(**changes) -> dict:
    """A results dict (``measure_*`` merged) of a run that grokked as the paper describes."""
    measures = _grokked_measures()
    phases = fourier.phase_boundaries(measures["steps"], measures["test_loss"], measures["excluded_loss"])
    results = {"finite": True, "measures_finite": True, "final_test_acc": 1.0, "key_freqs": [14, 35, 41, 42, 52],
               "key_power": 0.94, "embed_key_power": 0.9, "published_test_acc": 1.0, "measures": measures,
               "phases": phases, "plateau": chapter.plateau_losses(measures, phases),
               "final_measures": {"restricted_loss": 1e-6, "restricted_acc": 1.0, "excluded_loss": 6.0,
                                  "excluded_acc": 0.01, "train_loss": 1e-7},
               "excluded_per_freq": {14: 0.5, 35: 0.8, 41: 0.3, 42: 0.2, 52: 0.9},
               "gini_at": GROKKED_GINI, "spikes": SPIKES}
    return {**results, **changes}


NEVER_GROKKED = dict(final_test_acc=0.01, key_freqs=[3, 7, 12, 19, 25, 33, 40, 44, 51], key_power=0.1,
                     embed_key_power=0.1, phases=None, plateau=None,
                     final_measures={"restricted_loss": 4.8, "restricted_acc": 0.01, "excluded_loss": 1e-7,
                                     "excluded_acc": 1.0, "train_loss": 1e-7},
                     excluded_per_freq={k: 1e-7 for k in (3, 7, 12)}, gini_at=None,
                     spikes={chapter.MAIN: {"n_spikes": 4}, chapter.CONTROLS[0]: {"n_spikes": 0},
                             chapter.CONTROLS[1]: {"n_spikes": 2}})


def test_check_passes_on_a_grokked_run(capsys):
    results = grokked_results()
    assert [results["phases"][name] for name in chapter.PHASES] == [1400, 9500, 13600]
    checks = chapter.check(results, chapter.settings("book"))
    assert all(c.passed for c in checks) and len(checks) == 21
    out = capsys.readouterr().out
    assert "all checks passed" in out
    # the upper bounds of the late phases lie beyond the 18,000-epoch budget: only their lower bounds are checked
    assert "memorisation_end within 2x of the paper's epoch 1,400" in out
    assert "cleanup_end at least the paper's epoch 14,000 / 2" in out and "cleanup_end within" not in out


def test_check_fails_on_a_run_that_never_grokked():
    with pytest.raises(AssertionError, match="final test accuracy at least 99%") as err:
        chapter.check(grokked_results(**NEVER_GROKKED), chapter.settings("book"))
    message = str(err.value)
    for claim in ("carry at least 80% of W_L", "carry at least 80% of the embedding", "the three phases end in order",
                  "restricted loss falls below", "excluded loss rises", "cleanup_end at least",
                  "final restricted accuracy", "final excluded accuracy", "removing any one key frequency",
                  "Gini coefficient of W_E", "Gini coefficient of W_L",
                  f"{chapter.MAIN}: no training-loss spike", f"{chapter.CONTROLS[0]}: training-loss spikes",
                  f"{chapter.CONTROLS[1]}: no training-loss spike"):
        assert claim in message
    assert "memorisation_end within" in message


@pytest.mark.parametrize("change, claim", [
    (dict(phases={"memorisation_end": 3000, "circuit_formation_end": 9400, "cleanup_end": 14_000}),
     "memorisation_end within 2x of the paper's epoch 1,400"),
    (dict(phases={"memorisation_end": 1400, "circuit_formation_end": 4000, "cleanup_end": 14_000}),
     "circuit_formation_end at least the paper's epoch 9,400 / 2"),
    (dict(plateau={"restricted_start": 30.0, "restricted_min": 20.0, "excluded_start": 0.01, "excluded_max": 5.0,
                   "restricted_below_test": True}), "restricted loss falls to at most 0.5"),
    (dict(plateau={"restricted_start": 30.0, "restricted_min": 0.1, "excluded_start": 0.01, "excluded_max": 0.05,
                   "restricted_below_test": True}), "excluded loss rises to at least 10x"),
    (dict(key_power=0.5), "carry at least 80% of W_L"),
    (dict(embed_key_power=0.5), "carry at least 80% of the embedding"),
    (dict(excluded_per_freq={14: 0.5, 35: 5e-7}), "removing any one key frequency"),
    (dict(gini_at={"W_E": GROKKED_GINI["W_E"], "W_L": {**GROKKED_GINI["W_L"], "cleanup_end": 0.5}}),
     "Gini coefficient of W_L's Fourier norms rises during cleanup"),
    (dict(spikes={**SPIKES, chapter.MAIN: {"n_spikes": 2}}), "float64 loss \\(the run\\): no training-loss spike"),
    (dict(spikes={**SPIKES, chapter.CONTROLS[0]: {"n_spikes": 0}}), "float32 loss: training-loss spikes"),
    (dict(spikes=None), "float32 loss: training-loss spikes"),
])
def test_check_names_each_failed_claim(change, claim):
    with pytest.raises(AssertionError, match=claim):
        chapter.check(grokked_results(**change), chapter.settings("book"))


def test_spike_claims_follow_the_settings():
    s = dataclasses.replace(chapter.settings("book"), spiking=(chapter.MAIN, chapter.CONTROLS[0]))
    spikes = {**SPIKES, chapter.MAIN: {"n_spikes": 2}}
    assert all(c.passed for c in chapter.check(grokked_results(spikes=spikes), s))
    with pytest.raises(AssertionError, match="float64 loss \\(the run\\): training-loss spikes"):
        chapter.check(grokked_results(), s)


def test_smoke_asserts_only_the_mechanics(capsys):
    smoke = chapter.settings("smoke")
    checks = chapter.check(grokked_results(**NEVER_GROKKED), smoke)
    assert len(checks) == 3 and "asserts only the mechanics" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="the authors' model scores at least 100%"):
        chapter.check(grokked_results(**NEVER_GROKKED, published_test_acc=0.99), smoke)
    with pytest.raises(AssertionError, match="progress measures are finite"):
        chapter.check(grokked_results(measures_finite=False), smoke)
    with pytest.raises(AssertionError, match="logged metrics are finite"):
        chapter.check(grokked_results(finite=False), smoke)


def test_measure_spikes_reads_the_controls_window():
    s = chapter.settings("smoke", steps=60)
    history = train(s.run, device="cpu", progress=False)
    controls = {name: train(run, device="cpu", progress=False) for name, run in s.controls.items()}
    spikes = chapter.measure_spikes(history, controls, s)
    assert list(spikes) == [chapter.MAIN, *chapter.CONTROLS, chapter.MAIN_FULL]
    assert all(set(v) == {"n_spikes", "spike_steps", "max_rise", "min_loss"} for v in spikes.values())
    # the float32 and float64 losses of one run differ only by rounding
    assert spikes[chapter.MAIN]["min_loss"] == pytest.approx(spikes[chapter.CONTROLS[0]]["min_loss"], rel=1e-3)


def test_measures_of_a_tiny_run_pass_the_smoke_checks(capsys):
    s = chapter.settings("smoke", steps=60)
    history = train(s.run, device="cpu", progress=False)
    results = chapter.measure_run(history, s)
    assert results["acts"].shape == (23, 23, 64) and results["wl_power"].shape == (12,)
    assert 0 < results["key_power"] <= 1 and 0 < results["embed_key_power"] <= 1
    assert results["logit_norms"].shape == (23, 23) and 1 <= results["n_components"] <= 23 * 23 - 1
    results.update(chapter.measure_progress(history, results["key_freqs"], s))
    assert results["checkpoint_steps"] == [0, 30, 60] and results["spectra"].shape == (3, 12)
    assert results["measures"]["steps"].tolist() == [0, 30, 60]
    assert results["measures"]["excluded_loss_per_freq"].shape == (3, len(results["key_freqs"]))
    assert list(results["excluded_per_freq"]) == results["key_freqs"]
    # the checkpoint at the last step is the final model: its loss on the training pairs is the logged one
    assert results["measures"]["train_loss"][-1].item() == pytest.approx(history.train_loss[-1].item(), rel=1e-4)
    assert results["final_measures"]["train_loss"] == results["measures"]["train_loss"][-1].item()
    assert set(results["plateau"]) == {"restricted_start", "restricted_min", "excluded_start", "excluded_max",
                                       "restricted_below_test"}
    assert results["gini"]["W_E"].shape == (3,) and set(results["gini_at"]) == {"W_E", "W_L"}
    results["published_test_acc"] = 1.0
    assert all(c.passed for c in chapter.check(results, s))
    seeds = chapter.measure_seeds(results, [history], s)
    assert len(seeds["per_seed"]) == 2 and seeds["per_seed"][0]["seed"] == 0
    assert seeds["per_seed"][1] == seeds["per_seed"][0]  # the same run measured again gives the same numbers
    mem = seeds["per_seed"][0]["memorisation_end"]
    assert seeds["summary"]["memorisation_end"] == (mem, mem, mem)


def test_phases_over_seeds_for_the_prose():
    assert chapter.fmt_over_seeds((9400, 9400, 9400)) == "9,400"
    assert chapter.fmt_over_seeds((9400, 8100, 10200)) == "9,400 (8,100-10,200)"
    assert chapter.fmt_over_seeds(None) == "not reached"


def test_measure_published_on_an_untrained_model():
    pub = published.Published(model=published.nanda_config().build().eval(), split=published.nanda_split(),
                              train_losses=torch.ones(3), test_losses=torch.ones(1), epoch=7, weight_decay=0.1)
    out = chapter.measure_published(pub, chapter.settings("smoke"))
    assert out["published_test_acc"] < 0.05 and out["published_test_loss"] > 1
    assert out["published_power"].shape == (57,) and out["published_wl_power"].shape == (57,)
    assert (out["published_epochs"], out["published_weight_decay"]) == (7, 0.1)
