"""Logging that never leaks personal data: 個人番号-like digit runs are masked in every record.

Code logs document ids and field names, never values, at INFO; this filter is the safety net for
messages that come from libraries or exceptions.
"""

from __future__ import annotations

import logging

from core.personal import mask_text as mask


class MaskFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = mask(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(MaskFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "watchdog", "PIL", "alembic", "multipart"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
