"""Liu et al.'s toy model against their ``toy/train_add.py`` written out independently: the same draws, the same
forward pass, the same two AdamW, trained a few full-batch steps."""
import numpy as np
import pytest
import torch
from torch import nn

from grokutils.models import RepDecoderConfig, stack
from grokutils.recipes import liu_toy_run
from grokutils.train import train


def their_setup(seed: int, n_train: int = 45):
    """Their draws in their order: NumPy (templates, then the split), torch (the representation, then three layers)."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    templates = torch.tensor(np.random.normal(0, 1, size=(19, 30)), dtype=torch.float)
    pairs = np.array([(i, j) for i in range(10) for j in range(i, 10)])
    train_id = np.random.choice(55, n_train, replace=False)
    reprs = nn.Parameter(torch.rand(10, 1) - 0.5)
    net = nn.Sequential(nn.Linear(1, 200), nn.Tanh(), nn.Linear(200, 200), nn.Tanh(), nn.Linear(200, 30))
    return templates, torch.from_numpy(pairs[train_id]), reprs, net


def test_initial_weights_and_templates_are_theirs():
    templates, _, reprs, net = their_setup(58)
    model = RepDecoderConfig(seed=58, template_seed=58).build()
    assert torch.equal(model.templates, templates)
    assert torch.equal(model.embed.W_E, reprs)
    for ours, theirs in zip(model.layers, [net[0], net[2], net[4]]):
        assert torch.equal(ours.weight, theirs.weight) and torch.equal(ours.bias, theirs.bias)


def test_logits_are_minus_the_mean_squared_distance_to_each_template():
    model = RepDecoderConfig(seed=1, template_seed=2).build()
    x = torch.tensor([[0, 3], [2, 2]])
    out = model(x)
    expected = -((out[:, None, :] - model.templates[None]) ** 2).mean(-1)
    assert torch.allclose(model.final_logits(x), expected)
    nearest = ((out[:, None, :] - model.templates[None]) ** 2).sum(-1).argmin(1)
    assert torch.equal(model.final_logits(x).argmax(1), nearest)


def test_training_matches_their_loop_step_for_step():
    templates, x, reprs, net = their_setup(58)
    opt1 = torch.optim.AdamW([reprs], lr=1e-3, weight_decay=0.0)
    opt2 = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=2.0, betas=(0.9, 0.999))
    y = templates[x.sum(1)]
    for _ in range(20):
        opt1.zero_grad()
        opt2.zero_grad()
        loss = torch.mean((net(reprs[x[:, 0]] + reprs[x[:, 1]]) - y) ** 2)
        loss.backward()
        opt1.step()
        opt2.step()
    h = train(liu_toy_run(lr=3e-3, weight_decay=2.0, steps=20, n_logs=3), progress=False)
    assert torch.allclose(h.final_state["embed.W_E"], reprs.detach(), atol=1e-5)
    assert torch.allclose(h.final_state["layers.2.weight"], net[4].weight.detach(), atol=1e-5)
    ours = (net(reprs[x[:, 0]] + reprs[x[:, 1]]) - y).pow(2).mean().detach()
    # the metrics are logged after the last update; their loss at the same weights:
    assert float(h.train_loss[-1]) == pytest.approx(float(ours), rel=1e-4)


def test_stacked_models_give_each_run_its_own_outputs():
    models = [RepDecoderConfig(seed=k, template_seed=5, d_hidden=(8, 8), d_out=4).build() for k in range(3)]
    x = torch.tensor([[0, 1], [4, 9], [3, 3]])
    batched = stack(models)
    out = batched.final_logits(x)
    for k, m in enumerate(models):
        assert torch.allclose(out[k], m.final_logits(x), atol=1e-6)


@pytest.mark.parametrize("field, value", [("p", 0), ("d_hidden", (8, 0)), ("init_scale", 0.0), ("template_seed", -1)])
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        RepDecoderConfig(**{field: value})
