"""Analysis: numbers read off runs and models, no figures (those are in ``grokutils.plots``).

    band       the comprehension band: the grokking delay over a grid of training-set size and batch size
    collapse   softmax collapse: the margin at which each precision rounds the softmax away; the meter on stored runs
    fourier    the Fourier view of modular addition and Nanda et al.'s progress measures
    landscape  the loss around trained weights along filter-normalised random directions (Li et al. 2018)
    lu         Omnigrok's loss against weight norm: α_c, the power law of time against weight decay
    phases     Liu et al.'s phases of learning, representation quality index and effective theory's accuracy
    seeds      runs of one setting over seeds: the median and range at each step
    speed      how fast runs grok, compared fairly: the best setting of a grid, speed-ups with bootstrap intervals
    symmetry   held-out pairs whose mirror image was trained (what commutativity alone answers)
"""
