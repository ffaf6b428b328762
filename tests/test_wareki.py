"""和暦: vectors derived from the era facts, and round trips over every day from 明治 to 2100."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from validation.wareki import (
    ERAS,
    WarekiError,
    format_wareki,
    from_wareki,
    kanji_number,
    parse_date,
    to_wareki,
)


@pytest.mark.parametrize(
    ("era", "y", "m", "d", "iso"),
    [
        ("令和", 1, 5, 1, "2019-05-01"),
        ("平成", 31, 4, 30, "2019-04-30"),
        ("平成", 1, 1, 8, "1989-01-08"),
        ("昭和", 64, 1, 7, "1989-01-07"),
        ("昭和", 1, 12, 25, "1926-12-25"),
        ("大正", 15, 12, 24, "1926-12-24"),
        ("大正", 1, 7, 30, "1912-07-30"),
        ("明治", 45, 7, 29, "1912-07-29"),
        ("令和", 6, 2, 29, "2024-02-29"),
    ],
)
def test_era_boundaries(era: str, y: int, m: int, d: int, iso: str) -> None:
    assert from_wareki(era, y, m, d) == dt.date.fromisoformat(iso)


@pytest.mark.parametrize(
    ("era", "y", "m", "d"),
    [
        ("平成", 31, 5, 1),  # already 令和
        ("令和", 1, 4, 30),  # still 平成
        ("昭和", 64, 1, 8),  # already 平成
        ("平成", 1, 1, 7),  # still 昭和
        ("令和", 5, 2, 29),  # 2023 is not a leap year
        ("昭和", 0, 1, 1),
        ("大正", 16, 1, 1),
    ],
)
def test_dates_that_never_existed(era: str, y: int, m: int, d: int) -> None:
    with pytest.raises(WarekiError):
        from_wareki(era, y, m, d)


def test_parse_forms_people_write() -> None:
    assert parse_date("令和元年5月1日") == dt.date(2019, 5, 1)
    assert parse_date("令和６年４月１日") == dt.date(2024, 4, 1)
    assert parse_date("平成三十一年四月三十日") == dt.date(2019, 4, 30)
    assert parse_date("R6.4.1") == dt.date(2024, 4, 1)
    assert parse_date("S48/6/28") == dt.date(1973, 6, 28)
    assert parse_date("2024-04-01") == dt.date(2024, 4, 1)
    assert parse_date("2024年4月1日") == dt.date(2024, 4, 1)
    with pytest.raises(WarekiError):
        parse_date("令和6年13月1日")
    with pytest.raises(WarekiError):
        parse_date("きのう")


def test_kanji_numbers() -> None:
    assert [kanji_number(x) for x in ["元", "十", "十二", "二十", "二十三", "三〇", "１２"]] == [
        1,
        10,
        12,
        20,
        23,
        30,
        12,
    ]


def test_gannen_formatting() -> None:
    assert format_wareki(dt.date(2019, 5, 1)) == "令和元年5月1日"
    assert format_wareki(dt.date(2019, 5, 1), gannen=False) == "令和1年5月1日"


@given(st.dates(min_value=ERAS[0].start, max_value=dt.date(2100, 12, 31)))
def test_round_trip(date: dt.date) -> None:
    era, year = to_wareki(date)
    assert from_wareki(era, year, date.month, date.day) == date
    assert parse_date(format_wareki(date)) == date
