"""Tasks: what a network is trained on, each a frozen config with ``build(device) -> Split``.

    split     the ``Split`` every task builds (full-batch tensors)
    modular   a ∘ b mod p (Power et al.; Nanda et al.)
    mnist     MNIST digits (Omnigrok)
"""
from grokutils.tasks.mnist import MNISTConfig
from grokutils.tasks.modular import ModularConfig
from grokutils.tasks.split import Split

__all__ = ["MNISTConfig", "ModularConfig", "Split"]
