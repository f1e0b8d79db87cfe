"""Benchmark: milliseconds per training step of the book's canonical settings on this machine.

Run ``python -m grokutils.bench`` (or ``make bench``). Each setting times the training loop's own
update (``step.update``) (forward, backward, optimiser step) and counts its matrix FLOPs, so the printed GFLOP/s can
be read against the machine's measured matmul throughput (a large square fp32 product).
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from grokutils.config import RunConfig, resolve_device
from grokutils.recipes import nanda_run, omnigrok_mnist_run, power_run
from grokutils.step import update
from grokutils.sweep import Ensemble
from grokutils.tasks import Split
from grokutils.train import SingleRun


@dataclass(frozen=True)
class RandomImages:
    """Random inputs of MNIST's shape: step time does not depend on the pixel values.

    Attributes:
        n_train: number of training examples.
        n_features: input width.
        n_classes: number of labels.
    """

    n_train: int = 1000
    n_features: int = 784
    n_classes: int = 10

    def build(self, device="cpu") -> Split:
        """Uniform inputs and random labels (no validation set is needed to time a step)."""
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(self.n_train, self.n_features, generator=gen)
        y = torch.randint(0, self.n_classes, (self.n_train,), generator=gen)
        return Split(x, y, x[:1], y[:1]).to(device)


def canonical_settings() -> dict[str, RunConfig]:
    """The papers' recipes (``grokutils.recipes``): Nanda full batch, Power at batch 512, Omnigrok's MLP at 200.

    The MLP trains on random images of MNIST's shape, so the benchmark needs no data files.
    """
    mnist = omnigrok_mnist_run()
    return {
        "nanda 1-layer, p=113, full batch 3,830": nanda_run(),
        "power 2-layer, p=97, batch 512": power_run(),
        "omnigrok MLP 784-200-200-10, batch 200": RunConfig(RandomImages(), mnist.model, mnist.train),
    }


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 throughput of an ``n x n`` matrix product, in GFLOP/s."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def time_step(cfg: RunConfig, device: torch.device, steps: int, warmup: int = 5) -> tuple[float, float]:
    """(milliseconds per update, matrix GFLOP per update) of ``cfg`` with the training loop's update."""
    runner = SingleRun(cfg, device)
    for i in range(warmup):
        update(runner, i)
    with FlopCounterMode(display=False) as counter:
        update(runner, warmup)
    _sync(device)
    start = time.perf_counter()
    for i in range(steps):
        update(runner, warmup + 1 + i)
    _sync(device)
    return (time.perf_counter() - start) / steps * 1e3, counter.get_total_flops() / 1e9


def time_sweep_step(cfg: RunConfig, k: int, device: torch.device, steps: int, warmup: int = 3) -> float:
    """Milliseconds per update of ``k`` copies of ``cfg`` (different seeds) trained as one batched model."""
    seeds = [RunConfig(cfg.task, dataclasses.replace(cfg.model, seed=i), dataclasses.replace(cfg.train, seed=i))
             for i in range(k)]
    ensemble = Ensemble(seeds, device)
    for i in range(warmup):
        update(ensemble, i)
    _sync(device)
    start = time.perf_counter()
    for i in range(steps):
        update(ensemble, warmup + i)
    _sync(device)
    return (time.perf_counter() - start) / steps * 1e3


def sweep_table(device: torch.device, steps: int, ks=(1, 4, 16)) -> None:
    """Print the throughput of batched runs against the same runs one after another."""
    print(f"\n{'sweep setting':42s} {'K':>3s} {'batched ms/step':>16s} {'sequential ms':>14s} {'speed-up':>9s}")
    for name, cfg in canonical_settings().items():
        if name.startswith("power"):
            continue
        alone, _ = time_step(cfg, device, steps)
        for k in ks:
            batched = time_sweep_step(cfg, k, device, max(2, steps // k))
            print(f"{name:42s} {k:3d} {batched:16.1f} {k * alone:14.1f} {k * alone / batched:8.1f}x")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when available)")
    parser.add_argument("--steps", type=int, default=30, help="timed updates per setting")
    parser.add_argument("--no-sweep", action="store_true", help="skip the batched-sweep table")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    peak = matmul_gflops(device)
    print(f"device: {device} ({torch.get_num_threads()} threads); fp32 2048x2048 matmul: {peak:.0f} GFLOP/s")
    print(f"{'setting':42s} {'ms/step':>8s} {'GFLOP/step':>11s} {'GFLOP/s':>8s} {'of matmul':>9s}")
    for name, cfg in canonical_settings().items():
        ms, gflop = time_step(cfg, device, args.steps)
        rate = gflop / ms * 1e3
        print(f"{name:42s} {ms:8.1f} {gflop:11.2f} {rate:8.0f} {rate / peak:9.0%}")
    if not args.no_sweep:
        sweep_table(device, args.steps)


if __name__ == "__main__":
    main()
