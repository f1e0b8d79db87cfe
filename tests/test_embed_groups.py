"""The embedding's own learning rate and weight decay (``TrainConfig.embed_lr``, ``embed_weight_decay``), the loss of
templates (``"template_mse"``) and the representation probe (``"embedding"``)."""
import dataclasses

import pytest
import torch

from grokutils.config import TrainConfig
from grokutils.history import embedding, embedding_table
from grokutils.recipes import liu_toy_run
from grokutils.step import Adam, Groups, template_mse
from grokutils.sweep import train_many
from grokutils.train import make_optimizer, train


def small(**fields):
    return liu_toy_run(steps=12, n_logs=4, width=8, d_out=4, **fields)


def test_without_embed_settings_the_optimiser_is_one_adam():
    named = {"embed.W_E": torch.zeros(3, 1, requires_grad=True), "w": torch.zeros(2, requires_grad=True)}
    assert isinstance(make_optimizer(named, [TrainConfig()], stacked=False), Adam)
    opt = make_optimizer(named, [TrainConfig(embed_lr=0.5, embed_weight_decay=0.0)], stacked=False)
    assert isinstance(opt, Groups) and [part.lrs for part in opt.parts] == [[0.5], [1e-3]]
    assert [part.weight_decays for part in opt.parts] == [[0.0], [1.0]]
    assert opt.params[0] is named["embed.W_E"] and len(opt.params) == 2


def test_embed_settings_need_an_embedding():
    with pytest.raises(ValueError, match="embed_lr"):
        make_optimizer({"w": torch.zeros(2, requires_grad=True)}, [TrainConfig(embed_lr=0.1)], stacked=False)


def test_the_embedding_moves_at_its_own_rate():
    frozen = train(small(embed_lr=1e-12), progress=False)
    moving = train(small(embed_lr=1e-2), progress=False)
    start = frozen.config.model.build().embed.W_E.detach()
    assert torch.allclose(frozen.final_state["embed.W_E"], start, atol=1e-9)
    assert not torch.allclose(moving.final_state["embed.W_E"], start, atol=1e-4)


def test_toy_runs_batched_with_their_own_rates_equal_the_same_runs_alone(same_history):
    cfgs = [small(lr=lr, weight_decay=wd) for lr, wd in ((1e-3, 0.0), (3e-3, 5.0))]
    cfgs.append(dataclasses.replace(cfgs[0], train=dataclasses.replace(cfgs[0].train, embed_lr=3e-3)))
    together = train_many(cfgs, progress=False)
    for cfg, h in zip(cfgs, together):
        same_history(h, train(cfg, progress=False))


def test_template_mse_is_minus_the_label_logit():
    logits = torch.tensor([[-1.0, -0.25, -4.0], [-2.0, -3.0, -0.5]])
    assert torch.equal(template_mse(logits, torch.tensor([1, 0])), torch.tensor([0.25, 2.0]))


def test_the_embedding_probe_logs_every_entry_and_reads_back():
    table = torch.arange(12.0).view(2, 3, 2)  # two runs, three tokens, two dimensions
    columns = embedding({"embed.W_E": table})
    assert set(columns) == {f"embed/{v}.{d}" for v in range(3) for d in range(2)}
    assert torch.equal(columns["embed/2.1"], table[:, 2, 1])
    with pytest.raises(ValueError, match="embed.W_E"):
        embedding({"w": table})
    h = train(small(), progress=False)
    logged = embedding_table(h)
    assert logged.shape == (len(h.steps), 10, 1)
    assert torch.allclose(logged[-1].float(), h.final_state["embed.W_E"])
    bare = train(small(probes=()), progress=False)
    with pytest.raises(ValueError, match="embedding"):
        embedding_table(bare)


@pytest.mark.parametrize("field, value", [("embed_lr", 0.0), ("embed_lr", -1.0), ("embed_weight_decay", -0.1)])
def test_bad_embed_settings_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})
