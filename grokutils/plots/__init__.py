"""The book's figures, in one house style. Each helper takes tensors or a History and returns a Figure.

``base`` holds the style and the figures every chapter draws; each chapter's own figures live in the
module named after it (``power``, ``band``, ``ablations``, ``encodings``, ``efficiency``, ``landscape``,
``fourier``, ``lu``, ``competition``, ``speed``, ``collapse``, ``phases``) and are reached as
``plots.<module>.<function>``.
The common ones are re-exported here.
"""
from grokutils.plots import (ablations, band, base, collapse, competition, efficiency, encodings, fourier, landscape, lu,
                             phases, power, speed)
from grokutils.plots.base import (HOUSE_STYLE, NORM_COLOR, TRAIN_COLOR, VAL_COLOR, mark_steps, plot_accuracy_and_norm,
                                  plot_accuracy_comparison, plot_curves, plot_loss_and_norm, plot_power_law,
                                  plot_steps_against, style)
from grokutils.plots.fourier import (plot_logit_components, plot_neuron_clusters, plot_progress_measures,
                                     plot_spectra_side_by_side, plot_spectrum, plot_spectrum_snapshots,
                                     show_checkpoint_spectrum)
from grokutils.plots.lu import plot_landscape

__all__ = ["ablations", "band", "base", "collapse", "competition", "efficiency", "encodings", "fourier", "landscape",
           "lu", "phases", "power", "speed", "HOUSE_STYLE", "NORM_COLOR", "TRAIN_COLOR", "VAL_COLOR", "mark_steps",
           "plot_accuracy_and_norm", "plot_accuracy_comparison", "plot_curves", "plot_loss_and_norm",
           "plot_power_law", "plot_steps_against", "style", "plot_logit_components", "plot_neuron_clusters",
           "plot_progress_measures", "plot_spectra_side_by_side", "plot_spectrum", "plot_spectrum_snapshots",
           "show_checkpoint_spectrum", "plot_landscape"]
