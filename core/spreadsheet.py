"""CSV files that people open in Excel: UTF-8 with a BOM, and no cell that Excel runs as a formula.

Why a BOM: Excel in Japan opens a CSV without one as Shift_JIS, and every Japanese word turns into
mojibake; with ``EF BB BF`` in front it reads UTF-8. Why the guard: a cell beginning with ``=``,
``+``, ``-`` or ``@`` (or a tab or carriage return before one) is a formula to Excel, so a value a
stranger could put into the store (a channel name, a form title) might run ``=HYPERLINK(...)`` or
worse on a supervisor's PC (CSV injection, OWASP). Such a text cell gets a leading ``'``, which
Excel shows as text. Numbers are written as numbers: a negative saving stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
#: What makes Excel (and LibreOffice) read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def safe_cell(value: Cell) -> str:
    """One cell as written: numbers as they are, text with a formula's first character defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return format(value, ".12g") if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def excel_csv(rows: Iterable[Sequence[Cell]]) -> bytes:
    """The rows as a CSV file Excel opens as it should (BOM, CRLF line ends, guarded cells)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return (BOM + buf.getvalue()).encode("utf-8")
