"""Unit tests of grokutils.tasks.wine. They read the shared copy of the UCI files and never touch the internet."""
import os
import shutil
from pathlib import Path

import pytest
import torch

from grokutils.datafiles import DATA_ENV, file_digest
from grokutils.tasks.wine import FEATURES, QUALITY_COUNTS, WINE_FILES, WineConfig, read_wine, standardise

SHARED_DATA = Path(os.environ.get(DATA_ENV) or Path(__file__).resolve().parents[2] / "shared" / "data")
RED = WINE_FILES["red"].name

needs_data = pytest.mark.skipif(
    not (SHARED_DATA / "wine_quality" / RED).exists(), reason=f"wine files not found under {SHARED_DATA}/wine_quality"
)


@pytest.fixture(scope="module")
def red_split():
    """The default red split, built once for the tests that only read it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_ENV, str(SHARED_DATA))
        return WineConfig().build()


def _raw_red():
    return read_wine(SHARED_DATA / "wine_quality" / RED)


@needs_data
def test_shared_files_match_their_sha256_checksums(shared_data):
    for file in WINE_FILES.values():
        assert file.algorithm == "sha256"
        assert file_digest(shared_data / "wine_quality" / file.name, "sha256") == file.digest


@needs_data
def test_read_wine_gives_the_whole_red_file():
    x, quality = _raw_red()
    assert x.shape == (1599, 11) and x.dtype == torch.float32 and quality.dtype == torch.int64
    assert x[0].tolist() == pytest.approx([7.4, 0.7, 0, 1.9, 0.076, 11, 34, 0.9978, 3.51, 0.56, 9.4])
    counts = dict(zip(*(t.tolist() for t in torch.unique(quality, return_counts=True))))
    assert counts == QUALITY_COUNTS["red"]


@needs_data
def test_red_split_shapes_labels_and_sizes(red_split):
    cfg = WineConfig()
    assert (cfg.n_train, cfg.n_classes, cfg.d_input) == (int(0.8 * 1599), 6, 11) == (1279, 6, 11)
    assert cfg.scores == (3, 4, 5, 6, 7, 8)
    assert red_split.x_train.shape == (1279, 11) and red_split.x_val.shape == (320, 11)
    assert red_split.x_train.dtype == torch.float32 and red_split.y_train.dtype == torch.int64
    labels = torch.cat([red_split.y_train, red_split.y_val])
    assert labels.min() == 0 and labels.max() == 5
    assert torch.bincount(labels).tolist() == list(QUALITY_COUNTS["red"].values())


@needs_data
def test_train_index_points_at_the_training_rows_and_val_is_the_rest(red_split):
    x, quality = _raw_red()
    index = red_split.train_index
    assert len(set(index.tolist())) == 1279 and 0 <= index.min() and index.max() < 1599
    scores = torch.tensor(WineConfig().scores)
    assert torch.equal(scores[red_split.y_train], quality[index])
    held_out = torch.ones(1599, dtype=torch.bool)
    held_out[index] = False
    assert int(held_out.sum()) == len(red_split.y_val)  # disjoint, and together every row
    assert sorted(scores[red_split.y_val].tolist()) == sorted(quality[held_out].tolist())


@needs_data
def test_split_is_seeded(shared_data, red_split):
    again = WineConfig(seed=0).build()
    assert torch.equal(again.train_index, red_split.train_index) and torch.equal(again.x_val, red_split.x_val)
    other = WineConfig(seed=1).build()
    assert not torch.equal(other.train_index, red_split.train_index)


@needs_data
def test_training_features_are_standardised(red_split):
    torch.testing.assert_close(red_split.x_train.mean(0), torch.zeros(11), atol=1e-5, rtol=0)
    torch.testing.assert_close(red_split.x_train.std(0, unbiased=False), torch.ones(11), atol=1e-5, rtol=0)
    assert red_split.x_val.mean(0).abs().max() > 1e-3  # the validation rows were not standardised on their own


@needs_data
def test_validation_uses_the_training_statistics(red_split):
    x, _ = _raw_red()
    x = x.double()
    train = x[red_split.train_index]
    perm = torch.randperm(1599, generator=torch.Generator().manual_seed(0))
    assert torch.equal(perm[:1279], red_split.train_index)
    expected = (x[perm[1279:]] - train.mean(0)) / train.std(0, unbiased=False)
    torch.testing.assert_close(red_split.x_val, expected.float())


def test_standardise_uses_training_statistics_and_guards_a_constant_column():
    x_train = torch.tensor([[1.0, 4.0], [3.0, 4.0]])
    x_val = torch.tensor([[5.0, 6.0]])
    train, val = standardise(x_train, x_val)
    assert train.tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    assert val.tolist() == [[3.0, 2.0]]  # (5 - 2) / 1 and (6 - 4) / 1: a zero std is taken as 1


@needs_data
def test_white_and_both_sizes_and_classes(shared_data):
    white, both = WineConfig(colour="white"), WineConfig(colour="both", frac_train=0.5)
    assert (white.n_rows, white.n_train, white.n_classes) == (4898, int(0.8 * 4898), 7)
    assert (both.n_rows, both.n_train, both.n_classes, both.scores) == (6497, 3248, 7, (3, 4, 5, 6, 7, 8, 9))
    for cfg in (white, both):
        split = cfg.build()
        assert split.x_train.shape == (cfg.n_train, 11) and len(split.y_val) == cfg.n_rows - cfg.n_train
        labels = torch.cat([split.y_train, split.y_val])
        assert torch.bincount(labels, minlength=7).min() > 0 and labels.max() == 6
    split = both.build()
    in_red = split.train_index < 1599  # red rows come first in "both"
    assert (split.y_train[in_red] < 6).all()  # no red wine scored 9


@needs_data
def test_corrupt_file_is_rejected(monkeypatch, tmp_path):
    (tmp_path / "wine_quality").mkdir()
    raw = bytearray((SHARED_DATA / "wine_quality" / RED).read_bytes())
    raw[500] = ord("9") if raw[500] != ord("9") else ord("8")
    (tmp_path / "wine_quality" / RED).write_bytes(bytes(raw))
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="corrupt") as err:
        WineConfig().build()
    assert str(tmp_path / "wine_quality" / RED) in str(err.value)


@needs_data
def test_copied_file_is_read_from_the_env_var_folder(monkeypatch, tmp_path):
    (tmp_path / "wine_quality").mkdir()
    shutil.copy(SHARED_DATA / "wine_quality" / RED, tmp_path / "wine_quality" / RED)
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert len(WineConfig(frac_train=0.5).build().y_train) == 799


def test_missing_file_raises_file_not_found(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="wine_quality"):
        WineConfig().build()


def test_read_wine_rejects_a_wrong_header(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(";".join(f'"{name}"' for name in FEATURES) + '\n' + "1;" * 10 + "1\n")
    with pytest.raises(ValueError, match="bad.csv") as err:
        read_wine(path)
    assert "header" in str(err.value)


def test_read_wine_rejects_a_bad_row(tmp_path):
    header = ";".join(f'"{name}"' for name in (*FEATURES, "quality"))
    path = tmp_path / "rows.csv"
    path.write_text(f"{header}\n" + "1;" * 11 + "5\n" + "1;" * 10 + "x;5\n")
    with pytest.raises(ValueError, match=r"rows.csv, line 3"):
        read_wine(path)
    path.write_text(f"{header}\n" + "1;" * 10 + "5\n")
    with pytest.raises(ValueError, match=r"rows.csv, line 2: .*11 columns"):
        read_wine(path)
    path.write_text(f"{header}\n" + "1;" * 11 + "5\n\n")
    x, quality = read_wine(path)
    assert x.shape == (1, 11) and quality.tolist() == [5]


@pytest.mark.parametrize("field, value, allowed", [
    ("colour", "rose", "allowed values"),
    ("frac_train", 0, "must be a finite number in"),
    ("frac_train", 1, "must be a finite number in"),
    ("frac_train", 1e-4, "at least one for training"),
    ("classes", "all", "allowed values"),
    ("seed", "x", "must be an integer"),
])
def test_bad_configs_name_the_parameter(field, value, allowed):
    with pytest.raises(ValueError, match=rf"^{field}=") as err:
        WineConfig(**{field: value})
    assert allowed in str(err.value)
