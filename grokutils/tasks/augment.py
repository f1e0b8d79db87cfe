"""On-the-fly augmentation of MNIST rows: random rotation and Gaussian blur, with torch only.

The poster "Grokking — what/when/why?" adds a random rotation and a Gaussian blur to each MNIST
training image and finds that the grokking delay goes away. These functions do the same to flat rows
of 784 pixels (float in [0, 1], any leading dims, e.g. ``[K, B, 784]`` for K runs of batch B), each
image with its own parameters. torchvision's PyPI wheel does not import beside this book's CPU torch,
so rotation is ``affine_grid`` + ``grid_sample`` and the blur a separable, grouped ``conv2d``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from grokutils.config import check_float

SIDE = 28
"""Side of an MNIST image in pixels (a row holds ``SIDE * SIDE`` of them)."""

TINY_SIGMA = 1e-6
"""Blur widths at or below this (in pixels) give a delta kernel: the image unchanged."""


def _as_maps(images: torch.Tensor) -> torch.Tensor:
    """``images`` ``[..., 784]`` as ``[N, 1, 28, 28]`` (N the product of the leading dims)."""
    if images.shape[-1] != SIDE * SIDE:
        raise ValueError(f"images of shape {tuple(images.shape)}: the last dim must be {SIDE * SIDE} pixels")
    return images.reshape(-1, 1, SIDE, SIDE)


def _per_image(values, images: torch.Tensor) -> torch.Tensor:
    """``values`` broadcast to the leading shape of ``images``, flattened to ``[N]`` float64 on their device."""
    values = torch.as_tensor(values, dtype=torch.float64, device=images.device)
    return values.broadcast_to(images.shape[:-1]).reshape(-1)


def rotate(images: torch.Tensor, degrees) -> torch.Tensor:
    """Each image rotated about its centre (pixel 13.5, 13.5) by its own angle in ``degrees``.

    Convention: with the image drawn row 0 at the top and column 0 at the left, a positive angle turns
    it counter-clockwise; by +90 degrees the pixel right of the centre moves to just above it (row r,
    column c goes to row 27 - c, column r). ``degrees`` broadcasts to ``images.shape[:-1]``. Sampling
    is bilinear with zeros outside the image (``align_corners=False``); an angle of exactly 0 returns
    the image unchanged. Same shape and dtype as ``images``.
    """
    maps = _as_maps(images)
    angles = _per_image(degrees, images).deg2rad()
    cos, sin, zero = angles.cos(), angles.sin(), torch.zeros_like(angles)
    # theta maps output (x right, y down) to input: the inverse of the counter-clockwise turn on screen.
    theta = torch.stack([cos, -sin, zero, sin, cos, zero], dim=-1).reshape(-1, 2, 3).to(images.dtype)
    grid = F.affine_grid(theta, list(maps.shape), align_corners=False)
    turned = F.grid_sample(maps, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    turned = torch.where((angles == 0).reshape(-1, 1, 1, 1), maps, turned)
    return turned.reshape(images.shape)


def gaussian_kernels(sigmas: torch.Tensor, radius: int) -> torch.Tensor:
    """``[n, 2 * radius + 1]`` normalised 1-D Gaussian kernels, one per sigma of ``sigmas`` ``[n]``.

    A sigma at or below ``TINY_SIGMA`` gives a delta (1 at the centre, 0 elsewhere), not a division by zero.
    """
    sigmas = torch.as_tensor(sigmas).reshape(-1, 1)
    offsets = torch.arange(-radius, radius + 1, dtype=sigmas.dtype, device=sigmas.device)
    bumps = torch.exp(-0.5 * (offsets / sigmas.clamp_min(TINY_SIGMA)) ** 2)
    kernels = bumps / bumps.sum(dim=-1, keepdim=True)
    delta = (offsets == 0).to(sigmas.dtype).expand_as(kernels)
    return torch.where(sigmas > TINY_SIGMA, kernels, delta)


def blur(images: torch.Tensor, sigmas, radius: int | None = None) -> torch.Tensor:
    """Each image blurred by a Gaussian of its own width ``sigmas`` (pixels, broadcast to the leading shape).

    Separable: one horizontal and one vertical 1-D pass, each a grouped ``conv2d`` with one group per
    image, zero padding, output the input's size. ``radius=None`` is ``ceil(3 * max sigma)``, at least 1.
    A sigma of 0 leaves its image exactly unchanged. Same shape and dtype as ``images``.
    """
    maps = _as_maps(images)
    sigmas = _per_image(sigmas, images)
    if radius is None:
        radius = max(1, math.ceil(3 * float(sigmas.max())))
    kernels = gaussian_kernels(sigmas, radius).to(images.dtype)
    n, width = kernels.shape
    planes = maps.reshape(1, n, SIDE, SIDE)
    planes = F.conv2d(planes, kernels.reshape(n, 1, 1, width), padding=(0, radius), groups=n)
    planes = F.conv2d(planes, kernels.reshape(n, 1, width, 1), padding=(radius, 0), groups=n)
    return planes.reshape(images.shape)


def random_augment(images: torch.Tensor, generator: torch.Generator, max_degrees: float,
                   max_sigma: float) -> torch.Tensor:
    """Each image rotated by an angle uniform in [-max_degrees, max_degrees], then blurred by a sigma in [0, max_sigma].

    Both are uniform draws from ``generator`` on the CPU (angles first, then sigmas, one per image in the
    order of the flattened leading dims), moved to the images' device. Zero ranges return the images'
    values unchanged. Raises ValueError unless ``max_degrees`` is in [0, 180] and ``max_sigma`` >= 0.
    """
    check_float("max_degrees", max_degrees, 0, 180)
    check_float("max_sigma", max_sigma, 0)
    shape = images.shape[:-1]
    degrees = (2 * torch.rand(shape, generator=generator, dtype=torch.float64) - 1) * max_degrees
    sigmas = torch.rand(shape, generator=generator, dtype=torch.float64) * max_sigma
    return blur(rotate(images, degrees.to(images.device)), sigmas.to(images.device))
