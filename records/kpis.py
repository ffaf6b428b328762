"""The plan's figures per channel (paper, 書かない窓口, online), per week: pure functions over facts.

``Store.channel_facts`` reads one :class:`ChannelFact` per application from the database; everything
here is arithmetic on those, so that the KPI page, its CSV and ``dejiru kpi --csv`` give the same
numbers, and the tests check the arithmetic without a database.

What the figures mean (the staff guide says the same):

- **applications**: documents received in the period, one per application (a further page bound
  into its application and an unusable file are not applications).
- **straight-through rate**: of those read, the share that needed no person before keying.
- **staff minutes saved**: the typing the bot did that a clerk would otherwise have done
  (``validation.effort``: an estimate per field from what was keyed, for every system keyed into),
  minus the time people spent on the application: its review (opened to closed, at most
  :data:`REVIEW_CAP_S`: a task left open over lunch is not work) and, for a counter slip, the counter
  staff's own typing (``CounterSlip.staff_seconds``). It can be negative: that is a finding.
- **receipt to keyed**: from when the city had the application (the scan's arrival; for a counter
  slip, its printing at the counter) to the last of its records keyed; median and 90th percentile
  (linear interpolation between the nearest ranks), over the keyed applications.
- **share**: a channel's applications among all applications of the same week or period.

Weeks are Japanese calendar weeks, Monday to Sunday; the first and last week of a period may be cut
short by it, and say so (``first``, ``last``). The period ends on ``core.clock.today()``: with the
day pinned (``DEJIRU_TODAY``), documents stamped after it are not counted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from core.spreadsheet import Cell
from records.models import Channel

JST = ZoneInfo("Asia/Tokyo")
#: The channels in the order every table and chart shows them.
CHANNELS: tuple[str, ...] = (Channel.PAPER.value, Channel.COUNTER.value, Channel.ONLINE.value)
#: One review counts for at most this long (an opened task left on screen is not work).
REVIEW_CAP_S = 15 * 60.0
#: A period is at most a year (the KPI page's bound too).
MAX_DAYS = 366


@dataclass(frozen=True)
class ChannelFact:
    """One application as the figures need it (no value of any field: only what was spent and when)."""

    channel: str
    #: When the city had it (UTC, aware): the scan's arrival, or a counter slip's printing.
    received_at: dt.datetime
    #: None while not read.
    straight_through: bool | None
    #: When its last record was keyed (None: not keyed).
    keyed_at: dt.datetime | None
    #: A clerk's estimated typing for what the bot keyed (0 unless keyed).
    typing_s: float = 0.0
    #: People's time on its review (capped per review).
    review_s: float = 0.0
    #: The counter staff's typing (counter slips only).
    counter_s: float = 0.0
    demo: bool = False

    @property
    def saved_s(self) -> float:
        return self.typing_s - self.review_s - self.counter_s


@dataclass(frozen=True)
class Period:
    """Calendar days in Japan, ``first`` to ``last`` inclusive."""

    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def since(self) -> dt.datetime:
        """The period's first moment, in UTC."""
        return dt.datetime.combine(self.first, dt.time(), tzinfo=JST).astimezone(dt.UTC)

    @property
    def until(self) -> dt.datetime:
        """The moment after the period's last (exclusive), in UTC."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=JST).astimezone(dt.UTC)

    def holds(self, at: dt.datetime) -> bool:
        return self.since <= aware(at) < self.until


def period_ending(today: dt.date, days: int) -> Period:
    """The ``days`` days that end with ``today`` (bounded to 1..:data:`MAX_DAYS`)."""
    days = max(1, min(int(days), MAX_DAYS))
    return Period(today - dt.timedelta(days=days - 1), today)


def aware(at: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC time (SQLite hands back naive UTC)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def local_day(at: dt.datetime) -> dt.date:
    return aware(at).astimezone(JST).date()


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation between the nearest ranks (the median of
    an even count is the mean of the middle two); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * min(max(q, 0.0), 1.0)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class Figures:
    applications: int
    read: int
    straight: int
    keyed: int
    typing_s: float
    review_s: float
    counter_s: float
    to_keyed_median_s: float | None
    to_keyed_p90_s: float | None
    #: This slice's applications among all of its week (or period); None when there were none.
    share: float | None
    demo: int

    @property
    def straight_rate(self) -> float | None:
        return self.straight / self.read if self.read else None

    @property
    def saved_s(self) -> float:
        return self.typing_s - self.review_s - self.counter_s


def figures(facts: Sequence[ChannelFact], out_of: int | None = None) -> Figures:
    """The figures of some applications; ``out_of``: how many applications their share is of."""
    durations = [
        (aware(f.keyed_at) - aware(f.received_at)).total_seconds() for f in facts if f.keyed_at is not None
    ]
    durations = [max(d, 0.0) for d in durations]
    read = [f for f in facts if f.straight_through is not None]
    return Figures(
        applications=len(facts),
        read=len(read),
        straight=sum(1 for f in read if f.straight_through),
        keyed=len(durations),
        typing_s=sum(f.typing_s for f in facts),
        review_s=sum(f.review_s for f in facts),
        counter_s=sum(f.counter_s for f in facts),
        to_keyed_median_s=percentile(durations, 0.5),
        to_keyed_p90_s=percentile(durations, 0.9),
        share=len(facts) / out_of if out_of else None,
        demo=sum(1 for f in facts if f.demo),
    )


@dataclass(frozen=True)
class Week:
    #: The Monday that names the week (may lie before the period).
    start: dt.date
    #: The week's days inside the period.
    first: dt.date
    last: dt.date


def weeks_of(period: Period) -> list[Week]:
    out = []
    start = monday(period.first)
    while start <= period.last:
        out.append(Week(start, max(start, period.first), min(start + dt.timedelta(days=6), period.last)))
        start += dt.timedelta(days=7)
    return out


@dataclass(frozen=True)
class ChannelReport:
    period: Period
    weeks: list[Week]
    #: The channels shown: the three known ones, then any other a document names (hostile data).
    channels: list[str]
    #: (week's Monday, channel) → figures; every pair present, zeros included.
    cells: dict[tuple[dt.date, str], Figures] = field(default_factory=dict)
    #: week's Monday → every channel together.
    week_totals: dict[dt.date, Figures] = field(default_factory=dict)
    #: channel → the whole period.
    by_channel: dict[str, Figures] = field(default_factory=dict)
    total: Figures = field(default_factory=lambda: figures([]))


def weekly(facts: Iterable[ChannelFact], period: Period) -> ChannelReport:
    """Figures per week and channel, per week, per channel and overall, for the facts in ``period``."""
    inside = [f for f in facts if period.holds(f.received_at)]
    extra = sorted({f.channel for f in inside} - set(CHANNELS))
    channels = [*CHANNELS, *extra]
    weeks = weeks_of(period)
    by_week: dict[dt.date, list[ChannelFact]] = {w.start: [] for w in weeks}
    for f in inside:
        by_week[monday(local_day(f.received_at))].append(f)
    report = ChannelReport(period, weeks, channels, total=figures(inside, len(inside)))
    for w in weeks:
        in_week = by_week[w.start]
        report.week_totals[w.start] = figures(in_week, len(in_week))
        for ch in channels:
            report.cells[(w.start, ch)] = figures([f for f in in_week if f.channel == ch], len(in_week))
    for ch in channels:
        report.by_channel[ch] = figures([f for f in inside if f.channel == ch], len(inside))
    return report


# --- the council's CSV --------------------------------------------------------------------------------

#: Channel names as the report prints them (ja, en).
CHANNEL_NAMES: dict[str, tuple[str, str]] = {
    Channel.PAPER.value: ("紙の申請書", "Paper"),
    Channel.COUNTER.value: ("書かない窓口", "Counter (no writing)"),
    Channel.ONLINE.value: ("オンライン申請", "Online"),
    "": ("合計", "Total"),
}

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("週（月曜日）", "Week (Monday)"),
    ("集計の初日", "First day"),
    ("集計の末日", "Last day"),
    ("経路", "Channel"),
    ("申請件数", "Applications"),
    ("件数の割合（%）", "Share of applications (%)"),
    ("読取済み", "Read"),
    ("ストレート処理件数", "Straight through"),
    ("ストレート処理率（%）", "Straight-through rate (%)"),
    ("登録済み", "Keyed"),
    ("入力作業の削減見込み（分）", "Typing avoided (min)"),
    ("確認作業（分）", "Review time (min)"),
    ("窓口での入力（分）", "Counter typing (min)"),
    ("削減された職員時間（分）", "Staff time saved (min)"),
    ("受付から登録まで 中央値（時間）", "Receipt to keyed, median (h)"),
    ("受付から登録まで 90%値（時間）", "Receipt to keyed, 90th percentile (h)"),
    ("うちデモデータ", "Of which demo data"),
)


def channel_name(channel: str, en: bool = False) -> str:
    """A channel as people read it; an unknown one (hostile data) as it is stored."""
    names = CHANNEL_NAMES.get(channel)
    return names[1 if en else 0] if names else channel


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def csv_row(week: str, first: dt.date, last: dt.date, channel: str, f: Figures, en: bool) -> list[Cell]:
    rate = f.straight_rate
    return [
        week,
        first.isoformat(),
        last.isoformat(),
        channel_name(channel, en),
        f.applications,
        _round(None if f.share is None else 100 * f.share),
        f.read,
        f.straight,
        _round(None if rate is None else 100 * rate),
        f.keyed,
        _round(f.typing_s / 60),
        _round(f.review_s / 60),
        _round(f.counter_s / 60),
        _round(f.saved_s / 60),
        _round(None if f.to_keyed_median_s is None else f.to_keyed_median_s / 3600, 2),
        _round(None if f.to_keyed_p90_s is None else f.to_keyed_p90_s / 3600, 2),
        f.demo,
    ]


def csv_rows(report: ChannelReport, en: bool = False) -> list[list[Cell]]:
    """The council's table: a header, one row per week and channel with the week's total after its
    channels, then the whole period per channel and in total (week column 「期間合計」)."""
    rows: list[list[Cell]] = [[c[1 if en else 0] for c in CSV_COLUMNS]]
    for w in report.weeks:
        for ch in report.channels:
            rows.append(csv_row(w.start.isoformat(), w.first, w.last, ch, report.cells[(w.start, ch)], en))
        rows.append(csv_row(w.start.isoformat(), w.first, w.last, "", report.week_totals[w.start], en))
    whole = "Whole period" if en else "期間合計"
    p = report.period
    for ch in report.channels:
        rows.append(csv_row(whole, p.first, p.last, ch, report.by_channel[ch], en))
    rows.append(csv_row(whole, p.first, p.last, "", report.total, en))
    return rows
