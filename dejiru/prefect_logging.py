"""Prefect's console formatter, less the tracebacks of our own typed errors (``core.logs``).

Named in the logging configuration ``dejiru.prefect_env.masked_logging`` writes, and imported by
Prefect when it sets up logging, after its settings: never import it before.
"""

from __future__ import annotations

import logging

from prefect.logging.formatters import PrefectFormatter

from core.logs import without_known_traceback


class ClerkPrefectFormatter(PrefectFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return without_known_traceback(record, super().format)
