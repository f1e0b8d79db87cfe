"""Wine Quality (Cortez et al. 2009) as a classification task: predict a wine's quality score from 11 measurements.

The data are the two CSV files of the UCI "Wine Quality" set: 1,599 red and 4,898 white Vinho Verde wines, each
with 11 physico-chemical features (acidity, sugar, alcohol, ...) and a sensory quality score from 0 to 10. Nie,
Hung and Cheng train Omnigrok's MNIST recipe on this data to look for grokking beyond images and algorithms.

The files come through ``grokutils.datafiles`` from ``$GROKUTILS_DATA/wine_quality/`` (or the user cache), and
each file's SHA-256 is checked before it is read. The rows of the chosen file (or of both, red first) are
shuffled with ``seed``; the first ``n_train`` train and the rest are held out. Every feature is standardised
with the mean and (population) standard deviation of the training rows alone, so nothing about the validation
rows leaks into the inputs. Labels are the quality scores that occur, numbered 0..k-1 in increasing order.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import torch

from grokutils.config import check_choice, check_float, check_int
from grokutils.datafiles import DataFile, fetch
from grokutils.tasks.split import Split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/"
"""The UCI repository's folder holding both files."""

WINE_FILES = {
    "red": DataFile("wine_quality", "winequality-red.csv",
                    "4a402cf041b025d4566d954c3b9ba8635a3a8a01e039005d97d6a710278cf05e",
                    urls=(UCI_URL + "winequality-red.csv",)),
    "white": DataFile("wine_quality", "winequality-white.csv",
                      "76c3f809815c17c07212622f776311faeb31e87610d52c26d87d6e361b169836",
                      urls=(UCI_URL + "winequality-white.csv",)),
}
"""The two original UCI files by colour, with their SHA-256 checksums."""

FEATURES = ("fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
            "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol")
"""The 11 input columns, in file order; the 12th column is ``quality``."""

QUALITY_COUNTS = {
    "red": {3: 10, 4: 53, 5: 681, 6: 638, 7: 199, 8: 18},
    "white": {3: 20, 4: 163, 5: 1457, 6: 2198, 7: 880, 8: 175, 9: 5},
}
"""How many wines of each file have each quality score (from the files; sums: 1,599 red, 4,898 white)."""

COLOURS = {"red": ("red",), "white": ("white",), "both": ("red", "white")}
"""Each ``colour`` setting and the files it reads, in the order their rows are concatenated."""

CLASSES = ("present",)
"""Ways to turn quality scores into labels (``WineConfig.classes``)."""


def read_wine(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The features ``float32 [n, 11]`` and quality scores ``int64 [n]`` of a semicolon-separated wine CSV.

    Raises ValueError, naming the file, when the header is not the 11 feature names and ``quality``, or a row
    does not hold 11 numbers and an integer score.
    """
    features, quality = [], []
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f, delimiter=";")
        header = next(rows, [])
        if tuple(name.strip() for name in header) != (*FEATURES, "quality"):
            raise ValueError(f"{path} does not start with the wine quality header: expected the 12 columns "
                             f"{(*FEATURES, 'quality')}, got {header}")
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            try:
                if len(row) != len(FEATURES) + 1:
                    raise ValueError(f"{len(row)} columns instead of {len(FEATURES) + 1}")
                features.append([float(value) for value in row[:-1]])
                quality.append(int(row[-1]))
            except ValueError as err:
                raise ValueError(f"{path}, line {line}: cannot read the row {row}: {err}") from None
    if not quality:
        raise ValueError(f"{path} has a header but no rows")
    return torch.tensor(features, dtype=torch.float32), torch.tensor(quality, dtype=torch.int64)


def standardise(x_train: torch.Tensor, x_val: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sets shifted and scaled per column by the training set's mean and population standard deviation.

    A column that is constant on the training set is only shifted (its scale is taken as 1).
    """
    mean = x_train.double().mean(0)
    std = x_train.double().std(0, unbiased=False)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return tuple(((x.double() - mean) / std).float() for x in (x_train, x_val))


@dataclass(frozen=True)
class WineConfig:
    """Classify wines by quality score from 11 standardised measurements (Nie, Hung and Cheng's setting).

    Attributes:
        colour: which wines: ``"red"`` (1,599), ``"white"`` (4,898) or ``"both"`` (6,497: the two files
            concatenated, red first).
        frac_train: fraction of the wines used for training, in (0, 1); the rest are held out.
        seed: seed of the shuffle that splits the wines into training and validation sets.
        classes: how quality scores become labels. ``"present"``: the scores that occur in the chosen
            file(s), numbered 0..k-1 in increasing order (red: 3..8, k = 6; white and both: 3..9, k = 7).
    """

    colour: str = "red"
    frac_train: float = 0.8
    seed: int = 0
    classes: str = "present"

    def __post_init__(self):
        check_choice("colour", self.colour, tuple(COLOURS))
        check_float("frac_train", self.frac_train, 0, 1, open_low=True, open_high=True)
        check_int("seed", self.seed)
        check_choice("classes", self.classes, CLASSES)
        if not 1 <= self.n_train < self.n_rows:
            raise ValueError(f"frac_train={self.frac_train!r} gives {self.n_train} of {self.n_rows} wines for "
                             f"training; allowed: a fraction leaving at least one for training and one held out")

    @property
    def scores(self) -> tuple[int, ...]:
        """The quality scores that occur in the chosen file(s), in increasing order: label ``i`` is ``scores[i]``."""
        return tuple(sorted({s for c in COLOURS[self.colour] for s in QUALITY_COUNTS[c]}))

    @property
    def n_rows(self) -> int:
        """Number of wines in the chosen file(s)."""
        return sum(sum(QUALITY_COUNTS[c].values()) for c in COLOURS[self.colour])

    @property
    def n_train(self) -> int:
        """Size of the training set: ``int(frac_train * n_rows)``."""
        return int(self.frac_train * self.n_rows)

    @property
    def n_classes(self) -> int:
        """Number of classes (distinct quality scores present)."""
        return len(self.scores)

    @property
    def d_input(self) -> int:
        """Length of an input row (the 11 features)."""
        return len(FEATURES)

    def build(self, device: torch.device | str = "cpu") -> Split:
        """The split as tensors on ``device``.

        Reads the chosen file(s) (checksums verified), shuffles all rows with
        ``torch.randperm(n, generator=torch.Generator().manual_seed(seed))``, and keeps the first ``n_train``
        shuffled rows for training and the rest, in shuffled order, for validation. Features are standardised
        with the training rows' statistics (``standardise``); labels are positions in ``scores``.
        ``train_index`` holds the training rows' positions in file order (red before white for ``"both"``).

        Raises FileNotFoundError or ValueError (a corrupt or unreadable file, or a score outside ``scores``).
        """
        parts = [read_wine(fetch(WINE_FILES[c])) for c in COLOURS[self.colour]]
        x = torch.cat([features for features, _ in parts])
        quality = torch.cat([q for _, q in parts])
        scores = torch.tensor(self.scores)
        y = torch.searchsorted(scores, quality).clamp_(max=len(scores) - 1)
        if not torch.equal(scores[y], quality):
            raise ValueError(f"colour={self.colour!r}: the data hold quality scores outside {self.scores}")
        perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(self.seed))
        train, val = perm[:self.n_train], perm[self.n_train:]
        x_train, x_val = standardise(x[train], x[val])
        return Split(x_train, y[train], x_val, y[val], train_index=train).to(device)
