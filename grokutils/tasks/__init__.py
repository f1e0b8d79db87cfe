"""Tasks: what a network is trained on, each a frozen config with ``build(device) -> Split``.

    split     the ``Split`` every task builds (full-batch tensors)
    modular   a ∘ b mod p (Power et al.; Nanda et al.)
    permutations  products in the symmetric group S_n (Power et al.'s S5)
    memorisation  random labels on the pairs, alone or beside addition (Huang et al.)
    mnist     MNIST digits (Omnigrok), optionally a subset of the digits and augmented minibatches
    augment   random rotation and Gaussian blur of MNIST images, torch only
    wine      the Wine Quality data (Cortez et al. 2009) as a classification task
    pair_sums a + b over the unordered pairs of p symbols (Liu et al.'s toy addition)
"""
from grokutils.tasks.memorisation import MultiTaskConfig, RandomLabelConfig
from grokutils.tasks.mnist import MNISTConfig
from grokutils.tasks.modular import ModularConfig
from grokutils.tasks.pair_sums import PairSumConfig
from grokutils.tasks.permutations import PermutationConfig
from grokutils.tasks.split import Split
from grokutils.tasks.wine import WineConfig

__all__ = ["MNISTConfig", "ModularConfig", "MultiTaskConfig", "PairSumConfig", "PermutationConfig", "RandomLabelConfig",
           "Split", "WineConfig"]
