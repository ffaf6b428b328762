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

from core.errors import WarekiError
from validation.normalize import kanji_to_int


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


def kanji_number(text: str) -> int:
    """Numbers as written in dates: 12, １２, 十二, 二十三, 三〇, 元 (= 1).

    Strict (``normalize.kanji_to_int``): 十十 or 二三十 is no number, so it raises
    ``ValueError`` rather than being read as 20 or 23. 元 is returned as 1 wherever it stands;
    :func:`parse_date` accepts it for the year only (元年: there is no 元月 nor 元日 in a date)."""
    t = unicodedata.normalize("NFKC", text).strip()
    if t == "元":
        return 1
    if _DIGITS_RE.fullmatch(t):
        return int(t)
    return kanji_to_int(t)


#: Half-width digits only (after NFKC): ``str.isdigit`` and ``\d`` also take digits of other scripts
#: (፩, ٣) that ``int`` refuses or nobody writes on a Japanese form.
_DIGITS_RE = re.compile(r"[0-9]+")
_YEAR = r"([0-9]{1,3}|[〇一二三四五六七八九十百]{1,5}|元)"
_PART = r"([0-9]{1,2}|[〇一二三四五六七八九十]{1,3})"
_SEP_Y, _SEP_M = r"\s*[年.\-/]\s*", r"\s*[月.\-/]\s*"
_ERA = r"(明治|大正|昭和|平成|令和|[MTSHR])\.?\s*"
_WAREKI_RE = re.compile(rf"^{_ERA}{_YEAR}{_SEP_Y}{_PART}{_SEP_M}{_PART}\s*日?$")
#: The same shape with 元 or a longer run where a month or a day stands: said plainly, not "not a date".
_GANNEN_ELSEWHERE_RE = re.compile(rf"^{_ERA}\S+?{_SEP_Y}(元|\S+?){_SEP_M}(元|\S+?)\s*日?$")
_ISO_RE = re.compile(r"^([0-9]{4})\s*[年.\-/]\s*([0-9]{1,2})\s*[月.\-/]\s*([0-9]{1,2})\s*日?$")
#: Longer than any date anyone writes (平成三十一年十二月三十一日 is 14): refused before any parsing.
MAX_DATE_CHARS = 40


def parse_date(text: str) -> dt.date:
    """Parse 令和6年4月1日, 令和元年5月1日, R6.4.1, 平成三十一年四月三十日, 2024-04-01, 2024年4月1日.

    Anything else raises :class:`WarekiError` (with a reason in Japanese and English), never another
    exception: the text comes from people (review screen) and from the OCR. Numbers are bounded
    (a year of at most 3 digits in an era, 4 in the Western calendar) so no input reaches ``int`` or
    ``datetime`` with a value they would refuse in their own way."""
    t = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
    shown = text if len(text) <= MAX_DATE_CHARS else text[:MAX_DATE_CHARS] + "…"
    if len(t) > MAX_DATE_CHARS:
        raise WarekiError(f"「{shown}」は日付として長すぎます", f"{shown!r} is too long for a date")
    m = _WAREKI_RE.match(t)
    if m:
        era, y, mo, d = m.groups()
        try:
            year, month, day = kanji_number(y), kanji_number(mo), kanji_number(d)
        except ValueError as exc:
            raise WarekiError(
                f"「{shown}」の数字が読めません（例: 令和6年4月1日、令和六年四月一日）",
                f"the numbers in {shown!r} cannot be read (e.g. 令和6年4月1日)",
            ) from exc
        return from_wareki(era, year, month, day)
    m = _GANNEN_ELSEWHERE_RE.match(t)
    if m and "元" in m.groups()[1:]:
        raise WarekiError(
            f"「{shown}」: 「元」は年にだけ使えます（元年）。月と日は数字で書いてください",
            f"{shown!r}: 元 stands for the first year only (元年), not for a month or a day",
        )
    m = _ISO_RE.match(t)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise WarekiError(f"{shown}という日付はありません", f"{shown} is not a date") from exc
    raise WarekiError(f"「{shown}」は日付として読めません", f"{shown!r} is not a date")
