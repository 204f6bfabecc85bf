"""Named points between the writes of a search, where tests simulate a kill.

``COLT_DET_CRASH_AT=<point>`` makes the search stop at that point as if killed: no cleanup, no
later write. Tests use it to check that every sequence of writes can be resumed at every step
(a real SIGKILL test covers the points a signal can reach in time).
"""
import os


class SimulatedCrash(BaseException):
    """Raised at an injected crash point; a BaseException so no error handler swallows it."""


def crash_point(name: str) -> None:
    if os.environ.get('COLT_DET_CRASH_AT') == name:
        raise SimulatedCrash(f'simulated crash at {name}')
