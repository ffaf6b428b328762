"""The plan's KPIs as arithmetic: the typing-time estimate (validation.effort), the weekly figures per
channel (records.kpis), the council's CSV (core.spreadsheet) and the charts' geometry (review.charts).
Pure: no database, no server. Dates are relative to ``core.clock.today()`` (pinned by conftest)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import statistics
from typing import Any

import pytest

from core import clock
from core.spreadsheet import BOM, excel_csv, safe_cell
from formkit.kinds import KINDS, kind_of
from records.kpis import (
    CHANNELS,
    CSV_COLUMNS,
    JST,
    REVIEW_CAP_S,
    ChannelFact,
    csv_rows,
    percentile,
    period_ending,
    weekly,
)
from review.charts import Series, bars
from validation import effort

# --- the typing-time estimate ---------------------------------------------------------------------------


def test_longer_text_takes_longer_and_kanji_take_longer_than_kana() -> None:
    name = kind_of("name")
    assert effort.field_seconds(name, "山田　太郎") > effort.field_seconds(name, "山田")
    assert effort.field_seconds(name, "山田") > effort.field_seconds(kind_of("kana"), "ヤマ")
    # a character costs its script's rate, spaces nothing, plus the move to the field
    assert effort.field_seconds(name, "山田　ヤマ") == pytest.approx(
        effort.FIELD_S + 2 * effort.KANJI_S + 2 * effort.KANA_S
    )


def test_digits_are_priced_per_digit_whatever_the_punctuation() -> None:
    postal, digits = kind_of("postal"), kind_of("digits")
    assert effort.field_seconds(postal, "207-0015") == pytest.approx(effort.FIELD_S + 7 * effort.DIGIT_S)
    assert effort.field_seconds(kind_of("count"), 12) == pytest.approx(effort.FIELD_S + 2 * effort.DIGIT_S)
    assert effort.field_seconds(digits, "０１２") == effort.field_seconds(digits, "012")  # full width too


def test_marks_dates_and_empty_fields() -> None:
    assert effort.field_seconds(kind_of("checkbox"), True) == pytest.approx(effort.FIELD_S + effort.TICK_S)
    assert effort.field_seconds(kind_of("checkboxes"), ["a", "b", "c"]) == pytest.approx(
        effort.FIELD_S + 3 * effort.TICK_S
    )
    assert effort.field_seconds(kind_of("date"), "2026-11-24") == pytest.approx(
        effort.FIELD_S + effort.DATE_S
    )
    empties: tuple[Any, ...] = (None, "", [], False)
    for kind in KINDS.values():
        for empty in empties:
            assert effort.field_seconds(kind, empty) == 0.0, (kind.name, empty)
    assert effort.field_seconds(kind_of("signature"), True) == 0.0  # looked at, never keyed


def test_a_record_costs_its_fields_plus_opening_and_saving_it() -> None:
    fields = [("name", "佐藤　花子"), ("postal", "187-0034"), ("copies", None)]
    by_hand = sum(effort.field_seconds(KINDS.get(t), v) for t, v in fields)
    assert effort.record_seconds(fields) == pytest.approx(effort.RECORD_S + by_hand)
    assert effort.record_seconds([("name", None)]) == 0.0  # nothing to type: no record to open


def test_hostile_values_and_unknown_types_are_priced_not_fatal() -> None:
    """A stored value is hostile input: a type the table no longer knows is priced as text, a value of
    the wrong shape as the text it prints as."""
    assert effort.record_seconds([("no_such_kind", "ABC")]) == pytest.approx(
        effort.RECORD_S + effort.FIELD_S + 3 * effort.OTHER_S
    )
    for value in ({"a": 1}, [[1]], 3.5, "=cmd|' /C calc'!A0", "\u202e\u200b"):
        for kind in KINDS.values():
            assert effort.field_seconds(kind, value) >= 0.0


# --- percentiles and weeks -------------------------------------------------------------------------------


def test_percentile_is_the_usual_median_and_inclusive_quantile() -> None:
    rng = random.Random(4)
    for n in (1, 2, 3, 10, 57):
        values = [rng.uniform(0, 1000) for _ in range(n)]
        assert percentile(values, 0.5) == pytest.approx(statistics.median(values))
        if n >= 2:
            p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
            assert percentile(values, 0.9) == pytest.approx(p90)
    assert percentile([], 0.5) is None


def _at(day: dt.date, hour: float) -> dt.datetime:
    return (dt.datetime.combine(day, dt.time(), tzinfo=JST) + dt.timedelta(hours=hour)).astimezone(dt.UTC)


def _facts(today: dt.date, days: int, seed: int) -> list[ChannelFact]:
    rng = random.Random(seed)
    out = []
    for back in range(days + 10):  # some before the period too
        day = today - dt.timedelta(days=back)
        for _ in range(rng.randint(0, 6)):
            received = _at(day, rng.uniform(0, 24))
            keyed = received + dt.timedelta(hours=rng.uniform(0, 30)) if rng.random() < 0.8 else None
            out.append(
                ChannelFact(
                    channel=rng.choice(CHANNELS),
                    received_at=received,
                    straight_through=rng.choice((True, False, None)),
                    keyed_at=keyed,
                    typing_s=rng.uniform(0, 600) if keyed else 0.0,
                    review_s=rng.uniform(0, REVIEW_CAP_S),
                    counter_s=rng.uniform(0, 300),
                    demo=rng.random() < 0.3,
                )
            )
    return out


def test_weeks_are_japanese_calendar_weeks_covering_the_period() -> None:
    today = clock.today()
    for days in (1, 6, 7, 14, 30, 42):
        period = period_ending(today, days)
        report = weekly([], period)
        assert period.days == days and period.last == today
        assert report.weeks[0].first == period.first and report.weeks[-1].last == period.last
        for w in report.weeks:
            assert w.start.weekday() == 0 and w.start <= w.first <= w.last <= w.start + dt.timedelta(days=6)
        covered = sum((w.last - w.first).days + 1 for w in report.weeks)
        assert covered == days


def test_weekly_figures_add_up_per_week_per_channel_and_overall() -> None:
    today = clock.today()
    period = period_ending(today, 30)
    facts = _facts(today, 30, seed=11)
    report = weekly(facts, period)
    inside = [f for f in facts if period.since <= f.received_at < period.until]
    assert report.total.applications == len(inside) < len(facts)
    for w in report.weeks:
        cells = [report.cells[(w.start, ch)] for ch in report.channels]
        week = report.week_totals[w.start]
        assert sum(c.applications for c in cells) == week.applications
        assert sum(c.saved_s for c in cells) == pytest.approx(week.saved_s)
        assert sum(c.keyed for c in cells) == week.keyed
        if week.applications:
            assert sum(c.share or 0 for c in cells) == pytest.approx(1.0)
    for ch in report.channels:
        mine = [f for f in inside if f.channel == ch]
        fig = report.by_channel[ch]
        assert fig.applications == len(mine)
        assert fig.demo == sum(f.demo for f in mine)
        read = [f for f in mine if f.straight_through is not None]
        assert fig.straight_rate == pytest.approx(sum(bool(f.straight_through) for f in read) / len(read))
        assert fig.saved_s == pytest.approx(sum(f.typing_s - f.review_s - f.counter_s for f in mine))
        waits = [(f.keyed_at - f.received_at).total_seconds() for f in mine if f.keyed_at]
        assert fig.to_keyed_median_s == pytest.approx(statistics.median(waits))
        assert fig.to_keyed_p90_s == pytest.approx(percentile(waits, 0.9))
    assert sum(report.by_channel[ch].applications for ch in report.channels) == report.total.applications


def test_a_week_is_a_week_in_japan_not_in_utc() -> None:
    """Sunday 23:30 in Tokyo is Sunday 14:30 UTC, Monday 00:30 in Tokyo is still Sunday in UTC: each
    counts in its Japanese week."""
    today = clock.today()
    period = period_ending(today, 28)
    sunday = today - dt.timedelta(days=today.weekday() + 1)
    late_sunday = ChannelFact("online", _at(sunday, 23.5), True, None)
    early_monday = ChannelFact("online", _at(sunday + dt.timedelta(days=1), 0.5), True, None)
    report = weekly([late_sunday, early_monday], period)
    assert early_monday.received_at.date() == sunday  # in UTC, both on Sunday
    this_monday = sunday + dt.timedelta(days=1)
    assert report.cells[(this_monday, "online")].applications == 1
    assert report.cells[(this_monday - dt.timedelta(days=7), "online")].applications == 1


def test_an_unknown_channel_is_shown_as_stored_not_dropped() -> None:
    today = clock.today()
    odd = ChannelFact("=1+1", _at(today, 10), True, None)
    report = weekly([odd], period_ending(today, 7))
    assert report.channels[-1] == "=1+1" and report.by_channel["=1+1"].applications == 1


# --- the CSV --------------------------------------------------------------------------------------------


def test_formula_cells_are_defused_and_numbers_stay_numbers() -> None:
    for evil in ('=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(evil) == "'" + evil
    assert safe_cell("紙の申請書") == "紙の申請書"
    assert safe_cell(-12.5) == "-12.5" and safe_cell(3) == "3" and safe_cell(None) == ""
    data = excel_csv([["a", "=b"], [1, -2.0]])
    assert data.startswith(BOM.encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["a", "'=b"], ["1", "-2"]]


def test_the_council_csv_has_a_row_per_week_and_channel_and_totals() -> None:
    today = clock.today()
    report = weekly(_facts(today, 21, seed=5), period_ending(today, 21))
    rows = csv_rows(report)
    assert rows[0] == [ja for ja, _ in CSV_COLUMNS]
    per_week = len(report.channels) + 1
    assert len(rows) == 1 + len(report.weeks) * per_week + per_week
    apps = CSV_COLUMNS.index(("申請件数", "Applications"))
    assert rows[-1][apps] == report.total.applications
    english = csv_rows(report, en=True)
    assert english[0] == [en for _, en in CSV_COLUMNS] and len(english) == len(rows)


# --- the charts -----------------------------------------------------------------------------------------


def test_stacked_bars_are_as_tall_as_their_values_and_negative_bars_hang_below_zero() -> None:
    labels = ["a", "b"]
    stacked = bars(labels, [Series("p", "P", [4, 2], "#111"), Series("o", "O", [4, 0], "#222")], stacked=True)
    first, second = stacked["groups"]
    assert first["bars"][0]["h"] == pytest.approx(first["bars"][1]["h"], abs=0.2)
    assert sum(b["h"] for b in first["bars"]) == pytest.approx(4 * second["bars"][0]["h"], abs=0.3)  # 8 vs 2
    assert first["bars"][1]["y"] + first["bars"][1]["h"] == pytest.approx(first["bars"][0]["y"], abs=0.2)
    grouped = bars(labels, [Series("p", "P", [10, -5], "#111")], stacked=False)
    up, down = grouped["groups"][0]["bars"][0], grouped["groups"][1]["bars"][0]
    assert up["y"] + up["h"] == pytest.approx(grouped["zero"], abs=0.2)
    assert down["y"] == pytest.approx(grouped["zero"], abs=0.2) and down["h"] == pytest.approx(
        up["h"] / 2, abs=0.2
    )
    assert bars([], [], stacked=True)["groups"] == []


def test_the_staff_guides_quote_the_effort_table() -> None:
    """The guides print the table the figures use, never their own numbers."""
    from pathlib import Path

    docs = Path(__file__).resolve().parent.parent / "docs"
    ja, en = (docs / "guide-ja.md").read_text(), (docs / "guide-en.md").read_text()
    for label_ja, label_en, seconds in effort.TABLE:
        assert f"| {label_ja} | {seconds:g} |" in ja
        assert f"| {label_en} | {seconds:g} |" in en
