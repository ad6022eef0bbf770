"""Garbage-collector settings for the duration of a scan.

Scoring allocates many short-lived objects (sentence units, token tuples, evidence), so
Python's cyclic garbage collector runs often, and every full collection walks every object
alive in the process: after importing scikit-learn and SciPy and loading the models that is
some 140,000 objects and tens of milliseconds per full collection, repeated every few dozen
documents (15-20% of a scan's CPU time on the benchmark corpus). While a scan runs,
:func:`quiet_gc` therefore

* freezes the objects that already exist (``gc.freeze``: modules, models, the caller's
  data), so full collections skip them, and
* collects the youngest generation every ``young`` allocations instead of every 700.

Both are undone when the outermost scan ends (``gc.unfreeze`` hands the frozen objects back
to the oldest generation, so nothing is leaked); a process that had already frozen objects
itself keeps its own freeze untouched. Nested and interleaved scans share one
setting: only the first to start applies it and only the last to end restores it.
Reference counting still frees acyclic garbage at once; only the cycle collector's
schedule changes, so no result depends on it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: Allocations between collections of the youngest generation while scanning (CPython's
#: default is 700).
YOUNG_THRESHOLD = 50_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()
_froze = False


@contextlib.contextmanager
def quiet_gc(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Freeze existing objects and collect young ones less often until the block ends."""
    global _depth, _saved, _froze
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            # a process that froze objects itself (e.g. a pre-forking server) keeps its freeze
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
            gc.set_threshold(max(young, _saved[0]), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                if _froze:
                    gc.unfreeze()


def quiet_gc_while(generator: Callable[_P, Iterator[_T]]) -> Callable[_P, Iterator[_T]]:
    """Decorate a generator function so :func:`quiet_gc` holds from its first item until it
    is exhausted or closed."""
    @functools.wraps(generator)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Iterator[_T]:
        with quiet_gc():
            yield from generator(*args, **kwargs)
    return wrapper
