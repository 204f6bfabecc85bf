"""MMEngine pieces on top of the mask core: the ColtHook, the search driver, safe loading."""
from .hooks import ColtHook, NonFiniteLossError
from .safe_load import allow_checkpoint_types
from .search import ColtSearch, ColtSettings, SearchError

allow_checkpoint_types()

__all__ = ['ColtHook', 'ColtSearch', 'ColtSettings', 'NonFiniteLossError', 'SearchError',
           'allow_checkpoint_types']
