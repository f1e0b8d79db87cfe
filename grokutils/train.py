"""One training loop for every chapter: ``train(cfg) -> History``.

``fit`` is the loop; it drives a ``SingleRun`` here or a ``sweep.Ensemble`` (K runs as one batched
model), both ``Runner``s, through the one update step (``step.update``). The whole dataset lives in
tensors on the device. Minibatches are slices of one random permutation per epoch (augmented afresh
where the task augments, as MNIST can); metrics (train and validation loss and accuracy on the full
sets, or the first ``max_eval_train`` training examples, the total weight norm, and the probes a config
asks for) are computed only at the logged steps, and the progress bar advances there too, so a step costs
one forward, one backward and one optimiser update. Each run stops on its own (``stop_at_val_acc``),
so a run stores the same history whether it trained alone or in a batch.
"""
from __future__ import annotations

import dataclasses
import time

import torch
from tqdm import tqdm

from grokutils import noise
from grokutils.config import RunConfig, resolve_device
from grokutils.history import LOGIT_PROBES, METRICS, PROBES, History, from_logs
from grokutils.muon import Muon
from grokutils.step import (Adam, Groups, decay_anchors, is_correct, per_example_losses, per_run_loss, stacked_norms,
                            update)
from grokutils.tasks.split import Split


def batch_indices(n: int, batch_size: int | None, gen: torch.Generator, device):
    """Yield one index tensor per step: slices of a fresh permutation each epoch (None = full)."""
    if batch_size is None:
        while True:
            yield None
    per_epoch = n // batch_size
    while True:
        perm = torch.randperm(n, generator=gen).to(device)
        for i in range(per_epoch):
            yield perm[i * batch_size : (i + 1) * batch_size]


class Runner:
    """What ``fit`` and ``step.update`` need of K runs sharing a schedule.

    Subclasses set ``model``-specific members: ``logits(x, shared) -> [K, N, C]``, ``stacked_params()
    -> {name: [K, ...]}``, ``states() -> [state_dict]`` and the optimiser ``opt``; this base holds the
    data, the batch order, the norm constraint and the evaluation. Runs of one task share its data;
    runs whose tasks differ (split seed, training-set size) hold theirs stacked ``[K, ...]``
    (``stacked_data``), padded to the largest, with masks of each run's own examples.
    """

    def __init__(self, cfgs: list[RunConfig], device: torch.device):
        self.configs, self.device = list(cfgs), device
        tasks = [c.task for c in cfgs]
        self.stacked_data = any(t != tasks[0] for t in tasks)
        splits = [t.build(device) for t in tasks] if self.stacked_data else [tasks[0].build(device)]
        self.train_index = [s.train_index for s in splits] * (1 if self.stacked_data else len(cfgs))
        self.data: Split = _stack_splits(splits) if self.stacked_data else splits[0]
        self.masks = _masks(splits, device) if self.stacked_data else (None, None)
        sizes = [len(s.y_train) for s in splits] * (1 if self.stacked_data else len(cfgs))
        tc = cfgs[0].train
        self.batches = [batch_indices(n, tc.batch_size, torch.Generator().manual_seed(c.train.seed), device)
                        for n, c in zip(sizes, cfgs)]
        self.augment_generators = ([torch.Generator().manual_seed(c.train.seed) for c in cfgs]
                                   if getattr(tasks[0], "augments", False) else None)
        self.transform_state: dict = {}  # what the gradient transforms keep across updates (step.GRAD_TRANSFORMS)

    def _init_constraints(self) -> None:
        """Set up, once the model is built, the norm constraint and the runs' noise generators (``noise``)."""
        self.fixed = torch.tensor([c.train.fixed_norm for c in self.configs], device=self.device)
        self.target_norm = stacked_norms(list(self.stacked_params().values()))
        noisy = any(c.train.update_noise or c.train.weight_noise or getattr(c.model, "dropout", 0) for c in self.configs)
        self.generators = noise.generators([c.train.seed for c in self.configs], self.device) if noisy else None
        if hasattr(self.model, "use_generators"):
            self.model.use_generators(self.generators)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, bool, torch.Tensor | None]:
        """This step's inputs, labels ``[K, N]``, whether the inputs are one batch shared by all runs, and the
        mask of each run's own examples (None: all are). A task that ``augments`` its training data gets each
        run's inputs augmented afresh, with a generator of the run's own (seeded with its ``train.seed``)."""
        x, y, shared, mask = self._indexed_batch()
        if self.augment_generators is None:
            return x, y, shared, mask
        x = x.expand(len(self.configs), *x.shape) if shared else x
        task = self.configs[0].task
        return torch.stack([task.augment(x[k], gen) for k, gen in enumerate(self.augment_generators)]), y, False, mask

    def _indexed_batch(self) -> tuple[torch.Tensor, torch.Tensor, bool, torch.Tensor | None]:
        idx = [next(b) for b in self.batches]
        if idx[0] is None:
            y = self.data.y_train
            return self.data.x_train, y if self.stacked_data else y.expand(len(idx), *y.shape), not self.stacked_data, self.masks[0]
        idx = torch.stack(idx)
        if self.stacked_data:
            runs = torch.arange(len(idx), device=idx.device)[:, None]
            return self.data.x_train[runs, idx], self.data.y_train[runs, idx], False, None
        return self.data.x_train[idx], self.data.y_train[idx], False, None

    @torch.no_grad()
    def metrics(self) -> list[dict[str, float]]:
        """Each run's metrics (``history.METRICS``) and probe columns, one dict per run."""
        kind, probes = [c.train.loss for c in self.configs], self.configs[0].train.probes
        self.model.eval()  # no dropout in the metrics
        train = self._evaluate(*self._eval_train(), kind, [p for p in probes if p in LOGIT_PROBES])
        val = self._evaluate(self.data.x_val, self.data.y_val, self.masks[1], kind, [])
        self.model.train()
        stacked = self.stacked_params()
        columns = dict(zip(METRICS, (train[0], val[0], train[1], val[1], stacked_norms(list(stacked.values())))))
        columns.update(train[2])
        for probe in probes:
            if probe in PROBES:
                columns.update(PROBES[probe](stacked))
        return [{name: float(col[k]) for name, col in columns.items()} for k in range(len(self.configs))]

    def _eval_train(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The training examples the metrics read: all, or the first ``max_eval_train`` of each run's."""
        x, y, mask, cap = self.data.x_train, self.data.y_train, self.masks[0], self.configs[0].train.max_eval_train
        if cap is None:
            return x, y, mask
        if not self.stacked_data:
            return x[:cap], y[:cap], None
        return x[:, :cap], y[:, :cap], None if mask is None else mask[:, :cap]

    def _evaluate(self, x, y, mask, kind: list[str], probes: list[str]) -> tuple[torch.Tensor, torch.Tensor, dict]:
        shared = not self.stacked_data
        return evaluate_logits(lambda xs: self.logits(xs, shared), x, y, kind, len(self.configs), dim=int(not shared),
                               mask=mask, probes=probes)


EVAL_CHUNK = {"cpu": 512}
"""Examples per forward pass when evaluating, by device type (others: ``EVAL_CHUNK_DEFAULT``). On a CPU small chunks
stay in cache: 512 evaluates a p = 97 validation set about 1.8x faster than 8,192 (measured on this book's machine)."""
EVAL_CHUNK_DEFAULT = 8192


@torch.no_grad()
def evaluate_logits(logits_fn, x, y, kind: str | list[str], k: int = 1, chunk: int | None = None, dim: int = 0,
                    mask: torch.Tensor | None = None, probes: list[str] = ()) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Mean loss and accuracy, ``[K]`` each, of ``logits_fn(inputs) -> [K, N, C]`` on ``(x, y)``, in chunks of
    ``chunk`` examples (None: ``EVAL_CHUNK`` for the device of ``x``), and the columns of the ``probes`` named (of
    ``history.LOGIT_PROBES``, each column true or false per example) as each run's share of its examples, ``{column: [K]}``.

    ``x`` and ``y`` hold one set for every run (``dim=0``), or one per run stacked ``[K, N, ...]`` (``dim=1``)
    with ``mask [K, N]`` marking each run's own examples.
    """
    losses, correct = torch.zeros(k, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
    shares: dict[str, torch.Tensor] = {}
    chunk = chunk or EVAL_CHUNK.get(x.device.type, EVAL_CHUNK_DEFAULT)
    n = y.shape[dim]
    masks = (None,) * len(range(0, n, chunk)) if mask is None else mask.split(chunk, 1)
    for xs, ys, ms in zip(x.split(chunk, dim), y.split(chunk, dim), masks):
        logits = logits_fn(xs)
        ys = ys.expand(k, *ys.shape) if dim == 0 else ys
        if ms is None:
            losses += per_run_loss(kind, logits, ys).double().cpu() * ys.shape[1]
            correct += is_correct(logits, ys).sum(1).double().cpu()
        else:
            losses += (per_example_losses(kind, logits, ys) * ms).sum(1).double().cpu()
            correct += (is_correct(logits, ys) & ms).sum(1).double().cpu()
        for probe in probes:
            for name, hits in LOGIT_PROBES[probe](logits, ys).items():
                hits = hits.flatten(2).all(2) if hits.dim() > 2 else hits  # several target positions: all of them
                shares[name] = shares.get(name, 0) + (hits if ms is None else hits & ms).sum(1).double().cpu()
    count = torch.full((k,), float(n), dtype=torch.float64) if mask is None else mask.sum(1).double().cpu()
    return losses / count, correct / count, {name: total / count for name, total in shares.items()}


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy") -> tuple[float, float]:
    """Mean loss and accuracy of one model (with ``final_logits``) on ``(x, y)``."""
    mean_loss, acc, _ = evaluate_logits(lambda xs: model.final_logits(xs)[None], x, y, loss)
    return mean_loss.item(), acc.item()


class SingleRun(Runner):
    """One run trained alone: a plain model, no batching overhead; its parameters seen as K = 1 stacks."""

    def __init__(self, cfg: RunConfig, device: torch.device):
        super().__init__([cfg], device)
        self.model = initial_model(cfg, device).to(device)
        self.opt = make_optimizer(dict(self.model.named_parameters()), [cfg.train], stacked=False)
        self._init_constraints()

    def logits(self, x: torch.Tensor, shared: bool) -> torch.Tensor:
        """``[1, N, C]``: the model's final logits on ``x`` (``[N, ...]``, or ``[1, N, ...]`` if not shared)."""
        return self.model.final_logits(x if shared else x[0])[None]

    def stacked_params(self) -> dict[str, torch.Tensor]:
        """The parameters by name, as ``[1, ...]`` views (in-place edits reach the model)."""
        return {name: p.unsqueeze(0) for name, p in self.model.named_parameters()}

    def states(self) -> list[dict[str, torch.Tensor]]:
        """The weights, copied to the CPU (one state_dict in a list)."""
        return [{k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}]


def make_optimizer(named: dict[str, torch.Tensor], train_cfgs: list, stacked: bool) -> Adam | Muon | Groups:
    """The optimiser of runs with these ``TrainConfig``s (one lr and weight decay each) over ``named`` parameters:
    ``step.Adam`` (Adam or AdamW), or ``muon.Muon`` (Muon on the hidden weight matrices, AdamW on the rest); where a run
    gives its embedding its own lr or weight decay (``embed_lr``, ``embed_weight_decay``), one such optimiser over the
    embedding (``embed.*``) and one over the rest (``step.Groups``)."""
    if all(c.embed_lr is None and c.embed_weight_decay is None for c in train_cfgs):
        return _optimizer(named, train_cfgs, stacked)
    embed = {name: p for name, p in named.items() if name.startswith("embed.")}
    if not embed:
        raise ValueError("embed_lr / embed_weight_decay need a model with embedding parameters ('embed.*'); this "
                         f"model has {tuple(named)}; allowed: None")
    rest = {name: p for name, p in named.items() if name not in embed}
    embed_cfgs = [dataclasses.replace(c, lr=c.lr if c.embed_lr is None else c.embed_lr,
                                      weight_decay=c.weight_decay if c.embed_weight_decay is None else c.embed_weight_decay)
                  for c in train_cfgs]
    return Groups([_optimizer(embed, embed_cfgs, stacked)] + ([_optimizer(rest, train_cfgs, stacked)] if rest else []))


def _optimizer(named: dict[str, torch.Tensor], train_cfgs: list, stacked: bool) -> Adam | Muon:
    tc, params = train_cfgs[0], list(named.values())
    lrs, decays = [c.lr for c in train_cfgs], [c.weight_decay for c in train_cfgs]
    if tc.optimizer == "muon":
        return Muon(named, lrs, decays, tc.betas, stacked, eps=tc.adam_eps, fused=tc.fused_adam)
    anchors = decay_anchors(params, [c.decay_to == "init" for c in train_cfgs], stacked)
    return Adam(params, lrs, decays, tc.betas, decoupled=tc.optimizer == "adamw", stacked=stacked, eps=tc.adam_eps,
                fused=tc.fused_adam, anchors=anchors)


def initial_model(cfg: RunConfig, device: torch.device) -> torch.nn.Module:
    """``cfg``'s model before its first update: freshly initialised, or with the final weights of ``cfg.init_from``
    (from the run cache, trained there first if it is missing: the parent is cached even where its children are
    trained without the cache)."""
    model = cfg.model.build()
    if cfg.init_from is not None:
        from grokutils.runs import load_or_train  # the cache imports this module

        model.load_state_dict(load_or_train(cfg.init_from, device, progress=False).final_state)
    return model


def fit(runner: Runner, progress: bool = True) -> list[History]:
    """The training loop: update ``runner`` for its configs' steps, logging and checkpointing on schedule.

    All runs share one schedule (steps, log steps, checkpoints). A run with ``stop_at_val_acc`` stops
    at its first logged step that reaches it: its history and final weights end there, while the
    others go on; the loop ends when every run has stopped or the steps are done.
    """
    tc, n = runner.configs[0].train, len(runner.configs)
    log_at = set(tc.log_steps())
    logs, checkpoints, finals = [[] for _ in range(n)], [{} for _ in range(n)], [None] * n
    start = time.perf_counter()
    bar = tqdm(total=tc.steps, disable=not progress, mininterval=1.0, desc=f"train x{n}")
    for step in range(tc.steps + 1):
        if step in log_at:
            _log(runner, step, logs, finals)
            bar.update(step - bar.n)
            bar.set_postfix(val_acc=" ".join(f"{rows[-1][1]['val_acc']:.2f}" for rows in logs[:4]), refresh=False)
            if all(f is not None for f in finals):
                break
        if tc.checkpoint_every and step % tc.checkpoint_every == 0:
            states = runner.states()
            for k in range(n):
                if finals[k] is None:
                    checkpoints[k][step] = states[k]
        if step == tc.steps:
            break
        update(runner, step)
    bar.close()
    seconds, device, last = time.perf_counter() - start, str(runner.device), runner.states()
    return [from_logs(cfg, logs[k], train_index=runner.train_index[k], final_state=finals[k] or last[k],
                      wall_seconds=seconds, device=device, _checkpoints=checkpoints[k])
            for k, cfg in enumerate(runner.configs)]


def _log(runner: Runner, step: int, logs: list, finals: list) -> None:
    """Append this step's metrics to each running run's log; stop the runs that reached their target."""
    rows, states = runner.metrics(), None
    for k, (cfg, row) in enumerate(zip(runner.configs, rows)):
        if finals[k] is not None:
            continue
        logs[k].append((step, row))
        target = cfg.train.stop_at_val_acc
        if target is not None and row["val_acc"] >= target:
            states = states or runner.states()
            finals[k] = states[k]


def _stack_splits(splits: list[Split]) -> Split:
    """One Split holding each run's own sets ``[K, N, ...]``, padded to the largest with copies of its first row."""
    return Split(*(_pad_stack([getattr(s, f) for s in splits]) for f in ("x_train", "y_train", "x_val", "y_val")))


def _pad_stack(tensors: list[torch.Tensor]) -> torch.Tensor:
    n = max(len(t) for t in tensors)
    return torch.stack([torch.cat([t, t[:1].expand(n - len(t), *t.shape[1:])]) for t in tensors])


def _masks(splits: list[Split], device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Masks ``[K, N]`` of each run's own training and validation examples (None where no run is padded)."""
    out = []
    for field in ("y_train", "y_val"):
        sizes = torch.tensor([len(getattr(s, field)) for s in splits], device=device)
        n = int(sizes.max())
        out.append(None if bool((sizes == n).all()) else torch.arange(n, device=device)[None, :] < sizes[:, None])
    return out[0], out[1]


def train(cfg: RunConfig, device: str | torch.device | None = None, progress: bool = True) -> History:
    """Train one run from scratch and return its ``History`` (see ``runs.load_or_train`` to cache)."""
    return fit(SingleRun(cfg, resolve_device(device)), progress)[0]
