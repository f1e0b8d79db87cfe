"""Analysis: numbers read off runs and models, no figures (those are in ``grokutils.plots``).

    fourier  the Fourier view of modular addition and Nanda et al.'s progress measures
    lu       Omnigrok's loss against weight norm: α_c, the power law of time against weight decay
    seeds    runs of one setting over seeds: the median and range at each step
"""
