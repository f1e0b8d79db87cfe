"""Test settings (smoke profile, the shared offline data folder, a private run cache) and shared fixtures."""
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from grokutils.config import RunConfig, TrainConfig
from grokutils.history import METRICS, History
from grokutils.models import MLPConfig, TransformerConfig
from grokutils.tasks import ModularConfig, Split

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_configure(config):
    # Set before any kernel starts (nbval, papermill), so chapters inherit them.
    os.environ.setdefault("GROKUTILS_DATA", str(SHARED_DATA))
    os.environ["GROKUTILS_PROFILE"] = "smoke"
    os.environ.setdefault("GROKUTILS_CACHE", tempfile.mkdtemp(prefix="grokutils_test_cache_"))
    os.environ.setdefault("MPLBACKEND", "Agg")


def _book_env() -> dict:
    """The build's environment: the smoke profile, and matplotlib's own backend (the kernel's inline one draws the
    figures into the pages; the tests' ``Agg`` would leave every figure cell empty)."""
    env = {name: value for name, value in os.environ.items() if name != "MPLBACKEND"}
    return {**env, "GROKUTILS_PROFILE": "smoke"}


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The book built once per test session at the smoke profile with warnings as errors; its ``html`` folder.

    The build re-executes every chapter against the run cache that nbval filled (``pytest book`` runs first).
    """
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jupyter_book), "build", str(REPO), "--path-output", str(out), "-W", "-n", "--keep-going"],
                            env=_book_env(), capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return out / "_build" / "html"


@pytest.fixture
def shared_data(monkeypatch):
    """``$GROKUTILS_DATA`` pointing at the read-only shared copy of the data files (MNIST, Wine Quality, ...)."""
    monkeypatch.setenv("GROKUTILS_DATA", str(SHARED_DATA))
    return SHARED_DATA


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A private, empty run cache for one test."""
    monkeypatch.setenv("GROKUTILS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _tiny_run(seed: int = 0, init_scale: float = 1.0, **train_kw) -> RunConfig:
    task = ModularConfig(op="add", p=11, frac_train=0.5, seed=0)
    model = TransformerConfig(d_vocab=task.d_vocab, d_vocab_out=task.p, n_ctx=task.n_ctx,
                              d_model=16, n_heads=2, d_head=8, d_mlp=32, seed=seed, init_scale=init_scale)
    return RunConfig(task, model, TrainConfig(**{"steps": 60, "n_logs": 8, "lr": 3e-3, "seed": seed, **train_kw}))


@pytest.fixture
def tiny_run():
    """``tiny_run(seed=0, init_scale=1.0, **train_fields) -> RunConfig``: a 1-layer transformer on a+b mod 11."""
    return _tiny_run


@dataclass(frozen=True)
class Blobs:
    """A tiny task that generalises within a few dozen steps: three noisy one-hot classes in 8 dimensions."""

    n_train: int = 64

    def build(self, device="cpu"):
        g = torch.Generator().manual_seed(0)
        y = torch.randint(0, 3, (96,), generator=g)
        x = torch.nn.functional.one_hot(y, 8).float() + 0.1 * torch.randn(96, 8, generator=g)
        return Split(x[:64], y[:64], x[64:], y[64:]).to(device)


def _blobs_run(seed: int = 0, init_scale: float = 1.0, **train_kw) -> RunConfig:
    train = {"steps": 200, "batch_size": 16, "loss": "mse", "weight_decay": 0.0, "lr": 1e-2, "seed": seed, **train_kw}
    return RunConfig(Blobs(), MLPConfig(widths=(8, 16, 3), seed=seed, init_scale=init_scale), TrainConfig(**train))


@pytest.fixture
def blobs_run():
    """``blobs_run(seed=0, init_scale=1.0, **train_fields) -> RunConfig``: an MLP on a task it learns in a few dozen steps."""
    return _blobs_run


def _make_history(steps, config=None, **columns) -> History:
    n = len(steps)
    metrics = {name: torch.tensor(columns.pop(name, [0.0] * n), dtype=torch.float64) for name in METRICS}
    metrics.update({name: torch.tensor(values, dtype=torch.float64) for name, values in columns.items()})
    return History(config, torch.tensor(steps), metrics, train_index=None, final_state={}, wall_seconds=0.0,
                   device="cpu")


@pytest.fixture
def make_history():
    """``make_history(steps, config=None, **columns) -> History``: a synthetic History for the Checks' fixtures.

    Columns not given (of ``history.METRICS``) are zeros; extra names become probe columns.
    """
    return _make_history


def _same_history(a: History, b: History, tol: float = 1e-4) -> None:
    assert torch.equal(a.steps, b.steps)
    assert set(a.metrics) == set(b.metrics)
    for name in a.metrics:
        torch.testing.assert_close(a.metrics[name], b.metrics[name], rtol=tol, atol=tol, msg=name)
    for k in a.final_state:
        if k.endswith("b_K"):  # its exact gradient is 0 (softmax ignores a shift shared by all keys): Adam moves it by noise
            continue
        torch.testing.assert_close(a.final_state[k], b.final_state[k], rtol=tol, atol=tol, msg=k)


@pytest.fixture
def same_history():
    """``same_history(a, b, tol=1e-4)``: assert two runs logged the same steps, metrics and final weights."""
    return _same_history
