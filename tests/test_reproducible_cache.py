"""Issue 28's acceptance test: a chapter's runs are the same bit for bit however the sweep engine trains them, so two
processes filling one cache (or two fresh caches) at ``smoke`` store identical runs.

Each chapter's smoke runs fill two fresh caches: once one run after another in this process, once through the default
plan (worker processes for minibatch sweeps). The stored histories must agree in every logged metric, in the final
weights, the training indices and the checkpoints; only the wall-clock time may differ.
"""
import importlib

import pytest
import torch

from grokutils import runs, store
from grokutils.book.runset import configs_in, run_all

CHAPTERS = ("interventions_and_operations", "comprehension_band", "lu_mechanism", "mnist_ablations", "power_division",
            "fourier_circuits", "omnigrok_mnist", "models_and_encodings", "circuit_competition", "landscapes_and_norms",
            "what_speeds_up_grokking", "softmax_collapse", "phase_diagrams")
"""Every chapter. The first five are those whose smoke sweeps the default plan used to batch on a CPU: before issue 28,
interventions_and_operations' minibatch runs batched with partners of other training-set sizes differed in their
losses and weight norms, and comprehension_band's and power_division's runs batched with partners of other weight
decays or losses differed in their weights. The others train one run after another whatever the plan; they are
here so that a chapter that starts to batch is caught."""


def _fill(settings, folder, mode, monkeypatch):
    monkeypatch.setenv("GROKUTILS_CACHE", str(folder))
    run_all(settings, runs.load_or_train_many, device="cpu", mode=mode, progress=False)


@pytest.fixture
def one_thread():
    """This process at one torch thread, as the workers train (several threads on a busy machine are only slower;
    the thread count does not change these runs: checked on interventions_and_operations at smoke and book)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _stored(cfg, folder):
    key = store.config_key(cfg, "cpu")
    history = store.load(cfg, key, folder / "runs" / f"{key}.pt")
    assert history is not None, f"{folder.name}: no run stored for {cfg}"
    return history


def _differences(a, b) -> list[str]:
    """What in two stored runs of one config is not bit-equal (the wall-clock time aside)."""
    out = [f"metric {name}" for name in a.metrics if not torch.equal(a.metrics[name], b.metrics[name])]
    out += [f"weights {name}" for name in a.final_state if not torch.equal(a.final_state[name], b.final_state[name])]
    pairs = [("steps", a.steps, b.steps), ("train_index", a.train_index, b.train_index)]
    out += [name for name, x, y in pairs if not (x is y or torch.equal(x, y))]
    if sorted(a.checkpoints) != sorted(b.checkpoints) or any(
            not torch.equal(a.checkpoints[s][k], b.checkpoints[s][k]) for s in a.checkpoints for k in a.checkpoints[s]):
        out.append("checkpoints")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_two_fresh_caches_hold_the_same_runs_bit_for_bit(chapter, tmp_path, monkeypatch, shared_data, one_thread):
    settings = importlib.import_module(f"grokutils.chapters.{chapter}").settings("smoke", device="cpu")
    _fill(settings, tmp_path / "one_by_one", "sequential", monkeypatch)
    _fill(settings, tmp_path / "default_plan", None, monkeypatch)
    differ = {}
    for cfg in configs_in(settings.runs()):
        found = _differences(_stored(cfg, tmp_path / "one_by_one"), _stored(cfg, tmp_path / "default_plan"))
        if found:
            differ[store.config_key(cfg, "cpu")] = found
    assert not differ, f"{len(differ)} of {len(configs_in(settings.runs()))} runs differ: {differ}"
