"""The calendar day the product believes it is, in Japan, and how to pin it.

Dates on forms are Japanese dates: a request written on the morning of 1 December in Tokyo is dated
1 December, even while a server set to UTC still thinks it is 30 November. Everything that asks
"what day is it?" (a date may not be in the future, a sample is dated "today", the archive's month
folder) asks here.

``DEJIRU_TODAY=2026-11-24`` pins the day for a demo, a benchmark or the test suite, so that a sample
drawn on Tuesday and one drawn on Wednesday are the same sample: results never depend on the calendar.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

from core.errors import ClockSettingError

JST = ZoneInfo("Asia/Tokyo")
ENV = "DEJIRU_TODAY"


def pinned_today() -> dt.date | None:
    """The day pinned by ``DEJIRU_TODAY``, or None when the real calendar is used."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ClockSettingError(
            f"{ENV}={raw!r} は日付ではありません（例: 2026-11-24）",
            f"{ENV}={raw!r} is not a date (e.g. 2026-11-24)",
        ) from exc


def today() -> dt.date:
    """Today in Japan, or the pinned day."""
    return pinned_today() or dt.datetime.now(JST).date()


def now() -> dt.datetime:
    """The current moment (timezone-aware, UTC). Stamps on records stay real even when the day is
    pinned: only the calendar day that values are checked against is pinned."""
    return dt.datetime.now(dt.UTC)


def local_now() -> dt.datetime:
    """The current moment on a Japanese wall clock, for stamps people read (file names, reports)."""
    return now().astimezone(JST)


def stamp() -> str:
    """``YYYYmmdd-HHMMSS`` in Japan: sorts by time in a folder listing."""
    return f"{local_now():%Y%m%d-%H%M%S}"
