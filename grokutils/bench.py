"""Benchmark: milliseconds per training step of the book's canonical settings on this machine.

Run ``python -m grokutils.bench`` (or ``make bench``). Each setting times the training loop's own
update (``step.update``) (forward, backward, optimiser step) and counts its matrix FLOPs, so the printed GFLOP/s can
be read against the machine's measured matmul throughput (a large square fp32 product). Every figure is the median,
with its range, of ``--repeats`` rounds that interleave what they compare, so a busy machine moves both sides alike.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from grokutils.config import RunConfig, resolve_device
from grokutils.dispatch import cores, local_workers, plan, sync, time_steps
from grokutils.recipes import nanda_run, omnigrok_mnist_run, power_run
from grokutils.step import update
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
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def time_step(cfg: RunConfig, device: torch.device, steps: int, warmup: int = 5) -> tuple[float, float]:
    """(milliseconds per update, matrix GFLOP per update) of ``cfg`` with the training loop's update
    (``dispatch.time_steps``; the FLOPs counted on one more update)."""
    runner = SingleRun(cfg, device)
    with FlopCounterMode(display=False) as counter:
        update(runner, 0)
    return time_steps([cfg], device, steps, warmup=warmup) * 1e3, counter.get_total_flops() / 1e9


def step_table(device: torch.device, steps: int, repeats: int) -> None:
    """Print each canonical setting's milliseconds per update and its matrix FLOP rate against the measured matmul
    peak: medians, with ranges, of ``repeats`` rounds that time every setting and the peak in turn (interleaved, so
    the machine's load moves them alike)."""
    settings = canonical_settings()
    rounds = []
    for _ in range(repeats):
        rounds.append({"peak": matmul_gflops(device), **{name: time_step(cfg, device, steps) for name, cfg in settings.items()}})
    peaks = [r["peak"] for r in rounds]
    print(f"device: {device} ({torch.get_num_threads()} threads); fp32 2048x2048 matmul: {statistics.median(peaks):.0f} "
          f"GFLOP/s [{min(peaks):.0f}-{max(peaks):.0f}], {repeats} interleaved rounds")
    print(f"{'setting':42s} {'ms/step [range]':>20s} {'GFLOP/step':>11s} {'GFLOP/s':>8s} {'of matmul [range]':>18s}")
    for name in settings:
        ms = sorted(r[name][0] for r in rounds)
        gflop = rounds[0][name][1]
        shares = sorted(gflop / r[name][0] * 1e3 / r["peak"] for r in rounds)
        spread = f"{statistics.median(ms):.1f} [{ms[0]:.1f}-{ms[-1]:.1f}]"
        share = f"{statistics.median(shares):.0%} [{shares[0]:.0%}-{shares[-1]:.0%}]"
        print(f"{name:42s} {spread:>20s} {gflop:11.2f} {gflop / statistics.median(ms) * 1e3:8.0f} {share:>18s}")


def sweep_settings() -> dict[str, tuple[RunConfig, int]]:
    """The sweep benchmark's settings (with the timed steps of one measurement): an overhead-bound small
    transformer, Omnigrok's MLP, and Nanda et al.'s full-batch run."""
    mnist = omnigrok_mnist_run()
    return {
        "power 2-layer, a+b mod 31, batch 32": (power_run(op="add", p=31, frac_train=0.5).replace(batch_size=32), 20),
        "omnigrok MLP 784-200-200-10, batch 200": (RunConfig(RandomImages(), mnist.model, mnist.train), 20),
        "nanda 1-layer, p=113, full batch 3,830": (nanda_run(), 3),
    }


def seeds(cfg: RunConfig, k: int) -> list[RunConfig]:
    """``k`` copies of ``cfg`` that differ in their seeds (initialisation and batch order)."""
    return [RunConfig(cfg.task, dataclasses.replace(cfg.model, seed=i), dataclasses.replace(cfg.train, seed=i))
            for i in range(k)]


def sweep_rates(cfgs: list[RunConfig], device: torch.device, steps: int, pool=None, workers: int = 2) -> dict[str, float]:
    """Run-steps per second of ``cfgs`` one after another, as one batched model, and (with a ``pool``) as one
    batched chunk per worker process at one thread each, the workers timed side by side."""
    k = len(cfgs)
    rates = {"sequential": 1 / time_steps(cfgs[:1], device, steps),
             "batched": k / time_steps(cfgs, device, max(1, steps // 4))}
    if pool is not None:
        size = -(-k // workers)
        chunks = [cfgs[i : i + size] for i in range(0, k, size)]
        times = [f.result() for f in [pool.submit(time_steps, c, device, max(1, steps // 4), 1) for c in chunks]]
        rates["workers"] = sum(len(c) / t for c, t in zip(chunks, times))
    return rates


def sweep_table(device: torch.device, k: int = 16, repeats: int = 3) -> None:
    """Print each option's throughput against training the ``k`` runs one after another: the median ratio over
    ``repeats`` interleaved measurements, with its range, and the option the sweep engine's measurement picks."""
    pool = local_workers(cores()) if device.type == "cpu" and cores() > 1 else None
    print(f"\nsweeps of K = {k} runs: throughput against sequential, median [range] of {repeats} repeats")
    print(f"{'sweep setting':42s} {'option':>10s} {'run-steps/s':>12s} {'speed-up':>18s}")
    try:
        for name, (cfg, steps) in sweep_settings().items():
            cfgs = seeds(cfg, k)
            measured = [sweep_rates(cfgs, device, steps, pool, cores()) for _ in range(repeats)]
            for option in measured[0]:
                ratios = sorted(m[option] / m["sequential"] for m in measured)
                rate = statistics.median(m[option] for m in measured)
                spread = f"{statistics.median(ratios):.1f}x [{ratios[0]:.1f}-{ratios[-1]:.1f}]"
                print(f"{name:42s} {option:>10s} {rate:12.1f} {spread:>18s}")
            chunk = plan(cfgs, device, "measured")[0]
            print(f"{'':42s} {'engine':>10s} picks {'workers' if chunk.threads else chunk.mode}")
    finally:
        if pool is not None:
            pool.shutdown()


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when available)")
    parser.add_argument("--steps", type=int, default=30, help="timed updates per setting")
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep table")
    parser.add_argument("--k", type=int, default=16, help="runs in a benchmarked sweep")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of every measurement")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    step_table(device, args.steps, args.repeats)
    if not args.no_sweep:
        sweep_table(device, args.k, args.repeats)


if __name__ == "__main__":
    main()
