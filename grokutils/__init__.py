"""grokutils: the shared code of the grokking book, laid out in the order data flows through it.

    config     what determines a run: RunConfig = task + model + TrainConfig; checks of values; devices
    tasks/     what a network is trained on: modular arithmetic, MNIST (each builds a Split)
    models/    hooked models with TransformerLens names: transformer, MLP
    step       the one update step: losses, gradient transforms, the optimiser, the norm constraint
    train      the one training loop (``train``, ``fit``) for single runs
    sweep      K runs trained as one batched model through the same loop
    dispatch   the sweep engine: batchable groups, a measured plan, executors (local processes, Dask)
    history    what a run logged (named metrics, probes, checkpoints) and when it fit and generalised
    runs       the on-disk run cache (keyed by config and code)
    dryrun     synthetic runs with a real run's shapes ($GROKUTILS_DRY_RUN=1): chapters execute in seconds
    recipes    the papers' setups as the authors' code builds them, each written once (Power, Nanda, Omnigrok)
    analysis/  numbers read off runs and models: Fourier circuits, the LU mechanism, the comprehension band,
               loss landscapes
    plots/     every figure, in one house style (base, and one module per chapter)
    book       what chapters share: profiles, header, closing line and "Run this chapter" box, glue, Checks
    chapters/  one module per notebook: its settings, numbers and Checks
    export     a run as one downloadable file, and ``load_run`` to read it back
    records    a run trained elsewhere (a GPU, a cluster) kept as its logged metrics only
    launch     Colab and papermill from the repository setting in ``_config.yml``
    costs      what executing each chapter cost here, per profile
    datafiles  checksummed data files: $GROKUTILS_DATA or a download cache
    published  the model Nanda et al. published
    bench      milliseconds per training step on this machine

Importing the package has no side effects.
"""
__version__ = "0.2.0"
