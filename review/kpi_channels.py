"""The KPI page's channel part and its CSV: the figures of ``records.kpis`` made into what a
supervisor reads (a table per channel, two weekly charts, the demo banner) and what the council gets
(``/kpi.csv``). The routes are in review/routes/reports.py; ``dejiru kpi --csv`` writes the same CSV.
"""

from __future__ import annotations

from typing import Any

from core import clock
from core.spreadsheet import excel_csv
from records.kpis import ChannelReport, Period, channel_name, csv_rows, period_ending, weekly
from records.store import Store
from review.charts import COLORS, OTHER_COLOR, Series, bars

#: Periods offered on the page, in days.
PERIODS = (14, 28, 42, 91, 182, 365)


def channel_report(store: Store, days: int) -> ChannelReport:
    """The weekly figures per channel for the ``days`` days that end today (``core.clock``)."""
    period = period_ending(clock.today(), days)
    return weekly(store.channel_facts(period.since), period)


def csv_bytes(report: ChannelReport, en: bool = False) -> bytes:
    """The council's CSV: UTF-8 with a BOM (Excel), guarded against formulas (core.spreadsheet)."""
    return excel_csv(csv_rows(report, en))


def csv_name(period: Period) -> str:
    return f"dejiru-kpi-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv"


def channel_context(store: Store, days: int, en: bool) -> dict[str, Any]:
    """What kpi.html's channel section needs: the report, two charts and the demo count."""
    report = channel_report(store, days)
    labels = [f"{w.start:%m/%d}" for w in report.weeks]

    def series(value: Any) -> list[Series]:
        return [
            Series(
                ch,
                channel_name(ch, en),
                [value(report.cells[(w.start, ch)]) for w in report.weeks],
                COLORS.get(ch, OTHER_COLOR),
            )
            for ch in report.channels
        ]

    return {
        "ch": report,
        "ch_names": {ch: channel_name(ch, en) for ch in [*report.channels, ""]},
        "ch_apps_chart": bars(labels, series(lambda f: f.applications), stacked=True),
        "ch_saved_chart": bars(labels, series(lambda f: round(f.saved_s / 60, 1)), stacked=False),
        "ch_periods": PERIODS,
        "demo_documents": store.demo_documents(),
    }
