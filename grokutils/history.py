"""What a run logged (``History``), the probes it can ask for, and when it fit and when it generalised.

A History holds named metric columns indexed like its logged ``steps``: always ``train_loss``,
``val_loss``, ``train_acc``, ``val_acc`` and ``weight_norm`` (readable as attributes), plus the columns
of the probes its config names (``"weight_norms"`` gives ``weight_norm/<group>`` per parameter group,
``"attn_norms"`` gives ``attn_norm/<layer>``, ``"matrix_norms"`` gives ``matrix_norm/<name>`` per weight matrix,
``"last_layer_norm"`` gives ``last_layer_norm``, ``"embedding"`` gives ``embed/<token>.<dim>`` for every entry of a
small embedding (``embedding_table`` reads them back); ``"softmax_collapse"``, read from the logits on the training set,
gives ``collapse/<precision>`` and ``zero_loss/<precision>`` for float16, float32 and float64: ``LOGIT_PROBES``).
Checkpoints live in a side file of the run cache and are read only when first used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from grokutils.config import RunConfig

METRICS = ("train_loss", "val_loss", "train_acc", "val_acc", "weight_norm")


def _group(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def weight_norms(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """L2 norm of each parameter group (a parameter's name without its last part), ``[K]`` each."""
    squares: dict[str, torch.Tensor] = {}
    for name, p in params.items():
        squares[_group(name)] = squares.get(_group(name), 0) + p.detach().pow(2).flatten(1).sum(1)
    return {f"weight_norm/{g}": s.sqrt() for g, s in squares.items()}


def attn_norms(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """L2 norm of each attention layer's W_Q, W_K, W_V and W_O together, ``[K]`` each (none in an MLP)."""
    squares: dict[str, torch.Tensor] = {}
    for name, p in params.items():
        if ".attn.W_" in name:
            layer = name.split(".attn.")[0]
            squares[layer] = squares.get(layer, 0) + p.detach().pow(2).flatten(1).sum(1)
    return {f"attn_norm/{layer}": s.sqrt() for layer, s in squares.items()}


def matrix_norms(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The Frobenius norm of each weight matrix (a parameter with two or more axes per run, not a bias), ``[K]`` each:
    ``blocks.0.attn.W_Q`` is one matrix, all heads together."""
    return {f"matrix_norm/{name}": p.detach().pow(2).flatten(1).sum(1).sqrt() for name, p in params.items()
            if p.dim() >= 3 and not name.rsplit(".", 1)[-1].startswith("b")}


def last_layer_norm(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """L2 norm of the output layer's parameters (the unembedding, or the MLP's last linear map), ``[K]``."""
    last = _group(list(params)[-1])
    group = [p for name, p in params.items() if _group(name) == last]
    return {"last_layer_norm": sum(p.detach().pow(2).flatten(1).sum(1) for p in group).sqrt()}


def embedding(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every entry of the embedding ``embed.W_E`` (``[V, d]`` per run), ``[K]`` each, as the column
    ``embed/<token>.<dim>`` (``embedding_table`` reads them back): a small representation over training (Liu et al.'s toy model: 10 symbols in
    one dimension)."""
    if "embed.W_E" not in params:
        raise ValueError("probes=('embedding',) needs a model with an embedding 'embed.W_E'; this model has "
                         f"{tuple(params)}")
    table = params["embed.W_E"].detach()
    return {f"embed/{v}.{d}": table[:, v, d] for v in range(table.shape[1]) for d in range(table.shape[2])}


def embedding_table(history: "History") -> torch.Tensor:
    """The logged embedding (probe ``"embedding"``) as ``[logged steps, V, d]``."""
    names = [name for name in history.metrics if name.startswith("embed/")]
    if not names:
        raise ValueError("this run did not log its embedding: train it with probes=('embedding',)")
    index = [tuple(map(int, name[len("embed/"):].split("."))) for name in names]
    v, d = (max(i[0] for i in index) + 1, max(i[1] for i in index) + 1)
    out = torch.zeros(len(history.steps), v, d, dtype=torch.float64)
    for name, (i, j) in zip(names, index):
        out[:, i, j] = history.metrics[name].double()
    return out


PROBES: dict[str, Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]] = {
    "weight_norms": weight_norms,
    "embedding": embedding,
    "attn_norms": attn_norms,
    "matrix_norms": matrix_norms,
    "last_layer_norm": last_layer_norm,
}
"""Probe name -> function of the runs' named parameters ``{name: [K, ...]}`` returning ``{column: [K]}``."""


PRECISIONS = {"f16": torch.float16, "f32": torch.float32, "f64": torch.float64}
"""The floating-point formats the softmax-collapse meter reads the logits in, by column suffix."""


def softmax_sums(logits: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``sum_j exp(z_j - max z)`` of each example's logits cast to ``dtype`` (the normaliser a softmax computes; the
    largest term is exactly 1, so the sum is exactly 1 when every other term rounds away), ``[...]``."""
    z = logits.to(dtype)
    return torch.exp(z - z.amax(-1, keepdim=True)).sum(-1)


def softmax_collapse(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per example, for each of ``PRECISIONS``: whether its softmax has collapsed (``collapse/<p>``: the normaliser is
    exactly 1, Prieto et al.'s softmax collapse) and whether its cross-entropy with the log-softmax in that format is
    exactly 0 (``zero_loss/<p>``: the example gives no gradient); boolean ``[...]`` each, for logits ``[..., C]`` and
    labels ``[...]``."""
    out = {}
    for name, dtype in PRECISIONS.items():
        z = logits.to(dtype)
        out[f"collapse/{name}"] = softmax_sums(z, dtype) == 1
        out[f"zero_loss/{name}"] = torch.log_softmax(z, -1).gather(-1, labels[..., None])[..., 0] == 0
    return out


LOGIT_PROBES: dict[str, Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]] = {
    "softmax_collapse": softmax_collapse,
}
"""Probe name -> function of the logits ``[K, N, C]`` and labels ``[K, N]`` on the training examples the metrics read,
returning ``{column: [K, N]}`` per example; the logged value is each column's share of a run's examples."""


@dataclass
class History:
    """What a run logged. Metric columns are indexed like ``steps``.

    Attributes:
        config: the run's config.
        steps: logged steps.
        metrics: ``{name: column}``: ``METRICS`` (train/validation loss and accuracy on the full sets,
            total L2 weight norm; each also readable as an attribute) and the probes' columns.
        train_index: positions of the training examples in the task's full example table (None if
            the task has no such table).
        final_state: the weights after the last update (on CPU).
        wall_seconds: time spent training (not loading from the cache).
        device: the device it trained on.
        checkpoint_file: where the checkpoints are stored (the run cache's side file), or None.
    """

    config: RunConfig
    steps: torch.Tensor
    metrics: dict[str, torch.Tensor]
    train_index: torch.Tensor | None
    final_state: dict[str, torch.Tensor]
    wall_seconds: float
    device: str
    checkpoint_file: Path | None = None
    _checkpoints: dict[int, dict[str, torch.Tensor]] | None = field(default=None, repr=False)

    def __getattr__(self, name: str):
        metrics = self.__dict__.get("metrics")
        if metrics is not None and name in metrics:
            return metrics[name]
        raise AttributeError(f"History has no attribute or metric {name!r}")

    @property
    def checkpoints(self) -> dict[int, dict[str, torch.Tensor]]:
        """``{step: state_dict}`` of the kept weights, read from ``checkpoint_file`` on first use."""
        if self._checkpoints is None:
            self._checkpoints = ({} if self.checkpoint_file is None else
                                 torch.load(self.checkpoint_file, map_location="cpu", weights_only=True))
        return self._checkpoints

    def model(self, step: int | None = None) -> torch.nn.Module:
        """The model with the weights of ``step`` (a checkpoint), or the final weights."""
        model = self.config.model.build()
        model.load_state_dict(self.final_state if step is None else self.checkpoints[step])
        return model.eval()

    def value_at(self, metric: str, step: int) -> float:
        """The value of ``metric`` at the logged ``step`` (KeyError if it was not logged)."""
        hits = (self.steps == step).nonzero()
        if not len(hits):
            raise KeyError(f"step {step} was not logged")
        return self.metrics[metric][hits[0, 0]].item()

    def steps_to(self, metric: str = "val_acc", threshold: float = 0.99) -> int | None:
        """The first logged step at which ``metric`` reaches ``threshold`` (None: never)."""
        return first_step_reaching(self.steps, self.metrics[metric], threshold)

    def grokking_delay(self, threshold: float = 0.95) -> int | None:
        """Steps between training and validation accuracy first reaching ``threshold`` (None: either never)."""
        fit, general = self.steps_to("train_acc", threshold), self.steps_to("val_acc", threshold)
        return None if fit is None or general is None else general - fit

    def is_finite(self) -> bool:
        """True when every logged metric is finite (no NaN or inf)."""
        return all(bool(torch.isfinite(col).all()) for col in self.metrics.values())


def first_step_reaching(steps: torch.Tensor, values: torch.Tensor, threshold: float) -> int | None:
    """The first logged step whose value is at least ``threshold``, or None if none is."""
    hits = (values >= threshold).nonzero()
    return int(steps[hits[0, 0]]) if len(hits) else None


def steps_to(history: History, metric: str = "val_acc", threshold: float = 0.99) -> int | None:
    """``history.steps_to(metric, threshold)``: the first logged step reaching ``threshold``."""
    return history.steps_to(metric, threshold)


def grokking_delay(history: History, threshold: float = 0.95) -> int | None:
    """Steps between training and validation accuracy first reaching ``threshold`` (95%: the poster's
    definition, "Grokking — what, when, why"). None if either never gets there."""
    return history.grokking_delay(threshold)


def steps_to_each(histories: list[History], metric: str, threshold: float) -> list[int | None]:
    """The first logged step at which each run's ``metric`` reaches ``threshold`` (None: never)."""
    return [h.steps_to(metric, threshold) for h in histories]


def from_logs(config: RunConfig, logs: list[tuple[int, dict[str, float]]], **fields) -> History:
    """A History from ``[(step, {metric: value})]`` rows (the training loop's logs)."""
    steps = torch.tensor([s for s, _ in logs], dtype=torch.long)
    names = list(logs[0][1])
    metrics = {n: torch.tensor([row[n] for _, row in logs], dtype=torch.float64) for n in names}
    return History(config, steps, metrics, **fields)
