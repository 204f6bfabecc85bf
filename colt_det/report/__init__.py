"""Reports of searches: summaries and tables (:mod:`.summary`), plots (:mod:`.plots`)."""
from .plots import plot_metric_vs_sparsity, plot_per_layer_sparsity, plot_points
from .summary import (
    compare_table,
    eta_rounds,
    format_summary,
    load_summary,
    rounds_to,
    write_summary,
)

__all__ = ['compare_table', 'eta_rounds', 'format_summary', 'load_summary',
           'plot_metric_vs_sparsity', 'plot_per_layer_sparsity', 'plot_points', 'rounds_to',
           'write_summary']
