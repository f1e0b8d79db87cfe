"""Unit tests of grokutils.tasks.mnist. They never touch the internet."""
import dataclasses
import gzip
import os
import shutil
from pathlib import Path

import pytest
import torch

from grokutils.datafiles import DATA_ENV, fetch, file_digest
from grokutils.plots import plot_accuracy_and_norm, plot_accuracy_comparison
from grokutils.recipes import omnigrok_mnist_run
from grokutils.tasks import MNISTConfig, mnist
from grokutils.tasks.mnist import MNIST_FILES, read_idx
from grokutils.train import train

SHARED_DATA = Path(os.environ.get(DATA_ENV) or Path(__file__).resolve().parents[2] / "shared" / "data")
SMALL = "t10k-labels-idx1-ubyte.gz"  # 4,542 bytes: cheap to copy and corrupt
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # SOURCE.md

needs_data = pytest.mark.skipif(
    not (SHARED_DATA / "mnist" / SMALL).exists(), reason=f"MNIST files not found under {SHARED_DATA}/mnist"
)


@pytest.fixture
def offline_cache(monkeypatch, tmp_path):
    """No ``$GROKUTILS_DATA``; the user cache is an empty temporary folder."""
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv("GROKUTILS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "data" / "mnist"


def _serve_from(monkeypatch, name: str, source: Path) -> None:
    """Make ``name`` download from a local ``file://`` URL instead of the public mirrors."""
    monkeypatch.setitem(MNIST_FILES, name, dataclasses.replace(MNIST_FILES[name], urls=(source.as_uri(),)))


def _write_idx(path: Path, magic: int, dims: list[int], data: bytes) -> Path:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    path.write_bytes(gzip.compress(header + data))
    return path


def test_read_idx_reads_images_and_a_prefix(tmp_path):
    data = bytes(range(2 * 3 * 4))
    path = _write_idx(tmp_path / "x.gz", 2051, [2, 3, 4], data)
    assert read_idx(path).tolist() == torch.arange(24, dtype=torch.uint8).reshape(2, 3, 4).tolist()
    assert read_idx(path, count=1).shape == (1, 3, 4)
    labels = _write_idx(tmp_path / "y.gz", 2049, [3], bytes([7, 1, 9]))
    assert read_idx(labels).tolist() == [7, 1, 9]


def test_read_idx_rejects_bad_magic_and_short_files(tmp_path):
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        read_idx(_write_idx(tmp_path / "bad.gz", 1234, [1], b"\0"))
    with pytest.raises(ValueError, match="ends early"):
        read_idx(_write_idx(tmp_path / "short.gz", 2049, [5], b"\0\1"))


@needs_data
def test_shared_files_match_their_md5_checksums(shared_data):
    for name, file in MNIST_FILES.items():
        assert file.algorithm == "md5"
        assert file_digest(shared_data / "mnist" / name, "md5") == file.digest
        assert all(url.endswith("/" + name) and url.startswith("https://") for url in file.urls)


@needs_data
def test_loader_reads_from_the_env_var_folder(monkeypatch, tmp_path):
    (tmp_path / "mnist").mkdir()
    shutil.copy(SHARED_DATA / "mnist" / SMALL, tmp_path / "mnist" / SMALL)
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert fetch(MNIST_FILES[SMALL]) == tmp_path / "mnist" / SMALL
    assert torch.bincount(mnist.load_labels(SMALL)).tolist() == TEST_LABEL_COUNTS


@needs_data
def test_corrupt_file_raises_with_its_path_and_the_fix(monkeypatch, tmp_path):
    (tmp_path / "mnist").mkdir()
    raw = bytearray((SHARED_DATA / "mnist" / SMALL).read_bytes())
    raw[100] ^= 0xFF
    (tmp_path / "mnist" / SMALL).write_bytes(bytes(raw))
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="corrupt") as err:
        mnist.load_labels(SMALL)
    assert str(tmp_path / "mnist" / SMALL) in str(err.value)
    assert "Delete it" in str(err.value)


def test_missing_file_in_env_var_folder_says_where_and_how(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        MNISTConfig(train_points=10, test_points=10).build()
    message = str(err.value)
    assert str(tmp_path / "mnist") in message and DATA_ENV in message


@needs_data
def test_download_fills_the_cache_from_a_mirror(monkeypatch, offline_cache):
    _serve_from(monkeypatch, SMALL, SHARED_DATA / "mnist" / SMALL)
    path = fetch(MNIST_FILES[SMALL])
    assert path == offline_cache / SMALL
    assert file_digest(path, "md5") == MNIST_FILES[SMALL].digest


@needs_data
def test_partial_download_is_never_left_in_place(monkeypatch, offline_cache, tmp_path):
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes((SHARED_DATA / "mnist" / SMALL).read_bytes()[:1000])
    _serve_from(monkeypatch, SMALL, truncated)
    with pytest.raises(FileNotFoundError, match="could not get mnist/") as err:
        fetch(MNIST_FILES[SMALL])
    assert DATA_ENV in str(err.value)
    assert list(offline_cache.iterdir()) == []  # neither the file nor a .part left behind


def test_download_without_network_fails_cleanly(monkeypatch, offline_cache):
    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with pytest.raises(FileNotFoundError, match="network is unreachable"):
        fetch(MNIST_FILES[SMALL])
    assert not (offline_cache / SMALL).exists()


@needs_data
def test_build_gives_the_first_images_scaled_to_unit_interval(shared_data):
    split = MNISTConfig(train_points=100, test_points=10_000).build()
    assert split.x_train.shape == (100, 784) and split.x_train.dtype == torch.float32
    assert split.y_train.dtype == torch.int64 and split.x_val.shape == (10_000, 784)
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0
    assert split.y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the famous first five training labels
    assert torch.bincount(split.y_val).tolist() == TEST_LABEL_COUNTS


def test_config_validates_and_derives():
    cfg = MNISTConfig(train_points=1000)
    assert (cfg.n_train, cfg.n_classes, cfg.d_input) == (1000, 10, 784)
    for bad in (dict(train_points=0), dict(train_points=60_001), dict(test_points=10_001), dict(train_points=1.5)):
        with pytest.raises(ValueError, match=r"must be an integer in \[1, "):
            MNISTConfig(**bad)


@needs_data
def test_digits_keep_the_first_images_of_those_digits_relabelled(shared_data):
    full = MNISTConfig(train_points=2000, test_points=10_000).build()
    split = MNISTConfig(train_points=100, test_points=500, digits=(1, 0)).build()
    assert MNISTConfig(digits=(1, 0)).n_classes == 2 and split.x_train.shape == (100, 784)
    first = torch.nonzero((full.y_train == 0) | (full.y_train == 1)).flatten()[:100]
    assert torch.equal(split.train_index, first) and torch.equal(split.x_train, full.x_train[first])
    assert torch.equal(split.y_train, (full.y_train[first] == 0).long())  # digit 1 -> class 0, digit 0 -> class 1
    assert len(split.y_val) == 500 and set(split.y_val.tolist()) == {0, 1}
    with pytest.raises(ValueError, match="test_points=10,000 ask for more"):
        MNISTConfig(train_points=10, digits=(0, 1)).build()


def test_digits_and_augmentation_settings_validate():
    assert not MNISTConfig().augments and MNISTConfig(blur_sigma=0.5).augments and MNISTConfig(rotation_degrees=10).augments
    for bad in ((0,), (0, 0), (0, 10), [0, 1], (True, 2), (0, 1.0)):
        with pytest.raises(ValueError, match="digits=.* must be None or a tuple of at least two distinct digits"):
            MNISTConfig(digits=bad)
    with pytest.raises(ValueError, match="rotation_degrees=200"):
        MNISTConfig(rotation_degrees=200)
    with pytest.raises(ValueError, match="blur_sigma=-1"):
        MNISTConfig(blur_sigma=-1)


@needs_data
def test_augmenting_task_gives_each_run_fresh_inputs_from_its_own_seed(shared_data):
    from grokutils.sweep import Ensemble
    cfg = omnigrok_mnist_run(alpha=1.0, steps=5, train_points=40, test_points=40, batch_size=8, n_logs=2)
    aug = cfg.replace(rotation_degrees=30.0, blur_sigma=1.0)
    raw = Ensemble([cfg, cfg], torch.device("cpu")).batch()[0]
    runs = [Ensemble([aug, dataclasses.replace(aug, train=dataclasses.replace(aug.train, seed=s))], torch.device("cpu"))
            for s in (0, 1)]
    x0, x1 = (r.batch()[0] for r in runs)
    assert x0.shape == raw.shape == (2, 8, 784) and not torch.allclose(x0[0], raw[0])
    torch.testing.assert_close(x0[0], x1[0])  # run 0 has the same seed in both: the same batch, augmented alike
    assert not torch.allclose(x0[1], x1[1])  # run 1 differs in seed: its own augmentation (and batch order)
    h = train(aug, device="cpu", progress=False)
    assert torch.isfinite(h.train_loss).all()


@needs_data
def test_smoke_run_trains(shared_data):
    cfg = omnigrok_mnist_run(alpha=8.0, steps=60, train_points=200, test_points=1000, batch_size=50, n_logs=30)
    history = train(cfg, device="cpu", progress=False)
    assert int(history.steps[-1]) == 60
    assert torch.isfinite(history.train_loss).all() and torch.isfinite(history.weight_norm).all()
    assert history.train_acc[-1] > history.train_acc[0]
    fig = plot_accuracy_and_norm(history, {"train 100%": 10, "test 80%": None}, title="smoke")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "total weight norm"
    assert len(fig.axes[0].get_legend().get_texts()) == 4  # two accuracies, one mark, the norm
    assert len(plot_accuracy_comparison({"α = 8": history, "again": history}).axes[0].get_lines()) == 4
