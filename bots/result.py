"""What keying a record answers, whichever way it went in (screens or an import file)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyResult:
    receipt: str
    #: True when the record was in before this call (search-before-create found it after a crash or
    #: a retry; a file already answered, or dropped by an earlier attempt).
    existed: bool
