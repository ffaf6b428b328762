"""What a correctly keyed record looks like in the demo legacy system's own database."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

from validation.wareki import to_wareki

PURPOSE_CODES = {
    "employment": "01",
    "pension": "02",
    "license": "03",
    "inheritance": "04",
    "insurance": "05",
    "school": "06",
    "government": "07",
    "other": "99",
}


def _wareki(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    era, year = to_wareki(d)
    return f"{era}{year}年{d.month}月{d.day}日"


def expected_row(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "shimei": values["name"],
        "kana": values["kana"],
        "birth": _wareki(values["birth_date"]),
        "zip": values["postal_code"],
        "address": values["address"],
        "tel": values["phone"],
        "visitor": {"self": "1", "household": "2", "agent": "3"}[values["visitor"]],
        "copies": values["copies"],
        "scope": {"all": "1", "part": "2"}[values["scope"]],
        "honseki": "1" if values["honseki"] == "yes" else "0",
        "zokugara": "1" if values["relation"] == "yes" else "0",
        "purpose": ",".join(PURPOSE_CODES[p] for p in values["purpose"]),
        "purpose_other": values["purpose_other"] or "",
        "request_date": _wareki(values["request_date"]),
    }


def rows(db: Path, table: str = "juminhyo") -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"select * from {table} order by receipt")]
    finally:
        conn.close()


EXPECTED_KEYS = {
    "shimei",
    "kana",
    "birth",
    "zip",
    "address",
    "tel",
    "visitor",
    "copies",
    "scope",
    "honseki",
    "zokugara",
    "purpose",
    "purpose_other",
    "request_date",
}


def pick(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in EXPECTED_KEYS}
