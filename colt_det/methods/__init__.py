"""The values of ``colt.method``: how a search finds the mask its final stage trains.

One file per family (``rounds.py``: COLT and IMP; ``baselines.py``; ``gmp.py``;
``progressive.py``: channels pruned while training; ``torch_pruning.py``), each a
:class:`colt_det.search.method.Method` registered in :data:`colt_det.registry.METHODS`, which
imports them on first lookup. This package imports none of them itself (the settings look
methods up by name).
"""
