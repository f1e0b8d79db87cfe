"""The papers' setups, each written once: chapters, the benchmark and the published-model loader build on these.

- ``nanda_run``: Nanda et al. (2023), as their ``transformers.py`` builds it: a + b mod p, input
  ``[a, b, =]``, a 1-layer transformer (d_model 128, 4 heads of 32, d_mlp 512, ReLU, no LayerNorm, no
  biases in attention or unembedding; every weight N(0, 1/d_model), ``W_U`` N(0, 1/d_vocab)), the loss's
  log-softmax in float64, full-batch AdamW (lr 1e-3, weight decay 1, betas (0.9, 0.98), lr factor
  min(step/10, 1)).
- ``power_run``: Power et al. (2022), as ``openai/grok`` builds it (``architecture="grok"``): a ∘ b mod p
  framed ``<eos> a ∘ b = c <eos>``, loss and accuracy on ``c`` and the closing ``<eos>``; a 2-layer
  post-LayerNorm transformer (width 128, 4 heads, d_mlp 512, sinusoidal positions, no biases, no final
  LayerNorm, logits over the whole vocabulary, PyTorch's default init); AdamW or Adam (lr 1e-3, betas
  (0.9, 0.98), lr factor min(step/10, 1)), batch min(512, ceil(half the training set)).
  ``architecture="pre_ln"`` is the book's earlier variant: ``[a, ∘, b, =]`` with label ``c``, pre-LayerNorm,
  learned positions, biases, a final LayerNorm, ``p`` output classes.
- ``hu_mlp`` and ``hu_lstm``: the MLP and the LSTM Hu, Zhou and Yu train beside the transformer on ``[a, b, =]``
  (``source_adam``: PyTorch's Adam at their learning rates, full batch, cross-entropy).
- ``prieto_run``: Prieto, Barsbey, Mediano and Birdal (2025), as their ``grokking_experiments.py`` builds it: a + b mod
  p with all p^2 pairs, the operands two-hot (``one_hot(a) ++ one_hot(b)``), an MLP 2p-200-200-p with ReLU and no
  biases (PyTorch's default init), full batch, AdamW without weight decay, betas (0.9, 0.99), eps 1e-25, no warm-up,
  softmax cross-entropy in float32 (``loss`` picks another precision, or StableMax); ``orthograd=True`` is their
  ⊥AdamW, which their script builds from the learning rate and weight decay alone, so with torch's default betas
  (0.9, 0.999) and eps 1e-8.
- ``liu_toy_run``: Liu, Kitouni, Nolte, Michaud, Tegmark and Williams (2022), as their ``toy/train_add.py`` builds it:
  a + b over the 55 unordered pairs of 10 symbols, 45 for training; a learned 1-D representation per symbol, the
  decoder 1-200-200-30 (tanh) of ``E_a + E_b`` fitted by squared error to a Gaussian template per sum; two AdamW
  (betas (0.9, 0.999), no warm-up): the representation at lr 1e-3 without weight decay, the decoder at ``lr`` and
  ``weight_decay``; batches of 45 (full batch up to 45 training pairs); the representation logged at every logged
  step (probe ``"embedding"``).
- ``omnigrok_mnist_run``: Liu, Michaud & Tegmark (2023): the first ``train_points`` MNIST images, MLP
  784-200-200-10 with its initial parameters times α, MSE on one-hot targets, AdamW (lr 1e-3, weight
  decay 0.01, betas (0.9, 0.999), no warm-up), batch 200.
"""
from __future__ import annotations

import math

from grokutils.config import RunConfig, TrainConfig, check_choice
from grokutils.models import LSTMConfig, MLPConfig, RepDecoderConfig, TokenMLPConfig, TransformerConfig
from grokutils.models.lstm import INPUTS
from grokutils.tasks import MNISTConfig, ModularConfig, PairSumConfig

NANDA_WIDTHS = dict(d_model=128, n_heads=4, d_head=32, d_mlp=512)
MNIST_WIDTHS = (784, 200, 200, 10)


def nanda_model(task: ModularConfig, seed: int = 0, use_attn_bias: bool = False, use_unembed_bias: bool = False,
                **widths) -> TransformerConfig:
    """Nanda et al.'s 1-layer transformer for ``task`` (``widths`` override ``NANDA_WIDTHS``)."""
    return TransformerConfig(d_vocab=task.d_vocab, d_vocab_out=task.d_vocab, n_ctx=task.n_ctx, n_layers=1,
                             act_fn="relu", normalization=None, use_attn_bias=use_attn_bias,
                             use_unembed_bias=use_unembed_bias, init="nanda", seed=seed, **{**NANDA_WIDTHS, **widths})


def nanda_adamw() -> dict:
    """Nanda et al.'s optimiser as ``TrainConfig`` fields: AdamW, lr 1e-3, weight decay 1, betas (0.9, 0.98), a linear
    warm-up over 10 steps (written once here for every chapter that uses it)."""
    return dict(optimizer="adamw", lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98), warmup_steps=10)


def nanda_run(p: int = 113, frac_train: float = 0.3, steps: int = 40_000, log_every: int = 100, seed: int = 0,
              checkpoint_every: int | None = None, **widths) -> RunConfig:
    """Nanda et al.'s run on a + b mod ``p``: metrics every ``log_every`` epochs (full batch)."""
    task = ModularConfig(op="add", p=p, frac_train=frac_train, seed=seed)
    train = TrainConfig(steps=steps, batch_size=None, **nanda_adamw(), loss="cross_entropy_f64",
                        n_logs=steps // log_every + 1, log_spacing="linear", checkpoint_every=checkpoint_every,
                        seed=seed)
    return RunConfig(task, nanda_model(task, seed, **widths), train)


POWER_ARCHITECTURES = ("grok", "pre_ln")


def power_model(task: ModularConfig, architecture: str = "grok", seed: int = 0, d_model: int = 128, n_heads: int = 4,
                d_head: int = 32, d_mlp: int = 512) -> TransformerConfig:
    """Power et al.'s 2-layer transformer for ``task``: ``openai/grok``'s (``"grok"``) or the pre-LN variant."""
    check_choice("architecture", architecture, POWER_ARCHITECTURES)
    widths = dict(d_model=d_model, n_heads=n_heads, d_head=d_head, d_mlp=d_mlp)
    if architecture == "pre_ln":
        return TransformerConfig(d_vocab=task.d_vocab, d_vocab_out=task.n_classes, n_ctx=task.n_ctx, n_layers=2,
                                 act_fn="relu", normalization="LN", seed=seed, **widths)
    return TransformerConfig(d_vocab=task.d_vocab, d_vocab_out=task.d_vocab, n_ctx=task.n_ctx, n_layers=2,
                             act_fn="relu", normalization="LN", ln_position="post", positional="sinusoidal",
                             use_attn_bias=False, use_unembed_bias=False, use_mlp_bias=False, init="torch",
                             n_outputs=task.n_targets, seed=seed, **widths)


def power_run(op: str = "div", p: int = 97, frac_train: float = 0.5, steps: int = 100_000, seed: int = 0,
              optimizer: str = "adamw", weight_decay: float = 1.0, n_logs: int = 150, architecture: str = "grok",
              adam_eps: float = 1e-8, loss: str = "cross_entropy", log_spacing: str = "log", **widths) -> RunConfig:
    """Power et al.'s run on ``op`` mod ``p`` (metrics at ``n_logs`` steps spaced as ``log_spacing`` says);
    ``widths`` override the model's widths."""
    check_choice("architecture", architecture, POWER_ARCHITECTURES)
    grok = architecture == "grok"
    task = ModularConfig(op=op, p=p, frac_train=frac_train, seed=seed, with_op_token=True, with_eos=grok)
    batch = max(1, min(512, math.ceil(task.n_train / 2) if grok else task.n_train // 2))
    train = TrainConfig(steps=steps, batch_size=batch, lr=1e-3, weight_decay=weight_decay, betas=(0.9, 0.98),
                        adam_eps=adam_eps, optimizer=optimizer, warmup_steps=10, loss=loss, n_logs=n_logs,
                        log_spacing=log_spacing, seed=seed)
    return RunConfig(task, power_model(task, architecture, seed, **widths), train)


HU_LR = {"MLP": 1e-3, "LSTM": 1e-2}
"""The learning rate of Hu, Zhou and Yu's Adam, per model."""


HU_INPUTS = INPUTS
"""How the MLP and the LSTM read ``[a, b, =]``: learned token embeddings (the book's first reading), or the three
token ids as numbers, ``x``, ``y`` and ``p`` (``=`` is token ``p``), as the report says its notebook feeds them."""


def hu_mlp(task: ModularConfig, seed: int = 0, init_scale: float = 1.0,
           inputs: str = "embedding") -> TokenMLPConfig | MLPConfig:
    """Hu, Zhou and Yu's MLP for ``task`` (``[a, b, =]``): two ReLU layers of 512 (the transformer's ``d_mlp``),
    ``p`` outputs, reading ``a`` and ``b`` embedded (width 128, the transformer's ``d_model``) and concatenated, or
    (``inputs="numbers"``) the three ids ``x, y, p`` as numbers."""
    check_choice("inputs", inputs, HU_INPUTS)
    hidden = (NANDA_WIDTHS["d_mlp"],) * 2
    if inputs == "numbers":
        return MLPConfig(widths=(task.n_ctx, *hidden, task.n_classes), init_scale=init_scale, seed=seed)
    return TokenMLPConfig(d_vocab=task.d_vocab, d_vocab_out=task.n_classes, n_inputs=2, d_embed=NANDA_WIDTHS["d_model"],
                          d_hidden=hidden, init_scale=init_scale, seed=seed)


def hu_lstm(task: ModularConfig, seed: int = 0, init_scale: float = 1.0, inputs: str = "embedding") -> LSTMConfig:
    """Hu, Zhou and Yu's LSTM for ``task``: it reads ``[a, b, =]`` (embeddings of width 20, or with
    ``inputs="numbers"`` each id as one number), hidden size 20, ``p`` outputs from the last hidden state."""
    check_choice("inputs", inputs, HU_INPUTS)
    return LSTMConfig(d_vocab=task.d_vocab, d_vocab_out=task.n_classes, n_ctx=task.n_ctx,
                      d_embed=20 if inputs == "embedding" else 1, d_hidden=20, init_scale=init_scale, seed=seed,
                      inputs=inputs)


def source_adam(lr: float, steps: int, n_logs: int, seed: int = 0, **fields) -> TrainConfig:
    """PyTorch's Adam as Hu, Zhou and Yu state it for the MLP and the LSTM: ``lr``, its default betas (0.9, 0.999),
    no weight decay, no warm-up; full batch, cross-entropy, log-spaced metrics (``fields`` override)."""
    return TrainConfig(**{**dict(steps=steps, batch_size=None, lr=lr, weight_decay=0.0, betas=(0.9, 0.999),
                                 optimizer="adam", warmup_steps=0, loss="cross_entropy", n_logs=n_logs,
                                 log_spacing="log", seed=seed), **fields})


PRIETO_HIDDEN = (200, 200)
PRIETO_ADAMW = dict(optimizer="adamw", weight_decay=0.0, betas=(0.9, 0.99), adam_eps=1e-25, warmup_steps=0)
"""Their script's AdamW (its defaults: no weight decay, ``--beta2 0.99``, ``--adam_epsilon 1e-25``), no warm-up."""
PRIETO_ORTHO_ADAMW = dict(optimizer="adamw", betas=(0.9, 0.999), adam_eps=1e-8, warmup_steps=0,
                          grad_transforms=("orthograd",))
"""Their ⊥AdamW as their script builds it (``OrthoGrad(..., AdamW, lr=..., weight_decay=...)``): torch's default betas
and eps, not the script's."""


def prieto_run(p: int = 113, frac_train: float = 0.4, lr: float = 0.01, steps: int = 300, n_logs: int = 61,
               seed: int = 0, loss: str = "cross_entropy", orthograd: bool = False, hidden: tuple[int, ...] = PRIETO_HIDDEN,
               **fields) -> RunConfig:
    """Prieto et al.'s MLP on a + b mod ``p`` (linearly spaced metrics; ``fields`` override the optimiser's)."""
    task = ModularConfig(op="add", p=p, frac_train=frac_train, seed=seed)
    model = MLPConfig(widths=(2 * p, *hidden, p), seed=seed, bias=False, inputs="two_hot")
    optimiser = PRIETO_ORTHO_ADAMW if orthograd else PRIETO_ADAMW
    train = TrainConfig(**{**dict(steps=steps, batch_size=None, lr=lr, weight_decay=0.0, loss=loss, n_logs=n_logs,
                                  log_spacing="linear", seed=seed), **optimiser, **fields})
    return RunConfig(task, model, train)


LIU_BATCH = 45
"""Liu et al.'s toy batch size: a training set of up to 45 pairs trains full batch, a larger one in random batches of
45."""


def liu_toy_run(p: int = 10, n_train: int = 45, seed: int = 58, lr: float = 1e-4, weight_decay: float = 0.0,
                steps: int = 5000, n_logs: int = 501, embed_lr: float = 1e-3, d_out: int = 30, width: int = 200,
                **fields) -> RunConfig:
    """Liu et al.'s toy model on a + b (their ``train_add`` defaults; ``lr`` and ``weight_decay`` are the decoder's,
    ``embed_lr`` the representation's; linearly spaced metrics; ``fields`` override the optimiser's)."""
    task = PairSumConfig(p=p, n_train=n_train, seed=seed, d_template=d_out)
    model = RepDecoderConfig(p=p, d_hidden=(width, width), d_out=d_out, seed=seed, template_seed=seed)
    train = TrainConfig(**{**dict(steps=steps, batch_size=None if n_train <= LIU_BATCH else LIU_BATCH, lr=lr,
                                  weight_decay=weight_decay, embed_lr=embed_lr, embed_weight_decay=0.0,
                                  betas=(0.9, 0.999), optimizer="adamw", warmup_steps=0, loss="template_mse",
                                  n_logs=n_logs, log_spacing="linear", probes=("embedding",), seed=seed), **fields})
    return RunConfig(task, model, train)


def omnigrok_mnist_run(alpha: float = 8.0, steps: int = 100_000, seed: int = 0, train_points: int = 1000,
                       test_points: int = 10_000, batch_size: int = 200, n_logs: int = 150) -> RunConfig:
    """Omnigrok's MNIST run at initialisation scale ``alpha`` (log-spaced metrics)."""
    return omnigrok_recipe(MNISTConfig(train_points=train_points, test_points=test_points), alpha, steps, seed,
                           batch_size, n_logs)


def omnigrok_recipe(task, alpha: float = 8.0, steps: int = 100_000, seed: int = 0, batch_size: int = 200,
                    n_logs: int = 150) -> RunConfig:
    """Omnigrok's MNIST recipe on any classification ``task`` (with ``d_input`` and ``n_classes``): an MLP
    d_input-200-200-n_classes at initialisation scale ``alpha``, MSE on one-hot targets, AdamW (lr 1e-3, weight
    decay 0.01, betas (0.9, 0.999), no warm-up), log-spaced metrics."""
    model = MLPConfig(widths=(task.d_input, *MNIST_WIDTHS[1:-1], task.n_classes), init_scale=alpha, seed=seed)
    train = TrainConfig(steps=steps, batch_size=batch_size, lr=1e-3, weight_decay=0.01, betas=(0.9, 0.999),
                        optimizer="adamw", warmup_steps=0, loss="mse", n_logs=n_logs, log_spacing="log", seed=seed)
    return RunConfig(task, model, train)
