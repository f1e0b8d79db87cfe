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

from grokutils.config import check_float, check_int
from grokutils.datafiles import DataFile, fetch
from grokutils.tasks.augment import random_augment
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


def _check_digits(digits) -> None:
    """Raise ValueError unless ``digits`` is None or a tuple of at least two distinct integers 0-9."""
    if digits is None:
        return
    ok = (isinstance(digits, tuple) and len(digits) >= 2 and len(set(digits)) == len(digits)
          and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < N_CLASSES for d in digits))
    if not ok:
        raise ValueError(f"digits={digits!r} must be None or a tuple of at least two distinct digits 0-9")


@dataclass(frozen=True)
class MNISTConfig:
    """Classify MNIST digits from a prefix of the training set (Omnigrok's MNIST setting).

    Attributes:
        train_points: how many training images to use: the first ones of the original training
            file, in order (Omnigrok: ``Subset(train, range(1000))``).
        test_points: how many test images to evaluate on: the first ones of the original test file
            (all 10,000 by default). They form the split's validation set.
        digits: keep only images of these digits (the first ``train_points`` and ``test_points`` of them), labelled
            by their position in this tuple (``(0, 1)``: a two-class task); None: all ten, labelled by digit.
        rotation_degrees: augmentation: each training image of every minibatch is rotated about its centre by an
            angle drawn uniformly from [-rotation_degrees, rotation_degrees] (0: no rotation).
        blur_sigma: augmentation: then blurred by a Gaussian whose sigma (pixels) is drawn uniformly from
            [0, blur_sigma] (0: no blur). Metrics are computed on the images as they are.
    """

    train_points: int = 1000
    test_points: int = N_TEST_MAX
    digits: tuple[int, ...] | None = None
    rotation_degrees: float = 0.0
    blur_sigma: float = 0.0

    def __post_init__(self):
        _check_digits(self.digits)
        for name, top in (("train_points", N_TRAIN_MAX), ("test_points", N_TEST_MAX)):
            check_int(name, getattr(self, name), 1, top)
        check_float("rotation_degrees", self.rotation_degrees, 0, 180)
        check_float("blur_sigma", self.blur_sigma, 0)

    @property
    def n_train(self) -> int:
        """Size of the training set."""
        return self.train_points

    @property
    def n_classes(self) -> int:
        """Number of classes (the ten digits, or ``len(digits)``)."""
        return N_CLASSES if self.digits is None else len(self.digits)

    @property
    def d_input(self) -> int:
        """Length of an input row (28 x 28 pixels)."""
        return N_PIXELS

    @property
    def augments(self) -> bool:
        """Whether training minibatches are augmented (``augment``)."""
        return self.rotation_degrees > 0 or self.blur_sigma > 0

    def augment(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A minibatch ``[..., 784]`` rotated and blurred at random as the config says (``tasks.augment``)."""
        return random_augment(images, generator, self.rotation_degrees, self.blur_sigma)

    def build(self, device: torch.device | str = "cpu") -> Split:
        """The split as tensors on ``device``: the test images stand in the validation slots."""
        x_train, y_train, train_index = self._images("train", self.train_points)
        x_val, y_val, _ = self._images("t10k", self.test_points)
        if len(y_train) < self.train_points or len(y_val) < self.test_points:
            raise ValueError(f"digits={self.digits!r} has {len(y_train):,} training and {len(y_val):,} test images; "
                             f"train_points={self.train_points:,} and test_points={self.test_points:,} ask for more")
        return Split(x_train, y_train, x_val, y_val, train_index=train_index).to(device)

    def _images(self, prefix: str, count: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Images, labels and their positions in the file: the first ``count`` (of ``digits``, when set)."""
        images, labels = f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"
        if self.digits is None:
            return load_images(images, count), load_labels(labels, count), torch.arange(count)
        y = load_labels(labels)
        index = torch.nonzero(torch.isin(y, torch.tensor(self.digits))).flatten()[:count]
        relabel = torch.zeros(N_CLASSES, dtype=torch.long)
        relabel[list(self.digits)] = torch.arange(len(self.digits))
        return load_images(images)[index], relabel[y[index]], index
