"""Named extension tables of the mask core (pure Python): scores, partition schemes, policies.

MMEngine's registries hold what configs build (hooks, datasets, models) and the search's methods
and tasks; the core's own extension points are plain tables of this kind, so the core imports
nothing but torch. Each has one decorator to add an entry and one lookup that names the choices.
"""
from typing import Callable, Dict


class Table(Dict[str, object]):
    """``name -> entry`` with a decorator to register and a lookup that names the choices.

    Args:
        option (str): the ``colt`` option that selects an entry (for error messages).
    """

    def __init__(self, option: str) -> None:
        super().__init__()
        self.option = option

    def register(self, name: str) -> Callable:
        """Decorator: add the decorated class or function as ``name``."""
        def add(entry):
            self[name] = entry
            return entry
        return add

    def get_entry(self, name: str):
        if name not in self:
            raise ValueError(f'colt.{self.option} must be one of {sorted(self)}, got {name!r}')
        return self[name]
