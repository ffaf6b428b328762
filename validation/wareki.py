"""Japanese era dates (和暦) ↔ Gregorian dates, with the era boundaries enforced.

Facts used (each era begins on the day its first year begins; the previous era ends the day before):
明治 1868-01-25 (明治元年1月1日 in the lunisolar calendar), 大正 1912-07-30, 昭和 1926-12-25,
平成 1989-01-08, 令和 2019-05-01. So 昭和64年 runs 01-01..01-07, 平成元年 starts 01-08,
平成31年 ends 04-30 and 令和元年 starts 05-01. Dates under 明治 before 1873 were lunisolar; we treat
them as Gregorian (nobody filing a form today was born then).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Era:
    name: str
    romaji: str
    letter: str
    start: dt.date


ERAS: list[Era] = [
    Era("明治", "meiji", "M", dt.date(1868, 1, 25)),
    Era("大正", "taisho", "T", dt.date(1912, 7, 30)),
    Era("昭和", "showa", "S", dt.date(1926, 12, 25)),
    Era("平成", "heisei", "H", dt.date(1989, 1, 8)),
    Era("令和", "reiwa", "R", dt.date(2019, 5, 1)),
]
ERA_BY_NAME = {e.name: e for e in ERAS} | {e.letter: e for e in ERAS} | {e.romaji: e for e in ERAS}


class WarekiError(ValueError):
    """A date that does not exist, with Japanese and English reasons."""

    def __init__(self, ja: str, en: str) -> None:
        self.ja, self.en = ja, en
        super().__init__(f"{ja} / {en}")


def era_end(era: Era) -> dt.date | None:
    """Last day of an era (None for the current one)."""
    i = ERAS.index(era)
    return ERAS[i + 1].start - dt.timedelta(days=1) if i + 1 < len(ERAS) else None


def from_wareki(era_name: str, year: int, month: int, day: int) -> dt.date:
    """The Gregorian date of an era date; raises WarekiError if it never existed."""
    era = ERA_BY_NAME.get(era_name)
    if era is None:
        raise WarekiError(f"元号「{era_name}」が分かりません", f"unknown era {era_name!r}")
    if year < 1:
        raise WarekiError(f"{era.name}{year}年はありません", f"{era.name} year {year} does not exist")
    try:
        date = dt.date(era.start.year + year - 1, month, day)
    except ValueError as exc:
        raise WarekiError(
            f"{era.name}{year}年{month}月{day}日という日付はありません",
            f"{era.name} {year}-{month}-{day} is not a date",
        ) from exc
    end = era_end(era)
    if date < era.start or (end is not None and date > end):
        span = f"{era.start:%Y-%m-%d}〜{end:%Y-%m-%d}" if end else f"{era.start:%Y-%m-%d}〜"
        raise WarekiError(
            f"{era.name}{_year_ja(year)}{month}月{day}日は{era.name}の期間（{span}）の外です",
            f"{era.name} {year}-{month}-{day} is outside the era ({span})",
        )
    return date


def to_wareki(date: dt.date) -> tuple[str, int]:
    """(era name, year in era) for a Gregorian date from 明治 on."""
    for era in reversed(ERAS):
        if date >= era.start:
            return era.name, date.year - era.start.year + 1
    raise WarekiError(f"{date}は明治より前です", f"{date} is before Meiji")


def _year_ja(year: int) -> str:
    return "元年" if year == 1 else f"{year}年"


def format_wareki(date: dt.date, *, gannen: bool = True) -> str:
    """令和6年4月1日 (元年 for year 1 unless ``gannen`` is False)."""
    era, year = to_wareki(date)
    y = _year_ja(year) if gannen else f"{year}年"
    return f"{era}{y}{date.month}月{date.day}日"


_KANJI_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def kanji_number(text: str) -> int:
    """Numbers as written in dates: 12, １２, 十二, 二十三, 三〇, 元 (= 1)."""
    t = unicodedata.normalize("NFKC", text).strip()
    if t == "元":
        return 1
    if t.isdigit():
        return int(t)
    if not t or any(c not in _KANJI_DIGITS and c != "十" for c in t):
        raise ValueError(text)
    if "十" in t:
        tens, _, ones = t.partition("十")
        return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)
    return int("".join(str(_KANJI_DIGITS[c]) for c in t))


_NUM = r"([0-9０-９〇零一二三四五六七八九十]+|元)"
_WAREKI_RE = re.compile(
    rf"^(明治|大正|昭和|平成|令和|[MTSHR])\.?\s*{_NUM}\s*[年.\-/]\s*{_NUM}\s*[月.\-/]\s*{_NUM}\s*日?$"
)
_ISO_RE = re.compile(r"^(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?$")


def parse_date(text: str) -> dt.date:
    """Parse 令和6年4月1日, 令和元年5月1日, R6.4.1, 平成三十一年四月三十日, 2024-04-01, 2024年4月1日."""
    t = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
    m = _WAREKI_RE.match(t)
    if m:
        era, y, mo, d = m.groups()
        return from_wareki(era, kanji_number(y), kanji_number(mo), kanji_number(d))
    m = _ISO_RE.match(t)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise WarekiError(f"{text}という日付はありません", f"{text} is not a date") from exc
    raise WarekiError(f"「{text}」は日付として読めません", f"{text!r} is not a date")
