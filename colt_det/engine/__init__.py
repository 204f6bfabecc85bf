"""MMEngine pieces on top of the mask core: the ColtHook, the search driver and its parts."""
from .hooks import ColtHook, NonFiniteLossError
from .search import ColtSearch, SearchError
from .settings import ColtSettings

__all__ = ['ColtHook', 'ColtSearch', 'ColtSettings', 'NonFiniteLossError', 'SearchError']
