"""grokutils.book.runset: one run_all for every chapter, in the shape its settings name the runs."""
import dataclasses
from dataclasses import dataclass

from grokutils.book import runset
from grokutils.recipes import power_run


def _cfg(seed: int, **kw):
    return power_run("add", 11, 0.5, 4, seed, d_model=16, n_heads=2, d_head=8, d_mlp=32, **kw)


@dataclass(frozen=True)
class FakeSettings:
    tree: object
    device: str = "cpu"
    mode: str | None = "workers"

    def runs(self):
        return self.tree


def test_configs_in_walks_dicts_lists_and_tuples_once_each_in_order():
    a, b, c = _cfg(0), _cfg(1), _cfg(2)
    tree = {"main": a, "seeds": [b, a], "sweep": {"add": ((0.5, c), (0.7, b))}}
    assert runset.configs_in(tree) == [a, b, c]
    assert runset.configs_in("not a run") == []


def test_run_all_loads_each_config_once_and_keeps_the_shape():
    a, b, c = _cfg(0), _cfg(1), _cfg(2)
    tree = {"main": a, "seeds": [b, a], "sweep": {"add": ((0.5, c), (0.7, b))}}
    calls = []

    def load_many(cfgs, **kwargs):
        calls.append((list(cfgs), kwargs))
        return [f"h{cfg.model.seed}" for cfg in cfgs]

    out = runset.run_all(FakeSettings(tree), load_many, progress=False)
    assert out == {"main": "h0", "seeds": ["h1", "h0"], "sweep": {"add": ((0.5, "h2"), (0.7, "h1"))}}
    assert calls == [([a, b, c], {"device": "cpu", "mode": "workers", "progress": False})]


def test_run_all_trains_the_runs_others_start_from_first():
    parent = _cfg(0)
    child = dataclasses.replace(parent.replace(steps=8), init_from=parent)
    calls = []

    def load_many(cfgs, **kwargs):
        calls.append(list(cfgs))
        return [str(i) for i, _ in enumerate(cfgs)]

    runset.run_all(FakeSettings({"child": child, "parent": parent}, mode=None), load_many, mode="sequential")
    assert calls == [[parent], [child]]

