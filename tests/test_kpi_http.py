"""The KPI page's channel part and its CSV over real HTTP, on a real review server: who may see them,
what the council's CSV holds (BOM, one row per week and channel, totals, no formula), the weekly
charts, and the 「デモデータを含みます」 banner while demo data exists."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import clock
from pipeline.demo_history import seed_history
from records.kpis import CSV_COLUMNS
from records.models import Channel
from tests.kpi_apps import Made, application, moment
from tests.security.conftest import Site, start_site

EVIL = '=HYPERLINK("http://evil.example/","click")'
COLUMN = {ja: i for i, (ja, _) in enumerate(CSV_COLUMNS)}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Site, list[Made]]]:
    """A review server whose store holds applications of every channel, and one whose channel is a
    formula (the store is hostile input too)."""
    for site in start_site(tmp_path / "home"):
        store = site.ctx.store
        made = [
            application(store, "p1", Channel.PAPER, moment(2, 10), straight=True, keyed_after=dt.timedelta(minutes=4)),
            application(store, "p2", Channel.PAPER, moment(9, 15), straight=False,
                        review=(dt.timedelta(hours=1), dt.timedelta(hours=1, minutes=3)),
                        keyed_after=dt.timedelta(hours=2)),
            application(store, "c1", Channel.COUNTER, moment(1, 11), straight=True, staff_seconds=120.0,
                        keyed_after=dt.timedelta(minutes=20)),
            application(store, "o1", Channel.ONLINE, moment(3, 21), straight=True, keyed_after=dt.timedelta(minutes=1)),
            application(store, "x1", EVIL, moment(4, 9), straight=True),
        ]  # fmt: skip
        yield site, made


def _rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with its BOM
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_only_supervisors_get_the_figures(site) -> None:
    s, _ = site
    with s.client() as anonymous:
        r = anonymous.get("/kpi.csv")
        assert r.status_code == 303 and r.headers["location"].endswith("/login")
    with s.client("hanako") as reviewer:
        assert reviewer.get("/kpi").status_code == 403
        r = reviewer.get("/kpi.csv?days=28")
        assert r.status_code == 403 and not r.content.startswith(b"\xef\xbb\xbf")


def test_the_council_csv(site) -> None:
    s, made = site
    with s.client("boss") as boss:
        r = boss.get("/kpi.csv?days=28")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    rows = _rows(r.content)
    assert rows[0][0] == "週（月曜日）"
    whole = {row[COLUMN["経路"]]: row for row in rows if row[0] == "期間合計"}
    for channel, label in (
        (Channel.PAPER, "紙の申請書"),
        (Channel.COUNTER, "書かない窓口"),
        (Channel.ONLINE, "オンライン申請"),
    ):
        mine = [m for m in made if m.channel == channel]
        assert int(whole[label][COLUMN["申請件数"]]) == len(mine)
        assert int(whole[label][COLUMN["登録済み"]]) == sum(m.keyed_at is not None for m in mine)
    assert int(whole["合計"][COLUMN["申請件数"]]) == len(made)
    assert float(whole["書かない窓口"][COLUMN["窓口での入力（分）"]]) == pytest.approx(2.0)
    # the formula stored as a channel comes out as text, and no cell is a formula
    assert "'" + EVIL in whole
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    weeks = {row[0] for row in rows[1:] if row[0] != "期間合計"}
    per_week = len(whole)  # the channels and the total
    assert len(rows) == 1 + len(weeks) * per_week + per_week

    with s.client("boss") as boss:
        boss.cookies.set("lang", "en")
        english = _rows(boss.get("/kpi.csv?days=28").content)
        assert english[0][0] == "Week (Monday)" and english[-1][3] == "Total"
        short = _rows(boss.get("/kpi.csv?days=-5").content)  # hostile days: one day, not an error
        assert short[-1][1] == short[-1][2] == clock.today().isoformat()
        assert boss.get("/kpi.csv?days=many").status_code == 422


def _channel_row(page: str, key: str) -> str:
    found = re.search(rf"<tr data-channel=\"{re.escape(key)}\">(.*?)</tr>", page, re.S)
    assert found, key
    return html.unescape(found.group(1))


def test_the_page_shows_channels_weekly_charts_and_the_demo_banner(site) -> None:
    s, made = site
    with s.client("boss") as boss:
        page = boss.get("/kpi?days=28").text
        assert 'id="kpi-demo"' not in page
        assert 'id="kpi-docs"' in page  # the existing figures are still there
        online = _channel_row(page, "online")
        assert "オンライン申請" in online and '<td class="apps">1</td>' in online
        assert f'<td class="apps">{len(made)}</td>' in _channel_row(page, "total")
        assert EVIL in _channel_row(page, EVIL.replace('"', "&#34;"))  # shown as text, escaped
        for chart in ("chart-weeks-apps", "chart-weeks-saved"):
            svg = page.split(f'id="{chart}"')[1].split("</svg>")[0]
            assert "<rect" in svg and "<script" not in svg
        assert 'href="/kpi.csv?days=28"' in page

        counts = seed_history(s.ctx.store, 2, 3, clock.today())
        page = boss.get("/kpi?days=28").text
        assert "デモデータを含みます" in page.split('id="kpi-demo"')[1].split("</p>")[0]
        assert str(sum(counts.values())) in page.split('id="kpi-demo"')[1].split("</p>")[0]
        boss.cookies.set("lang", "en")
        assert "Includes demo data" in boss.get("/kpi").text
        s.ctx.store.remove_demo_history()
        assert 'id="kpi-demo"' not in boss.get("/kpi").text
