"""The channel KPIs and the demo history against a real store, on SQLite and on PostgreSQL: the facts
each application gives (``Store.channel_facts``), a seeded history (``dejiru demo-history``) and its
removal, which must leave exactly the real rows there were; ``dejiru kpi --csv`` and ``dejiru run``'s
seeding once."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel, select
from typer.testing import CliRunner

from core import clock
from formkit.kinds import KINDS
from pipeline.demo_history import DemoHistoryRefused, plan, seed_history, seed_once
from records.db import session
from records.demo import DEMO_NAME, DEMO_SHA_PREFIX
from records.kpis import JST, REVIEW_CAP_S, period_ending, weekly
from records.models import (
    AuditEvent,
    Channel,
    CounterSlip,
    CounterVisit,
    DocStatus,
    Document,
    ExceptionItem,
    FieldCorrection,
    FieldValue,
    KeyingJob,
    ReviewTask,
)
from records.store import Store
from tests.conftest import make_settings
from tests.kpi_apps import application, moment
from validation import effort

FORM = "juminhyo_request"


@pytest.fixture
def store(db_url: str) -> Store:
    return Store(db_url).init()


def test_figures_per_channel_from_the_store(store: Store) -> None:
    """Each channel's applications, straight-through rate, staff time saved and time to keyed, from
    documents made through the store; the expectation worked out from the same inputs."""
    made = [
        application(store, "p1", Channel.PAPER, moment(3, 10), straight=True, keyed_after=dt.timedelta(minutes=5)),
        application(
            store, "p2", Channel.PAPER, moment(10, 9), straight=False,
            review=(dt.timedelta(hours=2), dt.timedelta(hours=2, minutes=4)), keyed_after=dt.timedelta(hours=3),
        ),
        application(  # a review left open for hours counts for at most the cap
            store, "p3", Channel.PAPER, moment(1, 9), straight=False,
            review=(dt.timedelta(hours=1), dt.timedelta(hours=5)), keyed_after=dt.timedelta(hours=6),
        ),
        application(store, "p4", Channel.PAPER, moment(2, 11), straight=False),  # waiting in review
        application(
            store, "c1", Channel.COUNTER, moment(4, 14), straight=True, staff_seconds=150.0,
            keyed_after=dt.timedelta(minutes=10),
        ),
        application(
            store, "o1", Channel.ONLINE, moment(5, 22), straight=True, keyed_after=dt.timedelta(minutes=2),
            targets=("demo_legacy", "second_system"),
        ),
        application(store, "o2", Channel.ONLINE, moment(60, 12), straight=True),  # before the period
    ]  # fmt: skip
    bound, _ = store.add_document("b" * 64, "p2-2", "/dev/null", 1)
    assert bound.id is not None
    store.set_status(bound.id, DocStatus.BOUND, received_at=moment(3, 10))  # a page, not an application
    period = period_ending(clock.today(), 28)
    report = weekly(store.channel_facts(period.since), period)
    inside = [m for m in made if period.holds(m.received)]
    for channel in (Channel.PAPER, Channel.COUNTER, Channel.ONLINE):
        mine = [m for m in inside if m.channel == channel]
        fig = report.by_channel[channel]
        assert fig.applications == len(mine)
        assert fig.straight_rate == pytest.approx(sum(bool(m.straight) for m in mine) / len(mine))
        typing = 0.0
        for m in mine:
            if m.keyed_at is not None:
                targets = 2 if m.doc_id == made[5].doc_id else 1
                typed = sum(effort.field_seconds(KINDS[t], v) for t, v in m.fields)
                typing += targets * (typed + effort.RECORD_S)
        assert fig.typing_s == pytest.approx(typing)
        assert fig.review_s == pytest.approx(sum(m.review_s for m in mine))
        assert fig.counter_s == pytest.approx(sum(m.counter_s for m in mine))
        waits = sorted((m.keyed_at - m.received).total_seconds() for m in mine if m.keyed_at)
        assert fig.keyed == len(waits)
        assert fig.to_keyed_median_s == pytest.approx(statistics.median(waits))
    assert report.by_channel[Channel.PAPER].review_s == pytest.approx(4 * 60 + REVIEW_CAP_S)
    assert report.total.applications == len(inside) == len(made) - 1
    assert report.by_channel[Channel.COUNTER].share == pytest.approx(1 / len(inside))
    assert report.total.demo == 0


# --- the demo history -----------------------------------------------------------------------------------


def test_the_demo_plan_is_deterministic_plausible_and_in_the_past() -> None:
    today = clock.today()
    a, b = plan(3, 5, today), plan(3, 5, today)
    assert a == b and a != plan(3, 6, today)
    start_of_today = dt.datetime.combine(today, dt.time(), tzinfo=JST)
    first_day = today - dt.timedelta(days=21)
    for app in a:
        chain = [app.issued_at, app.received_at, app.review_opened, app.review_closed, app.keying_started]
        chain += [app.failed_at, app.resolved_at, app.keyed_at]
        known = [s for s in chain if s is not None]
        assert known == sorted(known) and known[-1] < start_of_today  # in order, and all in the past
        assert app.received_at.astimezone(JST).date() >= first_day
        assert app.sha.startswith(DEMO_SHA_PREFIX)
    channels = {app.channel for app in a}
    assert channels == {Channel.PAPER, Channel.COUNTER, Channel.ONLINE}
    assert any(f.corrected for app in a for f in app.fields) and any(app.failed_at for app in a)
    assert any(not app.straight_through for app in a) and any(app.straight_through for app in a)

    long = plan(8, 5, today)
    weeks: dict[dt.date, list[Any]] = {}
    for app in long:
        day = app.received_at.astimezone(JST).date()
        weeks.setdefault(day - dt.timedelta(days=day.weekday()), []).append(app)
    ordered = [weeks[k] for k in sorted(weeks)]

    def new_channels(apps: list[Any]) -> float:
        return sum(x.channel is not Channel.PAPER for x in apps) / len(apps)

    early, late = ordered[0] + ordered[1], ordered[-2] + ordered[-1]
    assert new_channels(late) > new_channels(early)  # 書かない窓口 and online grow


def test_no_sensitive_value_is_made_up() -> None:
    from formkit.registry import load_template

    for app in plan(1, 3, clock.today()):
        tpl = load_template(app.form_id)
        for f in app.fields:
            if tpl.field(f.name).sensitive:
                assert f.value is None and f.ocr is None


def _snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    tables: list[type[SQLModel]] = [
        Document, FieldValue, FieldCorrection, ReviewTask, KeyingJob, ExceptionItem, AuditEvent,
        CounterVisit, CounterSlip,
    ]  # fmt: skip
    with session(store.url) as s:
        return {
            t.__name__: sorted(
                (r.model_dump(mode="json") for r in s.exec(select(t)).all()), key=lambda d: json.dumps(d)
            )
            for t in tables
        }


def test_seeding_then_removing_the_demo_leaves_exactly_the_real_rows(store: Store) -> None:
    real = [
        application(store, "r1", Channel.PAPER, moment(3, 10), straight=False,
                    review=(dt.timedelta(hours=1), dt.timedelta(hours=1, minutes=2)), keyed_after=dt.timedelta(hours=2)),
        application(store, "r2", Channel.COUNTER, moment(2, 10), straight=True, staff_seconds=90.0,
                    keyed_after=dt.timedelta(minutes=3)),
    ]  # fmt: skip
    store.add_exception(code="x", ja="例", en="e", document_id=real[0].doc_id)
    store.audit("hanako", "document.view", real[0].doc_id)
    accepted = store.accepted_fields_by_type()
    before = _snapshot(store)

    counts = seed_history(store, 2, 9, clock.today())
    assert set(counts) == {"paper", "counter", "online"}
    assert store.demo_documents() == sum(counts.values())
    demo_docs = [d for d in store.documents(limit=10_000) if d.sha256.startswith(DEMO_SHA_PREFIX)]
    assert all(d.original_name.startswith(DEMO_NAME) for d in demo_docs)
    assert {d.status for d in demo_docs} <= {DocStatus.KEYED, DocStatus.REJECTED}  # nothing live
    assert store.accepted_fields_by_type() == accepted  # calibration never learns from made-up fields
    period = period_ending(clock.today(), 28)
    report = weekly(store.channel_facts(period.since), period)
    assert report.total.demo == sum(counts.values()) and report.total.applications > report.total.demo
    with pytest.raises(DemoHistoryRefused):
        seed_history(store, 2, 9, clock.today())  # twice would double the story

    removed = store.remove_demo_history()
    assert removed["document"] == sum(counts.values()) and removed["countervisit"] == counts["counter"]
    assert store.demo_documents() == 0
    assert _snapshot(store) == before
    assert store.remove_demo_history()["document"] == 0  # again: nothing to do


def test_weeks_out_of_range_are_refused_in_both_languages() -> None:
    for weeks in (0, 27, -1):
        with pytest.raises(DemoHistoryRefused) as err:
            plan(weeks, 1, clock.today())
        assert "週" in err.value.ja and "weeks" in err.value.en


def test_dejiru_run_seeds_the_demo_once_into_an_empty_store(tmp_path: Path) -> None:
    from dejiru.runner import DEMO_HISTORY_MARKER, Runner
    from pipeline.context import Context

    cfg = make_settings(tmp_path / "home")
    ctx = Context.create(cfg)
    Runner(cfg, demo_history=False).seed_demo_history(ctx)
    assert store_empty(ctx.store)
    runner = Runner(cfg, demo_history=True)
    runner.seed_demo_history(ctx)
    seeded = ctx.store.demo_documents()
    assert seeded and (cfg.home / DEMO_HISTORY_MARKER).exists()
    assert runner.keyed_here(ctx) == 0  # --until-keyed counts this run's records, not the demo's
    ctx.store.remove_demo_history()
    runner.seed_demo_history(ctx)
    assert store_empty(ctx.store)  # removed stays removed

    other = make_settings(tmp_path / "other")
    ctx2 = Context.create(other)
    application(ctx2.store, "x", Channel.PAPER, moment(1, 10), straight=True)
    assert seed_once(ctx2.store, other.home / DEMO_HISTORY_MARKER, 1, 1, clock.today()) is None  # not empty


def store_empty(store: Store) -> bool:
    return not store.count_by_status()


# --- the CLI --------------------------------------------------------------------------------------------


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from core import settings as config

    cfg = make_settings(tmp_path / "home")
    monkeypatch.setenv("DEJIRU_HOME", str(cfg.home))
    monkeypatch.setenv("DEJIRU_DATABASE_URL", cfg.database_url)
    config.settings.cache_clear()
    yield cfg
    config.settings.cache_clear()


def test_cli_seeds_exports_and_removes(cli_home: Any, tmp_path: Path) -> None:
    from dejiru.cli import app

    runner = CliRunner()
    seeded = runner.invoke(app, ["demo-history", "--weeks", "2", "--seed", "4"])
    assert seeded.exit_code == 0, seeded.output
    counts = json.loads(seeded.output.strip().splitlines()[-1])
    again = runner.invoke(app, ["demo-history", "--weeks", "2"])
    assert again.exit_code == DemoHistoryRefused.exit_code and "--remove" in again.output

    out = tmp_path / "議会報告.csv"
    res = runner.invoke(app, ["kpi", "--csv", str(out), "--days", "14"])
    assert res.exit_code == 0, res.output
    assert "デモデータを含みます" in res.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0] == "週（月曜日）" and rows[-1][0] == "期間合計" and rows[-1][3] == "合計"
    assert int(rows[-1][-1]) == int(rows[-1][4]) > 0  # every application counted is demo data
    assert int(rows[-1][4]) <= sum(counts.values())
    english = runner.invoke(app, ["kpi", "--csv", str(out), "--days", "14", "--lang", "en"])
    assert english.exit_code == 0 and out.read_bytes().decode("utf-8-sig").startswith("Week (Monday)")

    removed = runner.invoke(app, ["demo-history", "--remove"])
    assert removed.exit_code == 0 and json.loads(removed.output.strip().splitlines()[-1])["document"] == sum(
        counts.values()
    )
    after = runner.invoke(app, ["kpi"])
    assert after.exit_code == 0 and "デモデータ" not in after.output
