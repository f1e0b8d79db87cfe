"""History: named metrics, when a run fit and generalised, lazy checkpoints."""
import pytest
import torch

from grokutils.history import History, first_step_reaching, grokking_delay, steps_to, steps_to_each


def test_first_step_reaching():
    steps = torch.tensor([0, 5, 9])
    assert first_step_reaching(steps, torch.tensor([0.1, 0.99, 0.5]), 0.99) == 5
    assert first_step_reaching(steps, torch.tensor([0.1, 0.2, 0.3]), 0.99) is None


def test_steps_to_and_grokking_delay(make_history):
    steps = [0, 10, 100, 1000, 10000]
    h = make_history(steps, train_acc=[0.0, 0.96, 1.0, 1.0, 1.0], val_acc=[0.0, 0.01, 0.02, 0.97, 1.0])
    assert steps_to(h, "train_acc", 0.99) == 100 == h.steps_to("train_acc", 0.99)
    assert steps_to(h, "val_acc", 0.99) == 10000
    assert grokking_delay(h) == 1000 - 10 == h.grokking_delay()
    assert grokking_delay(make_history(steps, train_acc=[0.0, 0.96, 1.0, 1.0, 1.0])) is None
    assert steps_to_each([h, h], "val_acc", 0.5) == [1000, 1000]


def test_named_metrics_value_at_and_finiteness(make_history):
    h = make_history([0, 5], val_acc=[0.1, 0.7], **{"attn_norm/blocks.0": [3.0, 2.0]})
    assert h.val_acc.tolist() == [0.1, 0.7] and h.metrics["attn_norm/blocks.0"][1] == 2.0
    assert h.value_at("val_acc", 5) == pytest.approx(0.7)
    with pytest.raises(KeyError, match="step 3 was not logged"):
        h.value_at("val_acc", 3)
    with pytest.raises(AttributeError, match="no attribute or metric 'test_acc'"):
        h.test_acc
    assert h.is_finite()
    assert not make_history([0, 5], train_loss=[1.0, float("nan")]).is_finite()


def test_checkpoints_are_read_from_their_file_on_first_use(make_history, tmp_path):
    torch.save({0: {"w": torch.ones(2)}}, tmp_path / "c.pt")
    h = make_history([0])
    h.checkpoint_file = tmp_path / "c.pt"
    assert h._checkpoints is None
    assert torch.equal(h.checkpoints[0]["w"], torch.ones(2)) and h._checkpoints is not None
    assert History.__dataclass_fields__["_checkpoints"].repr is False


def test_softmax_collapse_on_hand_computed_margins():
    from grokutils.history import PRECISIONS, softmax_collapse, softmax_sums

    # margins 5, 12, 20, 40: exp(-12) = 6e-6 rounds away in float16 (resolution 2^-11 around 1), exp(-20) = 2e-9 in
    # float32 (2^-24) and exp(-40) = 4e-18 in float64 (2^-53 = 1.1e-16) as well
    logits = torch.tensor([[[5.0, 0.0], [12.0, 0.0], [20.0, 0.0], [40.0, 0.0]]])
    labels = torch.zeros(1, 4, dtype=torch.long)
    out = softmax_collapse(logits, labels)
    assert set(out) == {f"{kind}/{name}" for kind in ("collapse", "zero_loss") for name in PRECISIONS}
    assert out["collapse/f16"].tolist() == [[False, True, True, True]]
    assert out["collapse/f32"].tolist() == [[False, False, True, True]]
    assert out["collapse/f64"].tolist() == [[False, False, False, True]]
    assert out["zero_loss/f32"].tolist() == out["collapse/f32"].tolist()
    wrong = softmax_collapse(logits, torch.ones(1, 4, dtype=torch.long))  # the wrong label: a large loss, never 0
    assert not any(wrong[f"zero_loss/{name}"].any() for name in PRECISIONS)
    assert softmax_sums(torch.tensor([0.0, 0.0]), torch.float32).item() == 2.0


def test_collapse_shares_are_each_runs_share_of_its_own_examples():
    from grokutils.train import evaluate_logits

    logits = torch.tensor([[[30.0, 0.0], [1.0, 0.0], [30.0, 0.0]], [[30.0, 0.0], [30.0, 0.0], [1.0, 0.0]]])
    y = torch.zeros(2, 3, dtype=torch.long)
    mask = torch.tensor([[True, True, True], [True, True, False]])  # run 1's third example is padding
    x = torch.zeros(2, 3, 1)
    _, acc, shares = evaluate_logits(lambda xs: logits, x, y, "cross_entropy", k=2, dim=1, mask=mask, chunk=3,
                                     probes=["softmax_collapse"])
    assert shares["collapse/f32"].tolist() == [2 / 3, 1.0] and shares["collapse/f64"].tolist() == [0.0, 0.0]
    assert acc.tolist() == [1.0, 1.0]
    _, _, none = evaluate_logits(lambda xs: logits, x, y, "cross_entropy", k=2, dim=1, mask=mask, chunk=3)
    assert none == {}
