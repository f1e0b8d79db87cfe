"""Muon (``grokutils.muon``): its Newton-Schulz iteration and its update against ``torch.optim.Muon``, which parameters
it takes, and a Muon run batched equal to alone."""
import torch
from torch.optim._muon import _zeropower_via_newtonschulz

from grokutils.muon import NS_COEFFICIENTS, NS_EPS, NS_STEPS, Muon, is_hidden_matrix, orthogonalise
from grokutils.recipes import nanda_run
from grokutils.sweep import train_many
from grokutils.train import SingleRun, train


def test_orthogonalise_takes_torchs_operations_on_a_matrix():
    gen = torch.Generator().manual_seed(0)
    for shape in ((64, 32), (32, 64), (16, 16)):
        g = torch.randn(*shape, generator=gen)
        assert torch.equal(orthogonalise(g, torch.bfloat16),
                           _zeropower_via_newtonschulz(g, NS_COEFFICIENTS, NS_STEPS, NS_EPS))


def test_orthogonalise_is_batched_over_leading_axes_and_near_orthogonal():
    x = torch.randn(2, 3, 40, 24, generator=torch.Generator().manual_seed(1))
    batched = orthogonalise(x)
    alone = torch.stack([torch.stack([orthogonalise(x[i, j]) for j in range(3)]) for i in range(2)])
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-5)
    singular = torch.linalg.svdvals(batched)
    assert singular.min() > 0.5 and singular.max() < 1.5  # the quintic iteration's band around 1, not the input's scale


def test_a_muon_step_equals_torch_muon_on_the_matrix_and_adamw_on_the_rest():
    gen = torch.Generator().manual_seed(2)
    w, b = torch.randn(20, 30, generator=gen, requires_grad=True), torch.randn(30, generator=gen, requires_grad=True)
    w2, b2 = w.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    mine = Muon({"mlp.W_in": w, "mlp.b_in": b}, [0.01], [0.1], (0.9, 0.98), stacked=False, ns_dtype=torch.bfloat16)
    muon = torch.optim.Muon([w2], lr=0.01, weight_decay=0.1, adjust_lr_fn="match_rms_adamw")
    adamw = torch.optim.AdamW([b2], lr=0.01, weight_decay=0.1, betas=(0.9, 0.98))
    x = torch.randn(8, 20, generator=gen)
    for _ in range(4):
        for weight, bias, opts in ((w, b, (mine,)), (w2, b2, (muon, adamw))):
            ((x @ weight + bias).tanh() ** 2).sum().backward()
            for opt in opts:
                opt.step()
                opt.zero_grad()
    assert torch.equal(w, w2) and torch.equal(b, b2)


def test_muon_takes_the_hidden_matrices_and_leaves_embeddings_unembedding_and_biases():
    names = dict(SingleRun(nanda_run(p=11, steps=100).replace(optimizer="muon"), torch.device("cpu")).model
                 .named_parameters())
    chosen = sorted(n for n, p in names.items() if is_hidden_matrix(n, p, stacked=False))
    assert chosen == sorted(f"blocks.0.{n}" for n in ("attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O", "mlp.W_in",
                                                       "mlp.W_out"))
    assert is_hidden_matrix("blocks.0.mlp.W_in", torch.zeros(3, 4, 5), stacked=True)
    assert not is_hidden_matrix("blocks.0.mlp.b_in", torch.zeros(3, 5), stacked=True)


def test_muon_runs_batched_with_their_own_lr_equal_the_same_runs_alone(tiny_run, same_history):
    cfgs = [tiny_run(steps=30, n_logs=4, optimizer="muon", lr=lr, weight_decay=wd) for lr, wd in ((3e-3, 1.0), (1e-3, 0.1))]
    together = train_many(cfgs, progress=False)
    for cfg, h in zip(cfgs, together):
        same_history(h, train(cfg, progress=False))
    assert together[0].train_loss[-1] < together[0].train_loss[0]
