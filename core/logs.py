"""Logging that never leaks personal data: 個人番号-like digit runs are masked in every record.

Code logs document ids and field names, never values, at INFO; this filter is the safety net for
messages that come from libraries or exceptions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from core.errors import DejiruError
from core.personal import mask_text as mask


class MaskFilter(logging.Filter):
    """Masks the message and the traceback of every record that passes (a traceback quotes values)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = mask(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def _known(exc: BaseException | None) -> bool:
    """A typed error of ours, or one raised from one (Prefect re-raises what a task raised)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DejiruError):
            return True
        exc, seen = exc.__cause__, seen + 1
    return False


def without_known_traceback(record: logging.LogRecord, fmt: Callable[[logging.LogRecord], str]) -> str:
    """The record formatted without its traceback when the exception is one of ours: its message says
    what happened and what to do (対象システムに接続できません), and a clerk's screen is no place for
    a traceback. Other exceptions (a bug) keep theirs. The record is shared by every handler (Prefect's
    API handler still stores the masked traceback), so it is put back as it was."""
    exc = record.exc_info[1] if record.exc_info else None
    if not _known(exc):
        return fmt(record)
    saved = record.exc_info, record.exc_text
    record.exc_info, record.exc_text = None, None
    try:
        return fmt(record)
    finally:
        record.exc_info, record.exc_text = saved


class ClerkFormatter(logging.Formatter):
    """A console formatter that leaves out the traceback of our own typed errors."""

    def format(self, record: logging.LogRecord) -> str:
        return without_known_traceback(record, super().format)


def mask_handlers(*names: str) -> None:
    """Put the mask on every handler of these loggers (and the root's), once: for processes whose
    logging someone else configured (a Prefect worker's flow runs ship records to Prefect's database)."""
    for name in ("", *names):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskFilter) for f in handler.filters):
                handler.addFilter(MaskFilter())


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(ClerkFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(MaskFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "watchdog", "PIL", "alembic", "multipart"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
