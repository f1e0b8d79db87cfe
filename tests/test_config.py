"""Configs and the checks of values: every message names the parameter, the value and the allowed values."""
import dataclasses
import math

import pytest
import torch

from grokutils.config import TrainConfig, check_choice, check_float, check_int, resolve_device


def test_log_steps():
    assert TrainConfig(steps=1000, n_logs=4, log_spacing="linear").log_steps() == [0, 333, 667, 1000]
    log = TrainConfig(steps=10_000, n_logs=6).log_steps()
    assert log[0] == 0 and log[-1] == 10_000 and log == sorted(set(log))
    assert log[1:] == [1, 10, 100, 1000, 10000]


@pytest.mark.parametrize("kwargs,match", [
    (dict(optimizer="sgd"), r"optimizer='sgd' is not supported; allowed values: \('adamw', 'adam', 'muon'\)"),
    (dict(grokfast_alpha=1.0), r"grokfast_alpha=1.0 must be a finite number in \[0, 1\)"),
    (dict(grokfast_lamb=-1.0), r"grokfast_lamb=-1.0 must be a finite number in \[0, inf\)"),
    (dict(optimizer="muon", decay_to="init"), r"decay_to='init' is not supported with optimizer='muon'; allowed values"),
    (dict(loss="l1"), "loss='l1'"), (dict(steps=0), r"steps=0 must be an integer in \[1, inf\]"),
    (dict(steps=1e2), r"steps=100.0 must be an integer"), (dict(batch_size=0), "batch_size=0"),
    (dict(n_logs=1), "n_logs=1"), (dict(log_spacing="cubic"), "log_spacing"), (dict(lr=0), r"lr=0 must be a finite number in \(0, inf\)"),
    (dict(lr=math.nan), "lr=nan"), (dict(weight_decay=math.inf), "weight_decay=inf"), (dict(probes=("grad",)), "probes='grad'"),
    (dict(stop_at_val_acc=1.5), "stop_at_val_acc=1.5"), (dict(seed="abc"), "seed='abc' must be an integer"),
    (dict(fused_adam=1), "fused_adam=1 must be True or False"),
])
def test_train_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_checks_reject_bools_floats_and_out_of_range():
    check_int("k", 3, 1, 5)
    check_int("k", None, 1, none_ok=True)
    for bad in (True, 2.0, "2", 0, 6):
        with pytest.raises(ValueError, match=r"k=.* must be an integer in \[1, 5\]"):
            check_int("k", bad, 1, 5)
    check_float("x", 0.5, 0, 1, open_low=True)
    for bad in (0, 1.5, math.nan, math.inf, "0.5", None):
        with pytest.raises(ValueError, match=r"x=.* must be a finite number in \(0, 1\]"):
            check_float("x", bad, 0, 1, open_low=True)
    with pytest.raises(ValueError, match=r"mode='b' is not supported; allowed values: \('a',\)"):
        check_choice("mode", "b", ("a",))


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu" and resolve_device(None).type in ("cpu", "cuda")
    assert resolve_device(torch.device("cpu")).type == "cpu"
    with pytest.raises(ValueError, match=r"device='tpu' is not supported; allowed values: \('cpu', 'cuda', None\)"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"CUDA is not available here; use 'cpu' or None"):
            resolve_device("cuda")


def test_batch_larger_than_training_set_raises(tiny_run):
    with pytest.raises(ValueError, match=r"batch_size=100 is larger than the training set \(60 examples\)"):
        tiny_run(batch_size=100)


def test_run_config_replace_routes_and_rejects_unknown_keys(tiny_run):
    cfg = tiny_run().replace(p=13, d_model=8, steps=5)
    assert (cfg.task.p, cfg.model.d_model, cfg.train.steps) == (13, 8, 5)
    with pytest.raises(TypeError, match="unknown config key 'colour'"):
        tiny_run().replace(colour="red")
    with pytest.raises(TypeError, match="'seed' is a field of task and model and train"):
        tiny_run().replace(seed=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.train.steps = 3


def test_describe_is_plain_data(tiny_run):
    d = tiny_run().describe()
    assert d["task"][0] == "ModularConfig" and d["train"][1]["steps"] == 60 and d["model"][1]["d_model"] == 16


def test_every_loss_of_the_step_table_is_a_valid_config_choice():
    from grokutils.step import LOSSES
    for name in LOSSES:
        assert TrainConfig(loss=name).loss == name
