"""Logging that never leaks personal data: 個人番号-like digit runs are masked in every record.

Code logs document ids and field names, never values, at INFO; this filter is the safety net for
messages that come from libraries or exceptions.
"""

from __future__ import annotations

import logging

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


def mask_handlers(*names: str) -> None:
    """Put the mask on every handler of these loggers (and the root's), once: for processes whose
    logging someone else configured (a Prefect worker's flow runs ship records to Prefect's database)."""
    for name in ("", *names):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskFilter) for f in handler.filters):
                handler.addFilter(MaskFilter())


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(MaskFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "watchdog", "PIL", "alembic", "multipart"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
