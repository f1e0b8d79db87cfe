"""Figures of the Power et al. chapter."""
from __future__ import annotations
