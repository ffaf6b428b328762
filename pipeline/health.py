"""Is the pipeline healthy? The facts an operator (``dejiru status``) and a monitoring system (the
review server's ``/metrics``) read, and the problems they amount to, in Japanese and English.

Facts come from the store (aggregates only: ``records.health_queries``), the inbox (a bounded count:
``intake.backlog``) and the disk under ``DEJIRU_HOME``. The Prefect side (workers and their
heartbeats) is the CLI's to add (``dejiru/prefect_workers.py``): only ``dejiru/`` and ``flows/`` speak
to Prefect, and the review server must answer ``/metrics`` without a round trip to another server.

A *problem* is something wrong with the machinery, which someone who runs it must fix: the database
does not answer, a target system has been down since a given time, files lie in the inbox or documents
wait for a reader or the keying bot longer than the pipeline ever takes, the disk is nearly full.
Documents waiting for people (review, checks, exceptions) are work, not faults: they are shown with
their oldest, never counted as problems. Nothing here holds a field value or a file name.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.clock import JST
from core.errors import DatabaseUnavailable, DejiruError
from core.messages import Message
from formkit.registry import all_templates
from intake.backlog import Backlog, backlog
from pipeline.context import Context
from pipeline.keying import outage_window
from records.health_queries import PEOPLE_QUEUES, HealthFacts, TargetKeying
from records.models import DocStatus, now

#: How the states read to people (ja, en), in the order they are listed.
STATE_NAMES: dict[str, tuple[str, str]] = {
    DocStatus.REVIEW: ("確認待ち", "waiting for review"),
    DocStatus.DOUBLE_CHECK: ("ダブルチェック待ち", "waiting for a double check"),
    DocStatus.AUDIT: ("抜き取り検査待ち", "waiting for a spot check"),
    DocStatus.EXCEPTION: ("例外（担当者の対応待ち）", "exception, waiting for a person"),
    DocStatus.RECEIVED: ("読み取り待ち", "waiting to be read"),
    DocStatus.READING: ("読み取り中", "being read"),
    DocStatus.PAGES: ("続きのページ待ち", "waiting for further pages"),
    DocStatus.APPROVED: ("入力待ち（承認済み）", "approved, waiting to be keyed"),
    DocStatus.KEYED: ("登録済み", "keyed"),
    DocStatus.BOUND: ("申請書に綴じたページ", "page bound into its application"),
    DocStatus.QUARANTINED: ("受付不可", "quarantined"),
    DocStatus.REJECTED: ("差し戻し", "rejected"),
}
#: Exceptions counted as recent: the last day.
RECENT = dt.timedelta(hours=24)
#: Approved documents are keyed within a minute or two (``key-approved`` runs every 60 s and on each
#: approval); one still waiting after this, with no target down, means keying is not running.
KEYING_LATE = dt.timedelta(minutes=30)
#: Free space under DEJIRU_HOME below either of these is a problem: scans, page images and evidence
#: are written there, and SQLite's database too.
DISK_LOW_BYTES = 2 * 1024**3
DISK_LOW_SHARE = 0.05


@dataclass(frozen=True)
class TargetHealth:
    """A target system: its ledger's facts, and while it is down, until when records wait for it."""

    target: str
    keying: TargetKeying
    #: Approved documents whose form keys into this target (their records are still to go in).
    to_key: int = 0
    #: When records waiting through the outage go to the exception queue (None: not down, or no
    #: mapping left to say).
    until: dt.datetime | None = None

    @property
    def down_since(self) -> dt.datetime | None:
        return self.keying.waiting_since


@dataclass(frozen=True)
class Disk:
    path: Path
    free: int
    total: int

    @property
    def share(self) -> float:
        return self.free / self.total if self.total else 0.0


@dataclass(frozen=True)
class Health:
    at: dt.datetime
    #: None when the database did not answer (``problems`` says so).
    facts: HealthFacts | None
    targets: list[TargetHealth]
    inbox_path: Path
    inbox: Backlog
    disk: Disk | None
    problems: list[Message] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def gather(ctx: Context, at: dt.datetime | None = None) -> Health:
    """Read every fact once and judge it at ``at`` (now by default)."""
    at = at or now()
    cfg = ctx.settings
    problems: list[Message] = []
    try:
        facts: HealthFacts | None = ctx.store.health_facts(at - RECENT)
    except DatabaseUnavailable as err:
        facts = None
        problems.append(err.msg)
    targets = _targets(facts)
    inbox = backlog(cfg.inbox)
    disk = _disk(cfg.home)
    lease = dt.timedelta(minutes=cfg.read_lease_minutes)
    if facts is not None:
        problems += _queue_problems(facts, targets, at, lease)
    problems += [_down(t) for t in targets if t.down_since is not None]
    problems += _inbox_problems(inbox, cfg.inbox, at, lease)
    if disk is None:
        problems.append(
            Message(
                "disk_unknown",
                f"DEJIRU_HOME（{cfg.home}）の空き容量が分かりません",
                f"cannot tell the free space under DEJIRU_HOME ({cfg.home})",
            )
        )
    elif disk.free < DISK_LOW_BYTES or disk.share < DISK_LOW_SHARE:
        problems.append(
            Message(
                "disk_low",
                f"DEJIRU_HOME のディスクの空きが少なくなっています（残り {size(disk.free)}、"
                f"{disk.share:.0%}）。古い保存ファイルの置き場所を管理者と相談してください",
                f"the disk under DEJIRU_HOME is nearly full ({size(disk.free)} free, {disk.share:.0%}):"
                " ask the administrator to make room",
            )
        )
    return Health(at, facts, targets, cfg.inbox, inbox, disk, problems)


def _targets(facts: HealthFacts | None) -> list[TargetHealth]:
    """Every target a template keys into (so a system nothing was keyed into yet is listed) and every
    target the ledger names (a form removed since)."""
    ledger = {k.target: k for k in facts.keying} if facts else {}
    approved = facts.approved_by_form if facts else {}
    names = set(ledger)
    to_key: dict[str, int] = {}
    for tpl in all_templates():
        names.update(tpl.keyed_into)
        for target in tpl.keyed_into:
            to_key[target] = to_key.get(target, 0) + approved.get(tpl.id, 0)
    out = []
    for name in sorted(names):
        k = ledger.get(name, TargetKeying(name))
        until = None
        if k.waiting_since is not None:
            try:
                until = k.waiting_since + outage_window(name)
            except DejiruError:  # the mapping was removed: its records go to a person anyway
                until = None
        out.append(TargetHealth(name, k, to_key.get(name, 0), until))
    return out


def _disk(home: Path) -> Disk | None:
    try:
        usage = shutil.disk_usage(home)
    except OSError:
        return None
    return Disk(home, usage.free, usage.total)


def _queue_problems(
    facts: HealthFacts, targets: list[TargetHealth], at: dt.datetime, lease: dt.timedelta
) -> list[Message]:
    """Documents waiting for the machine longer than it ever takes: nobody reads, or nobody keys."""
    out = []
    oldest = {q.state: q for q in facts.queues}
    reading = oldest.get(DocStatus.READING.value)
    if reading and reading.oldest_since and at - reading.oldest_since > lease:
        out.append(
            Message(
                "reader_stale",
                f"読み取り中のまま {_age(at - reading.oldest_since)} 経った書類があります（書類番号"
                f" {reading.oldest_id}）。読み取りの処理が止まっていないか確かめてください",
                f"a document has been 'being read' for {_age_en(at - reading.oldest_since)} (document"
                f" {reading.oldest_id}): check that the readers are running",
            )
        )
    received = oldest.get(DocStatus.RECEIVED.value)
    if received and received.oldest_since and at - received.oldest_since > lease:
        out.append(
            Message(
                "unread",
                f"受付から {_age(at - received.oldest_since)} 読み取られていない書類があります"
                f"（{received.count} 件）。読み取りの処理（ワーカー）が動いているか確かめてください",
                f"documents received {_age_en(at - received.oldest_since)} ago are still unread"
                f" ({received.count}): check that the readers (workers) are running",
            )
        )
    approved = oldest.get(DocStatus.APPROVED.value)
    if (
        approved
        and approved.oldest_since
        and at - approved.oldest_since > KEYING_LATE
        and not any(t.down_since is not None for t in targets)
    ):
        out.append(
            Message(
                "not_keyed",
                f"承認から {_age(at - approved.oldest_since)} 入力されていない書類があります"
                f"（{approved.count} 件）。入力ロボットの処理が動いているか確かめてください",
                f"approved documents have waited {_age_en(at - approved.oldest_since)} to be keyed"
                f" ({approved.count}): check that keying runs",
            )
        )
    return out


def _down(t: TargetHealth) -> Message:
    assert t.down_since is not None
    since = local(t.down_since)
    n = t.to_key
    if t.until is None:
        then_ja, then_en = "", ""
    else:
        then_ja = f"{local(t.until)} を過ぎると例外キューに回ります"
        then_en = f"; after {local(t.until)} they go to the exception queue"
    return Message(
        "target_down",
        f"業務システム {t.target} が {since} から応答しません。{n} 件が待っています。{then_ja}",
        f"target system {t.target} has not answered since {since}: {n} records waiting{then_en}",
    )


def _inbox_problems(inbox: Backlog, path: Path, at: dt.datetime, lease: dt.timedelta) -> list[Message]:
    if not inbox.present:
        return [
            Message(
                "inbox_missing",
                f"受付フォルダ {path} が見つかりません（DEJIRU_INBOX）",
                f"the inbox {path} is not there (DEJIRU_INBOX)",
            )
        ]
    if inbox.oldest is not None and at - inbox.oldest > lease:
        return [
            Message(
                "inbox_stale",
                f"受付フォルダのファイルが {_age(at - inbox.oldest)} 取り込まれていません（{inbox.files} 件）。"
                "受付の監視（dejiru watch / dejiru run）が動いているか確かめてください",
                f"files have waited in the inbox for {_age_en(at - inbox.oldest)} ({inbox.files}): check"
                " that the inbox watcher (dejiru watch / dejiru run) is running",
            )
        ]
    return []


# --- how it reads ---------------------------------------------------------------------------------


def local(at: dt.datetime) -> str:
    """A time as staff read it: Japan's wall clock, ``11/30 12:00``."""
    return at.astimezone(JST).strftime("%m/%d %H:%M")


def _age_in(d: dt.timedelta, units: tuple[str, str, str, str], sep: str) -> str:
    """An age in the largest two units that say it: ``units`` for days, hours, minutes, seconds."""
    s = max(0, int(d.total_seconds()))
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    day, hour, minute, second = units
    if days:
        return f"{days}{day}{sep}{hours}{hour}"
    if hours:
        return f"{hours}{hour}{sep}{minutes}{minute}"
    return f"{minutes}{minute}" if minutes else f"{s}{second}"


def _age(d: dt.timedelta) -> str:
    """An age as a clerk says it: 3日4時間, 2時間5分, 7分, 30秒."""
    return _age_in(d, ("日", "時間", "分", "秒"), "")


def _age_en(d: dt.timedelta) -> str:
    return _age_in(d, (" d", " h", " min", " s"), " ")


def age(d: dt.timedelta) -> str:
    """An age in both languages (``2時間5分 / 2 h 5 min``)."""
    return f"{_age(d)} / {_age_en(d)}"


def size(n: int) -> str:
    """Bytes as people read them."""
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{n / 1024**2:.0f} MB"


# --- JSON (dejiru status --json) ------------------------------------------------------------------


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") if at else None


def _age_s(at: dt.datetime, since: dt.datetime | None) -> int | None:
    return None if since is None else max(0, int((at - since).total_seconds()))


def as_json(h: Health) -> dict[str, Any]:
    """The whole picture for a monitoring system: times in ISO 8601 (UTC) with ages in seconds beside
    them, so a check needs no clock arithmetic; problems with their code, ja and en."""
    f = h.facts
    out: dict[str, Any] = {
        "at": _iso(h.at),
        "ok": h.ok,
        "problems": [p.as_dict() for p in h.problems],
        "database": {"ok": f is not None},
    }
    if f is not None:
        out["documents"] = {"by_state": dict(sorted(f.by_state.items())), "reads": f.reads}
        out["queues"] = [
            {
                "state": q.state,
                "ja": STATE_NAMES.get(q.state, (q.state, q.state))[0],
                "en": STATE_NAMES.get(q.state, (q.state, q.state))[1],
                "waits_for": "person" if q.state in PEOPLE_QUEUES else "machine",
                "count": q.count,
                "oldest_since": _iso(q.oldest_since),
                "oldest_age_s": _age_s(h.at, q.oldest_since),
                "oldest_document": q.oldest_id,
            }
            for q in f.queues
        ]
        out["exceptions"] = {
            "open": [
                {"code": e.code, "count": e.count, "oldest": _iso(e.oldest_at)} for e in f.open_exceptions
            ],
            "last_24h": f.recent_exceptions,
        }
    out["keying"] = [
        {
            "target": t.target,
            "records": dict(sorted(t.keying.records.items())),
            "last_success": _iso(t.keying.last_done_at),
            "last_success_age_s": _age_s(h.at, t.keying.last_done_at),
            "last_failure": _iso(t.keying.last_failed_at),
            "failed": t.keying.records.get("failed", 0),
            "to_key": t.to_key,
            "down": t.down_since is not None,
            "down_since": _iso(t.down_since),
            "down_until": _iso(t.until),
            "last_error": t.keying.last_error,
        }
        for t in h.targets
    ]
    out["inbox"] = {
        "path": str(h.inbox_path),
        "present": h.inbox.present,
        "files": h.inbox.files,
        "strays": h.inbox.strays,
        "oldest": _iso(h.inbox.oldest),
        "oldest_age_s": _age_s(h.at, h.inbox.oldest),
        "truncated": h.inbox.truncated,
    }
    out["disk"] = (
        None
        if h.disk is None
        else {
            "path": str(h.disk.path),
            "free_bytes": h.disk.free,
            "total_bytes": h.disk.total,
            "free_share": round(h.disk.share, 4),
        }
    )
    return out
