"""MNIST (LeCun et al. 1998) as full-batch tensors, read from the four original IDX files.

The files come through ``grokutils.datafiles``: from ``$GROKUTILS_DATA/mnist/`` when that variable
is set, else from the user cache, downloaded there from a public mirror when missing. Each file's
MD5 is checked before it is read. Images become ``float32`` rows of 784 pixels scaled to [0, 1]
(what torchvision's ``ToTensor`` gives, as in Omnigrok's MNIST notebook); labels are ``int64``.
"""
from __future__ import annotations

import gzip
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from grokutils.config import check_int
from grokutils.datafiles import DataFile, fetch
from grokutils.tasks.split import Split

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
"""Public copies of the original files (the first is torchvision's), tried in order."""

_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

MNIST_FILES = {
    name: DataFile("mnist", name, digest, algorithm="md5", urls=tuple(m + name for m in MIRRORS))
    for name, digest in _MD5.items()
}
"""The four original files by name, with their MD5 checksums (torchvision checks the same)."""

IDX_MAGIC = {2049: 1, 2051: 3}
"""IDX magic numbers of unsigned-byte files and the number of dimensions each announces."""

N_PIXELS, N_CLASSES, N_TRAIN_MAX, N_TEST_MAX = 28 * 28, 10, 60_000, 10_000


def read_idx(path: Path, count: int | None = None) -> torch.Tensor:
    """The first ``count`` items (all when None) of a gzipped unsigned-byte IDX file, as ``uint8``.

    Raises ValueError when the header is not an IDX header or the file ends early.
    """
    with gzip.open(path, "rb") as f:
        header = f.read(4)
        magic = int.from_bytes(header, "big")
        if len(header) < 4 or magic not in IDX_MAGIC:
            raise ValueError(f"{path} is not an unsigned-byte IDX file (magic number {magic})")
        dims = [int.from_bytes(f.read(4), "big") for _ in range(IDX_MAGIC[magic])]
        n = dims[0] if count is None else min(count, dims[0])
        size = n * math.prod(dims[1:])
        data = f.read(size)
    if len(data) < size:
        raise ValueError(f"{path} ends early: {len(data)} of {size} data bytes")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(n, *dims[1:])


def load_images(name: str, count: int | None = None) -> torch.Tensor:
    """``[count, 784]`` float32 pixels in [0, 1] from the verified file ``name``."""
    return read_idx(fetch(MNIST_FILES[name]), count).flatten(1).float().div_(255.0)


def load_labels(name: str, count: int | None = None) -> torch.Tensor:
    """``[count]`` int64 digit labels from the verified file ``name``."""
    return read_idx(fetch(MNIST_FILES[name]), count).long()


@dataclass(frozen=True)
class MNISTConfig:
    """Classify MNIST digits from a prefix of the training set (Omnigrok's MNIST setting).

    Attributes:
        train_points: how many training images to use: the first ones of the original training
            file, in order (Omnigrok: ``Subset(train, range(1000))``).
        test_points: how many test images to evaluate on: the first ones of the original test file
            (all 10,000 by default). They form the split's validation set.
    """

    train_points: int = 1000
    test_points: int = N_TEST_MAX

    def __post_init__(self):
        for name, top in (("train_points", N_TRAIN_MAX), ("test_points", N_TEST_MAX)):
            value = getattr(self, name)
            check_int(name, value, 1, top)

    @property
    def n_train(self) -> int:
        """Size of the training set."""
        return self.train_points

    @property
    def n_classes(self) -> int:
        """Number of classes (the ten digits)."""
        return N_CLASSES

    @property
    def d_input(self) -> int:
        """Length of an input row (28 x 28 pixels)."""
        return N_PIXELS

    def build(self, device: torch.device | str = "cpu") -> Split:
        """The split as tensors on ``device``: the test images stand in the validation slots."""
        split = Split(
            load_images("train-images-idx3-ubyte.gz", self.train_points),
            load_labels("train-labels-idx1-ubyte.gz", self.train_points),
            load_images("t10k-images-idx3-ubyte.gz", self.test_points),
            load_labels("t10k-labels-idx1-ubyte.gz", self.test_points),
            train_index=torch.arange(self.train_points),
        )
        return split.to(device)
