"""Runs that start from another run's final weights (``RunConfig.init_from``): the weights carried over, the parent
in the child's key, alone equal to batched, and the errors."""
import dataclasses

import pytest
import torch

from grokutils import runs, store
from grokutils.config import RunConfig
from grokutils.export import config_from_description
from grokutils.sweep import check_batchable, train_many
from grokutils.train import initial_model


def _child(parent, **train):
    task = dataclasses.replace(parent.task, frac_train=0.3, held_out_from=parent.task.n_train)
    return RunConfig(task, parent.model, dataclasses.replace(parent.train, **train), init_from=parent)


def test_a_child_starts_from_its_parents_final_weights(tiny_run, fresh_cache):
    parent = tiny_run(steps=20)
    child = _child(parent, steps=5)
    start = initial_model(child, torch.device("cpu")).state_dict()
    final = runs.load_or_train(parent, "cpu", progress=False).final_state
    assert all(torch.equal(start[k], final[k]) for k in final)
    assert not torch.equal(start["embed.W_E"], parent.model.build().state_dict()["embed.W_E"])
    h = runs.load_or_train(child, "cpu", progress=False)
    parent_h = runs.load_or_train(parent, "cpu", progress=False)
    assert h.val_acc[0].item() == pytest.approx(parent_h.val_acc[-1].item())  # one test set: the parent's held-out pairs


def test_the_parent_is_part_of_the_childs_key_and_description(tiny_run):
    parent = tiny_run(steps=20)
    child, other = _child(parent), _child(tiny_run(steps=21))
    assert store.config_key(child) != store.config_key(other) != store.config_key(dataclasses.replace(child, init_from=None))
    assert "init_from" not in parent.describe()
    assert config_from_description(child.describe()) == child
    assert child.replace(lr=1e-2).init_from == parent


def test_children_batched_equal_children_alone(tiny_run, fresh_cache, same_history):
    parent = tiny_run(steps=20)
    kids = [_child(parent, steps=10), dataclasses.replace(_child(parent, steps=10),
                                                          task=dataclasses.replace(parent.task, frac_train=0.2,
                                                                                   held_out_from=parent.task.n_train))]
    batched = train_many(kids, "cpu", progress=False)
    for kid, h in zip(kids, batched):
        same_history(runs.load_or_train(kid, "cpu", progress=False, use_cache=False), h)


def test_init_from_errors_name_the_parameter(tiny_run):
    parent = tiny_run()
    with pytest.raises(ValueError, match="init_from"):
        RunConfig(parent.task, dataclasses.replace(parent.model, d_mlp=64), parent.train, init_from=parent)
    with pytest.raises(ValueError, match="init_from"):
        RunConfig(parent.task, parent.model, parent.train, init_from="run.pt")
    with pytest.raises(ValueError, match="init_from"):
        check_batchable([_child(parent), _child(tiny_run(steps=61))])

