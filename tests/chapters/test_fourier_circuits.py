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
    assert s.run == nanda_run(113, 0.3, 18_000, log_every=100, seed=0, checkpoint_every=100)
    task, model, t = s.run.task, s.run.model, s.run.train
    assert (task.op, task.p, task.frac_train, task.n_train) == ("add", 113, 0.3, 3830)
    assert (model.n_layers, model.d_model, model.n_heads, model.d_head, model.d_mlp) == (1, 128, 4, 32, 512)
    assert (model.act_fn, model.normalization, model.use_attn_bias, model.use_unembed_bias) == ("relu", None, False, False)
    assert (t.optimizer, t.lr, t.weight_decay, t.betas, t.warmup_steps, t.batch_size) == (
        "adamw", 1e-3, 1.0, (0.9, 0.98), 10, None)
    assert (t.steps, t.checkpoint_every, t.n_logs, t.log_spacing) == (18_000, 100, 181, "linear")
    assert s.claims and s.min_test_acc == 0.99 and s.n_snapshots == 8
    assert s.data_files == (published.PUBLISHED_FILE,)
    assert s.describe()[0] == "task: a + b mod 113, 3,830 of 12,769 pairs for training"


def test_paper_profile_is_the_mainline_run():
    s, book = chapter.settings("paper"), chapter.settings("book")
    assert s.run.train.steps == chapter.PAPER["epochs"] and s.run.train.n_logs == 401
    assert s.run.model == book.run.model and s.run.task == book.run.task and s.claims


def test_smoke_profile_and_parameters():
    s = chapter.settings("smoke", seed=3, frac_train=0.5, steps=60, device="cpu")
    assert (s.p, s.run.task.seed, s.run.model.seed, s.run.task.frac_train) == (23, 3, 3, 0.5)
    assert (s.run.train.steps, s.run.train.checkpoint_every, s.device, s.seed) == (60, 30, "cpu", 3)
    assert not s.claims and s.n_snapshots == 4
    assert chapter.settings("smoke", steps=30).run.train.n_logs == 2  # one checkpoint interval: 2 checkpoints


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
                                          ("n_snapshots", 1), ("excluded_rise", 0.5), ("phase_factor", math.nan)])
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


def grokked_results(**changes) -> dict:
    """A results dict (``measure_*`` merged) of a run that grokked as the paper describes."""
    measures = _grokked_measures()
    phases = fourier.phase_boundaries(measures["steps"], measures["test_loss"], measures["excluded_loss"])
    results = {"finite": True, "measures_finite": True, "final_test_acc": 1.0, "key_freqs": [14, 35, 41, 42, 52],
               "key_power": 0.94, "n_neurons": 512, "published_test_acc": 1.0, "measures": measures,
               "phases": phases, "plateau": chapter.plateau_losses(measures, phases)}
    return {**results, **changes}


NEVER_GROKKED = dict(final_test_acc=0.01, key_freqs=[3, 7, 12, 19, 25, 33, 40, 44, 51], key_power=0.1,
                     phases=None, plateau=None)


def test_check_passes_on_a_grokked_run(capsys):
    results = grokked_results()
    assert [results["phases"][name] for name in chapter.PHASES] == [1400, 9500, 13600]
    checks = chapter.check(results, chapter.settings("book"))
    assert all(c.passed for c in checks) and len(checks) == 15
    assert "all checks passed" in capsys.readouterr().out


def test_check_fails_on_a_run_that_never_grokked():
    with pytest.raises(AssertionError, match="final test accuracy at least 99%") as err:
        chapter.check(grokked_results(**NEVER_GROKKED), chapter.settings("book"))
    for claim in ("at most 8 key frequencies", "the three phases end in order", "restricted loss falls below",
                  "excluded loss rises", "cleanup_end within 2x"):
        assert claim in str(err.value)


@pytest.mark.parametrize("change, claim", [
    (dict(phases={"memorisation_end": 1400, "circuit_formation_end": 9400, "cleanup_end": 40_000}),
     "cleanup_end within 2x of the paper's epoch 14,000"),
    (dict(plateau={"restricted_start": 30.0, "restricted_min": 20.0, "excluded_start": 0.01, "excluded_max": 5.0,
                   "restricted_below_test": True}), "restricted loss falls to at most 0.5"),
    (dict(plateau={"restricted_start": 30.0, "restricted_min": 0.1, "excluded_start": 0.01, "excluded_max": 0.05,
                   "restricted_below_test": True}), "excluded loss rises to at least 10x"),
    (dict(key_power=0.5), "carry at least 80%"),
])
def test_check_names_each_failed_claim(change, claim):
    with pytest.raises(AssertionError, match=claim):
        chapter.check(grokked_results(**change), chapter.settings("book"))


def test_smoke_asserts_only_the_mechanics(capsys):
    smoke = chapter.settings("smoke")
    checks = chapter.check(grokked_results(**NEVER_GROKKED, n_neurons=64), smoke)
    assert len(checks) == 5 and "asserts only the mechanics" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="the authors' model scores at least 100%"):
        chapter.check(grokked_results(**NEVER_GROKKED, n_neurons=64, published_test_acc=0.99), smoke)
    with pytest.raises(AssertionError, match="progress measures are finite"):
        chapter.check(grokked_results(n_neurons=64, measures_finite=False), smoke)
    with pytest.raises(AssertionError, match="every neuron assigned to a key frequency"):
        chapter.check(grokked_results(n_neurons=60), smoke)


def test_measures_of_a_tiny_run_pass_the_smoke_checks(capsys):
    s = chapter.settings("smoke", steps=60)
    history = train(s.run, device="cpu", progress=False)
    results = chapter.measure_run(history, s)
    assert results["n_neurons"] == 64 and results["acts"].shape == (23, 23, 64)
    assert 1 <= len(results["key_freqs"]) <= s.max_key_freqs and 0 < results["key_power"] <= 1
    assert results["logit_norms"].shape == (23, 23) and 1 <= results["n_components"] <= 23 * 23 - 1
    results.update(chapter.measure_progress(history, results["key_freqs"], s))
    assert results["checkpoint_steps"] == [0, 30, 60] and results["spectra"].shape == (3, 12)
    assert results["measures"]["steps"].tolist() == [0, 30, 60]
    # the checkpoint at the last step is the final model: its loss on the training pairs is the logged one
    assert results["measures"]["train_loss"][-1].item() == pytest.approx(history.train_loss[-1].item(), rel=1e-4)
    assert set(results["plateau"]) == {"restricted_start", "restricted_min", "excluded_start", "excluded_max",
                                       "restricted_below_test"}
    results["published_test_acc"] = 1.0
    assert all(c.passed for c in chapter.check(results, s))


def test_measure_published_on_an_untrained_model():
    pub = published.Published(model=published.nanda_config().build().eval(), split=published.nanda_split(),
                              train_losses=torch.ones(3), test_losses=torch.ones(1), epoch=7, weight_decay=0.1)
    out = chapter.measure_published(pub, chapter.settings("smoke"))
    assert out["published_test_acc"] < 0.05 and out["published_test_loss"] > 1
    assert out["published_power"].shape == (57,) and 1 <= len(out["published_key_freqs"]) <= 8
    assert (out["published_epochs"], out["published_weight_decay"]) == (7, 0.1)
