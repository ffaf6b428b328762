"""How personal data is masked, in one place: log records, screens, reports and audit entries.

A 個人番号 shows only its last four digits (the form citizens know from their own card); any run of
twelve digits in free text (an exception message, a library's log line) is treated as one.
"""

from __future__ import annotations

import re
import unicodedata

_MYNUMBER_IN_TEXT = re.compile(r"(?<!\d)(\d{4})[ -]?(\d{4})[ -]?(\d{4})(?!\d)")


def mask_mynumber(number: str) -> str:
    """A 個人番号 value as shown to anyone: ``********9018``."""
    d = "".join(c for c in unicodedata.normalize("NFKC", number) if c.isdigit())
    return "********" + d[-4:] if len(d) >= 4 else "****"


def mask_text(text: str) -> str:
    """Free text with every 個人番号-like run of twelve digits masked."""
    return _MYNUMBER_IN_TEXT.sub(lambda m: "********" + m.group(3), text)
