"""The papers' setups match the authors' code where the issue names a detail."""
import pytest
import torch

from grokutils.recipes import nanda_run, power_run


def total_norm(model) -> float:
    return torch.linalg.vector_norm(torch.cat([p.detach().flatten() for p in model.parameters()])).item()


def test_nanda_run_draws_the_authors_init_and_float64_loss():
    cfg = nanda_run()
    assert total_norm(cfg.model.build()) == pytest.approx(42, abs=1.0)  # transformers.py at p = 113
    assert cfg.train.loss == "cross_entropy_f64" and cfg.train.warmup_steps == 10


def test_power_run_builds_openai_grok_by_default_and_the_pre_ln_variant_on_request():
    grok = power_run(p=97, frac_train=0.3)
    assert grok.task.with_eos and grok.model.ln_position == "post" and grok.model.positional == "sinusoidal"
    assert grok.model.d_vocab_out == grok.task.d_vocab and grok.model.n_outputs == 2
    assert grok.train.batch_size == 512 and power_run(p=23, frac_train=0.5).train.batch_size == 127
    pre = power_run(p=97, frac_train=0.3, architecture="pre_ln")
    assert not pre.task.with_eos and pre.model.ln_position == "pre" and pre.model.d_vocab_out == 97
    assert power_run(n_logs=11, steps=100, log_spacing="linear").train.log_steps() == list(range(0, 101, 10))
    with pytest.raises(ValueError, match="architecture"):
        power_run(architecture="post_ln")
    with pytest.raises(ValueError, match="log_spacing='every'"):
        power_run(log_spacing="every")
