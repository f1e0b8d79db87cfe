"""Runs saved for download and read back: config round trips, the same network, clear errors."""
import dataclasses

import pytest
import torch

from grokutils import recipes
from grokutils.config import RunConfig, TrainConfig
from grokutils.export import config_from_description, load_run, save_run
from grokutils.models import MLPConfig, TransformerConfig
from grokutils.store import atomic_save
from grokutils.tasks import ModularConfig, MultiTaskConfig, PermutationConfig, RandomLabelConfig, WineConfig
from grokutils.train import train

RECIPES = {
    "nanda": recipes.nanda_run(p=11, steps=300),
    "power grok": recipes.power_run(op="div", p=11, steps=300, architecture="grok"),
    "power pre_ln": recipes.power_run(op="div", p=11, steps=300, architecture="pre_ln"),
    "omnigrok mnist": recipes.omnigrok_mnist_run(steps=300),
}


@pytest.mark.parametrize("cfg", RECIPES.values(), ids=RECIPES.keys())
def test_config_round_trips_through_its_description(cfg):
    assert config_from_description(cfg.describe()) == cfg


@pytest.mark.parametrize("task", [RandomLabelConfig(p=11, frac_train=0.5), MultiTaskConfig(p=11, frac_train=0.3)])
def test_random_label_and_multi_task_runs_are_read_back(tmp_path, task):
    base = recipes.nanda_run(p=11, steps=3, log_every=3)
    model = dataclasses.replace(base.model, d_vocab=task.d_vocab, d_vocab_out=task.d_vocab, n_ctx=task.n_ctx)
    h = train(RunConfig(task, model, base.train), "cpu", progress=False)
    assert load_run(save_run(h, tmp_path / "run.pt")).config == h.config


def test_saved_run_loads_back_with_the_same_network(tiny_run, tmp_path):
    history = train(tiny_run(steps=5, n_logs=3))
    loaded = load_run(save_run(history, tmp_path / "run.pt"))
    assert loaded.config == history.config
    assert torch.equal(loaded.steps, history.steps) and torch.equal(loaded.val_acc, history.val_acc)
    split = history.config.task.build()
    with torch.no_grad():
        assert torch.equal(loaded.model()(split.x_val), history.model()(split.x_val))
    assert not list(tmp_path.glob("*.tmp")), "written atomically, no temporary file left"


def transformer_lens_3_state(cfg: TransformerConfig) -> dict[str, torch.Tensor]:
    """What TransformerLens 3.x's ``HookedTransformer.state_dict()`` carries for ``cfg``: its weights and per-layer
    ``mask`` ([0, 0] placeholders) and ``IGNORE`` buffers."""
    state = cfg.build().state_dict()
    for key in [k for k in state if k.endswith(".attn.mask")]:
        state[key] = torch.zeros(0, 0, dtype=torch.bool)
        state[key.replace(".mask", ".IGNORE")] = torch.tensor(-torch.inf)
    return state


VARIANTS = {
    "nanda": dict(normalization=None, init="nanda", use_attn_bias=False),
    "pre-LN, 2 layers": dict(normalization="LN", n_layers=2),
    "post-LN sinusoidal": dict(normalization="LN", ln_position="post", positional="sinusoidal", use_mlp_bias=False),
    "two outputs": dict(normalization="LN", n_outputs=2, n_layers=2),
}


@pytest.mark.parametrize("fields", VARIANTS.values(), ids=VARIANTS.keys())
def test_a_transformer_lens_3_state_dict_loads_into_every_architecture(fields):
    cfg = TransformerConfig(d_vocab=14, d_vocab_out=11, n_ctx=4, d_model=16, n_heads=2, d_head=8, d_mlp=32, **fields)
    state = transformer_lens_3_state(dataclasses.replace(cfg, seed=1))
    model = cfg.build()
    model.load_state_dict(state)
    tokens = torch.randint(0, 11, (5, 4))
    reference = dataclasses.replace(cfg, seed=1).build()
    assert torch.equal(model(tokens), reference(tokens))
    assert model.blocks[0].attn.mask.shape == (4, 4) and model.blocks[0].attn.IGNORE.item() == -1e5


def test_a_state_dict_missing_a_weight_is_still_rejected():
    cfg = TransformerConfig(d_vocab=14, d_vocab_out=11, n_ctx=4, d_model=16, n_heads=2, d_head=8, d_mlp=32)
    state = cfg.build().state_dict()
    del state["blocks.0.attn.W_Q"]
    with pytest.raises(RuntimeError, match="W_Q"):
        cfg.build().load_state_dict(state)


def _kinds() -> dict[str, RunConfig]:
    """A run of every kind the package trains that the recipes above do not cover, a few steps each."""
    modular, s5 = ModularConfig(p=11, frac_train=0.5), PermutationConfig(n=3, frac_train=0.5)
    train = recipes.source_adam(lr=1e-3, steps=3, n_logs=2)
    return {
        "wine MLP": dataclasses.replace(recipes.omnigrok_recipe(WineConfig(), steps=3, n_logs=2),
                                        train=dataclasses.replace(train, loss="mse")),
        "LSTM": RunConfig(modular, recipes.hu_lstm(modular), train),
        "token MLP": RunConfig(modular, dataclasses.replace(recipes.hu_mlp(modular), d_embed=8, d_hidden=(16,)), train),
        "S5 transformer": RunConfig(s5, dataclasses.replace(recipes.power_model(s5, d_model=16, n_heads=2, d_mlp=32),
                                                            d_head=8), train),
    }


@pytest.mark.parametrize("kind", ["wine MLP", "LSTM", "token MLP", "S5 transformer"])
def test_every_kind_of_run_round_trips(tmp_path, shared_data, kind):
    cfg = _kinds()[kind]
    history = train(cfg, "cpu", progress=False)
    loaded = load_run(save_run(history, tmp_path / "run.pt"))
    assert loaded.config == cfg
    assert torch.equal(loaded.steps, history.steps) and torch.equal(loaded.val_acc, history.val_acc)
    split = cfg.task.build()
    with torch.no_grad():
        assert torch.equal(loaded.model()(split.x_val), history.model()(split.x_val))


def test_every_config_class_can_be_read_back():
    from grokutils import export, models, tasks
    exported = {name for module in (tasks, models) for name in module.__all__ if name.endswith("Config")}
    assert exported | {"TrainConfig"} <= set(export.CONFIG_CLASSES)


def _rewritten(path, history, change) -> None:
    save_run(history, path)
    blob = torch.load(path, weights_only=True)
    change(blob)
    atomic_save(blob, path)


DAMAGED = {
    "random bytes": lambda path, run: path.write_bytes(bytes(range(256)) * 8),
    "an HTML page": lambda path, run: path.write_text("<!DOCTYPE html>\n<html><body>Sign in</body></html>"),
    "no metrics": lambda path, run: _rewritten(path, run, lambda blob: blob.pop("metrics")),
    "a config that is not JSON": lambda path, run: _rewritten(path, run, lambda blob: blob.update(config="{oops")),
    "a config missing a part": lambda path, run: _rewritten(
        path, run, lambda blob: blob.update(config='{"task": ["ModularConfig", {"p": 11}]}')),
}
"""Ways a downloaded run file can be wrong: ``damage(path, history)`` writes one at ``path``."""
EXPECTED = {"random bytes": "not a file written by torch.save", "an HTML page": "an HTML page",
            "no metrics": "lacks 'metrics'", "a config that is not JSON": "config is not JSON",
            "a config missing a part": "config cannot be read back.*model"}


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_download_names_its_path_and_what_is_wrong(tmp_path, tiny_run, damage):
    path = tmp_path / "run.pt"
    DAMAGED[damage](path, train(tiny_run(steps=2, n_logs=2), progress=False))
    with pytest.raises(ValueError, match=EXPECTED[damage]) as err:
        load_run(path)
    assert str(path) in str(err.value) and "weights_only" not in str(err.value)


def test_loading_a_file_that_is_not_a_run_names_the_problem(tmp_path):
    torch.save({"embed.W_E": torch.zeros(2, 2)}, tmp_path / "weights.pt")
    with pytest.raises(ValueError, match="not a grokutils-run file"):
        load_run(tmp_path / "weights.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable run file"):
        load_run(tmp_path / "junk.pt")


def test_an_unknown_config_class_is_refused():
    cfg = RunConfig(ModularConfig(p=11), MLPConfig(widths=(2, 3)), TrainConfig())
    description = cfg.describe()
    description["model"][0] = "Bogus"
    with pytest.raises(ValueError, match="'Bogus'"):
        config_from_description(description)
