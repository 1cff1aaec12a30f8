"""Ctrl-C (SIGINT) and SIGTERM: stop cleanly, say so in one line, exit 130 or 143.

The handlers raise an exception in the main thread, so every ``try/finally`` and
``except BaseException`` on the way up runs: a transaction rolls back, a new store's
temporary file is removed. DuckDB turns an exception raised by a handler during a query
into ``RuntimeError('Query interrupted')``, which loses which signal it was; the
handler therefore records the signal and :func:`stopped_by` answers from that record,
whatever exception reaches the top.

A second signal while the first one unwinds is recorded but raises nothing, so the
clean-up finishes. A signal the parent process ignores (``nohup``, a background job of
a non-interactive shell) stays ignored.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

MESSAGES: dict[int, str] = {
    signal.SIGINT: "interrupted; nothing was written",
    signal.SIGTERM: "terminated; nothing was written",
}

_received: list[int] = []


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM (a BaseException, like KeyboardInterrupt)."""


def _handler(signum: int, frame: FrameType | None) -> None:
    first = not _received
    _received.append(signum)
    if not first:
        return  # let the clean-up of the first one finish
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated


def install() -> dict[int, Any]:
    """Install the handlers for SIGINT and SIGTERM (unless ignored); return the previous ones.

    Installing again (the CLI after the launcher) keeps what was received so far.
    """
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(sig)
        if current is _handler:
            continue
        _received.clear()
        previous[sig] = current
        if current is not signal.SIG_IGN:
            signal.signal(sig, _handler)
    return previous


def restore(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`install` replaced (tests run the CLI in-process)."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def stopped_by() -> int | None:
    """The first signal received since :func:`install`, or None."""
    return _received[0] if _received else None


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum
