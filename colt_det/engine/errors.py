"""The error a search raises when it cannot start or go on."""


class SearchError(RuntimeError):
    """A search that cannot start or go on; the message says how to fix it."""
