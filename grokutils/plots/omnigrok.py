"""Figures of the Omnigrok MNIST chapter."""
from __future__ import annotations
