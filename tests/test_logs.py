"""What a clerk's console shows of a failure: our typed errors by their message, a bug with its traceback,
personal data masked in both."""

from __future__ import annotations

import logging
import sys

from core.errors import Transient
from core.logs import ClerkFormatter, MaskFilter


def _record(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1, "failed: %s", (exc,), info)


def _wrapped() -> BaseException:
    """A typed error re-raised by something else, as Prefect's task engine does."""
    try:
        try:
            raise Transient("対象システムに接続できません", "cannot reach the target system")
        except Transient as inner:
            raise RuntimeError("task failed") from inner
    except RuntimeError as outer:
        return outer


def test_our_errors_are_shown_by_their_message_a_bug_by_its_traceback() -> None:
    fmt = ClerkFormatter("%(levelname)s %(message)s")
    known = _record(Transient("対象システムに接続できません", "cannot reach the target system"))
    assert "Traceback" not in fmt.format(known) and "対象システムに接続できません" in fmt.format(known)
    assert known.exc_info is not None  # other handlers (Prefect's API) still get the traceback
    assert "Traceback" not in fmt.format(_record(_wrapped()))
    assert "Traceback" in fmt.format(_record(ValueError("a bug")))


def test_a_traceback_shown_is_masked() -> None:
    record = _record(ValueError("個人番号 123456789018 が読めません"))
    assert MaskFilter().filter(record)
    shown = ClerkFormatter("%(message)s").format(record)
    assert "Traceback" in shown and "123456789018" not in shown
