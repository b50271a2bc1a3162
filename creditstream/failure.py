"""How a failure is told in a log line: the exception's type and where it was raised, never its
message, which may quote a value from a record (an ID number, a name)."""
from __future__ import annotations

import traceback


def where(exc: BaseException) -> str:
    """``TypeError at store.py:123``: the innermost frame of the traceback, or the type alone."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    return f"{type(exc).__name__} at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else type(exc).__name__
