"""The search driver: settings, pre-flight, theta0, stages, the round loop, the final stage.

``ColtSearch(cfg).run()`` runs a search (:mod:`colt_det.search.driver`); every step works on
the frozen :class:`~colt_det.search.context.SearchContext` the pre-flight returns.
"""
from .driver import ColtSearch, SearchError

__all__ = ['ColtSearch', 'SearchError']
