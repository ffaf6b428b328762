"""A few weeks of made-up applications, so that a fresh installation's KPI page has a story to show.

A city evaluating dejiru opens the KPI page on day one and sees nothing: no weeks, no channels, no
trend. ``dejiru demo-history --weeks 6`` writes weeks of applications as they would have passed
through the product: paper scans, 書かない窓口 slips and online applications, the share of the last
two growing week by week; most straight through, some reviewed and corrected, a few rejected, every
accepted one keyed, and a keying failure or two that a clerk resolved. Nothing of it is live: every
demo document is in a final state (keyed or rejected), so no queue, bot or sweep ever takes it up.

**Clearly demo** (``records.demo``): ``sha256`` ``demo:…``, original name 「デモ履歴-0001」, counter
slip nonces ``demo-…``; the KPI page says 「デモデータを含みます」 while any exist, and
``dejiru demo-history --remove`` deletes exactly those rows and what hangs off them. **No real
person**: names, addresses and phone numbers come from ``synth`` (made-up applicants of the classic
population); a sensitive field (個人番号) is left empty, not even made up. No audit labels are made:
the silent-error rate and ``dejiru calibrate --from-store`` must only ever learn from real checks.

**Deterministic**: the same seed, weeks and day (``core.clock.today()``) give the same history;
dates are relative to that day and all lie before it (the history ends yesterday).

:func:`plan` is pure (what to write); :func:`seed_history` writes it in one unit of work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core import progress
from core.errors import InputError
from formkit.kinds import Value
from formkit.model import Template
from formkit.registry import all_templates, template_dir
from records.demo import DEMO_NAME, DEMO_NONCE_PREFIX, DEMO_SHA_PREFIX, DEMO_USER
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
    KeyStatus,
    ReviewTask,
)
from records.store import Store, dumps, reference
from synth.samples import sample_values

JST = ZoneInfo("Asia/Tokyo")
MAX_WEEKS = 26
DEFAULT_WEEKS = 6
DEFAULT_SEED = 17
#: Applications a working day, at the start of the history and at its end (a city's growth).
PER_DAY = (14, 18)
#: Shares at the start and at the end of the history: 書かない窓口 and online grow, paper shrinks.
COUNTER_SHARE = (0.08, 0.30)
ONLINE_SHARE = (0.06, 0.24)
#: How often each channel goes straight through (paper improves as the thresholds are calibrated).
STRAIGHT = {Channel.PAPER: (0.55, 0.70), Channel.COUNTER: (0.93, 0.95), Channel.ONLINE: (0.82, 0.88)}
REJECT_SHARE = 0.04
#: Keying failures a clerk resolved (the exception queue's story).
EXCEPTIONS = 2
SYSTEM = "dejiru"
#: Look-alike misreadings, for the corrections reviewers made.
MISREAD = {
    "田": "由",
    "本": "木",
    "川": "州",
    "子": "予",
    "シ": "ツ",
    "ソ": "ン",
    "1": "7",
    "3": "8",
    "6": "5",
}


class DemoHistoryRefused(InputError):
    """The demo history cannot be written as asked (already there, or weeks out of range)."""

    code = "demo_history_refused"


@dataclass(frozen=True)
class DemoField:
    name: str
    type: str
    value: Any
    #: What the machine read, when a reviewer corrected it (else the value).
    ocr: Any
    corrected: bool


@dataclass(frozen=True)
class DemoApplication:
    """One made-up application and its whole past, as :func:`rows` writes it."""

    n: int
    channel: Channel
    form_id: str
    form_version: int
    targets: tuple[str, ...]
    received_at: dt.datetime
    fields: tuple[DemoField, ...]
    straight_through: bool
    rejected: bool = False
    review_opened: dt.datetime | None = None
    review_closed: dt.datetime | None = None
    #: When the keying began and ended (None: rejected, never keyed).
    keying_started: dt.datetime | None = None
    keyed_at: dt.datetime | None = None
    #: A first keying attempt the target refused, and when a clerk resolved it.
    failed_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    #: 書かない窓口: the counter staff's typing, and when the slip was printed.
    staff_seconds: float | None = None
    issued_at: dt.datetime | None = None
    external_id: str | None = None
    sha: str = field(default="")


def _lerp(span: tuple[float, float], x: float) -> float:
    return span[0] + (span[1] - span[0]) * x


def _at(day: dt.date, rng: random.Random, start: float, end: float) -> dt.datetime:
    """A moment on ``day`` in Japan between the hours ``start`` and ``end``, in UTC."""
    hours = rng.uniform(start, end)
    local = dt.datetime.combine(day, dt.time(), tzinfo=JST) + dt.timedelta(hours=hours)
    return local.astimezone(dt.UTC)


def _misread(value: Any, rng: random.Random) -> Any:
    """What the OCR might have read instead of ``value`` (the reviewer's correction undoes it)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value + rng.choice((-1, 1)) if value > 1 else value + 1
    if isinstance(value, list):
        return value[:-1]
    text = str(value)
    for i, ch in enumerate(text):
        if ch in MISREAD:
            return text[:i] + MISREAD[ch] + text[i + 1 :]
    return text[:-1] if len(text) > 1 else None


def _forms() -> tuple[list[Template], list[Template]]:
    """The forms keyed by a bot, and those of them with an online service's mapping."""
    keyed = [t for t in all_templates() if t.keyed_into]
    if not keyed:
        raise DemoHistoryRefused(
            "業務システムへ入力する様式がないため、デモ履歴を作れません",
            "no form is keyed into a business system: there is no demo history to make",
        )
    online = [t for t in keyed if (template_dir(t.id) / "online.yaml").is_file()]
    return keyed, online or keyed


def _fields(
    tpl: Template, rng: random.Random, day: dt.date, channel: Channel, reviewed: bool
) -> tuple[DemoField, ...]:
    values, _person = sample_values(tpl, rng, day)
    fields = []
    for spec in tpl.fields:
        value = None if spec.sensitive else values.get(spec.name)
        fields.append(DemoField(spec.name, spec.type, value, value, False))
    if not reviewed:
        return tuple(fields)
    # A paper scan's reviewer corrects one or two misreadings; an online applicant's typo now and
    # then; a counter slip's values come back exactly (reviewed for another reason: the signature).
    howmany = {Channel.PAPER: rng.choice((0, 1, 1, 2)), Channel.ONLINE: rng.choice((0, 0, 1))}.get(channel, 0)
    fixable = [
        i
        for i, f in enumerate(fields)
        if f.value not in (None, "", [], True, False) and tpl.fields[i].kind.value is not Value.DATE
    ]
    for i in rng.sample(fixable, min(howmany, len(fixable))):
        f = fields[i]
        ocr = _misread(f.value, rng)
        if ocr != f.value:
            fields[i] = DemoField(f.name, f.type, f.value, ocr, True)
    return tuple(fields)


def plan(weeks: int, seed: int, today: dt.date) -> list[DemoApplication]:
    """Every application of the history, oldest first: pure given the forms, ``seed`` and ``today``."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise DemoHistoryRefused(
            f"週の数は 1〜{MAX_WEEKS} で指定してください（{weeks} が指定されました）",
            f"weeks must be from 1 to {MAX_WEEKS} (got {weeks})",
        )
    keyed, online_forms = _forms()
    rng = random.Random(seed)
    cutoff = dt.datetime.combine(today, dt.time(), tzinfo=JST).astimezone(dt.UTC) - dt.timedelta(minutes=1)
    days = [today - dt.timedelta(days=d) for d in range(weeks * 7, 0, -1)]
    out: list[DemoApplication] = []
    for k, day in enumerate(days):
        x = k / max(len(days) - 1, 1)  # 0 at the start of the history, 1 at its end
        weekday = day.weekday() < 5
        count = round(_lerp(PER_DAY, x)) + rng.randint(-3, 3) if weekday else 0
        online_share, counter_share = _lerp(ONLINE_SHARE, x), _lerp(COUNTER_SHARE, x)
        channels = [
            Channel.ONLINE
            if (r := rng.random()) < online_share
            else Channel.COUNTER
            if r < online_share + counter_share
            else Channel.PAPER
            for _ in range(max(count, 0))
        ]
        if not weekday:  # online services take applications at the weekend too
            channels = [Channel.ONLINE] * rng.randint(0, max(1, round(_lerp(PER_DAY, x) * online_share / 3)))
        for channel in channels:
            out.append(_application(len(out) + 1, channel, day, x, rng, keyed, online_forms, cutoff))
    return _with_exceptions(out, rng, cutoff)


def _application(
    n: int,
    channel: Channel,
    day: dt.date,
    x: float,
    rng: random.Random,
    keyed: Sequence[Template],
    online_forms: Sequence[Template],
    cutoff: dt.datetime,
) -> DemoApplication:
    tpl = rng.choice(online_forms if channel is Channel.ONLINE else keyed)
    clamp = lambda t: min(t, cutoff)  # noqa: E731  (the history ends before today)
    issued_at = staff = None
    if channel is Channel.ONLINE:
        received = clamp(_at(day, rng, 0.0, 24.0))
    else:
        received = clamp(_at(day, rng, 8.5, 17.25))
    if channel is Channel.COUNTER:
        # Typed with the visitor (name and address come from the resident register: little typing),
        # printed, signed, scanned back with the day's slips.
        staff = round(rng.uniform(60, 200), 1)
        issued_at = received
        received = clamp(received + dt.timedelta(minutes=rng.uniform(10, 90)))
    straight = rng.random() < _lerp(STRAIGHT[channel], x)
    rejected = not straight and rng.random() < REJECT_SHARE
    fields = _fields(tpl, rng, day, channel, reviewed=not straight)
    ready = received + dt.timedelta(minutes=rng.uniform(0.5, 3))  # read and routed
    opened = closed = None
    if not straight:
        opened = clamp(ready + dt.timedelta(hours=rng.uniform(0.2, 20)))
        spent = {Channel.PAPER: (60, 300), Channel.ONLINE: (30, 150), Channel.COUNTER: (20, 60)}[channel]
        corrections = sum(f.corrected for f in fields)
        closed = clamp(opened + dt.timedelta(seconds=rng.uniform(*spent) + 40 * corrections))
        ready = closed
    started = keyed_at = None
    if not rejected:
        started = clamp(ready + dt.timedelta(minutes=rng.uniform(0.2, 12)))
        keyed_at = clamp(started + dt.timedelta(seconds=rng.uniform(20, 90)))
    external = f"demo DEMO{n:06d}" if channel is Channel.ONLINE else None
    if channel is Channel.COUNTER:
        external = f"{DEMO_NONCE_PREFIX}{n:06d}"
    sha = DEMO_SHA_PREFIX + hashlib.sha256(f"{n}:{received.isoformat()}:{tpl.id}".encode()).hexdigest()
    return DemoApplication(
        n=n,
        channel=channel,
        form_id=tpl.id,
        form_version=tpl.version,
        targets=tuple(tpl.keyed_into),
        received_at=received,
        fields=fields,
        straight_through=straight,
        rejected=rejected,
        review_opened=opened,
        review_closed=closed,
        keying_started=started,
        keyed_at=keyed_at,
        staff_seconds=staff,
        issued_at=issued_at,
        external_id=external,
        sha=sha,
    )


def _with_exceptions(
    apps: list[DemoApplication], rng: random.Random, cutoff: dt.datetime
) -> list[DemoApplication]:
    """A keying failure or two among the older keyed applications: the target refused the first
    attempt, a clerk looked, fixed it in the target and resolved the item, and the retry keyed it."""
    older = [i for i, a in enumerate(apps[: max(len(apps) * 3 // 4, 1)]) if a.keyed_at is not None]
    for i in rng.sample(older, min(EXCEPTIONS, len(older))):
        a = apps[i]
        assert a.keyed_at is not None and a.keying_started is not None
        resolved = min(a.keyed_at + dt.timedelta(hours=rng.uniform(1, 5)), cutoff)
        keyed = min(resolved + dt.timedelta(minutes=rng.uniform(1, 10)), cutoff)
        apps[i] = replace(a, failed_at=a.keyed_at, resolved_at=resolved, keyed_at=keyed)
    return apps


# --- writing ------------------------------------------------------------------------------------------


def _document(a: DemoApplication) -> Document:
    last = a.keyed_at or a.review_closed or a.received_at
    return Document(
        sha256=a.sha,
        original_name=f"{DEMO_NAME}-{a.n:04d}",
        archive_path="",
        size_bytes=0,
        received_at=a.received_at,
        updated_at=last,
        status=DocStatus.REJECTED if a.rejected else DocStatus.KEYED,
        form_id=a.form_id,
        form_version=a.form_version,
        page_count=0,
        engine="demo",
        straight_through=a.straight_through,
        approved_by=None if a.rejected else (f"{SYSTEM}(auto)" if a.straight_through else DEMO_USER),
        approved_at=None if a.rejected else (a.review_closed or a.received_at),
        revision=3,
        channel=a.channel.value,
        external_id=a.external_id,
    )


def _field_rows(doc_id: int, a: DemoApplication) -> list[FieldValue]:
    low = [{"code": "low_confidence", "ja": "読み取りの確からしさが低い", "en": "low confidence"}]
    return [
        FieldValue(
            document_id=doc_id,
            name=f.name,
            type=f.type,
            value=dumps(f.value),
            ocr_value=dumps(f.ocr),
            raw="" if f.ocr is None else str(f.ocr),
            confidence=0.62 if f.corrected else 0.98,
            reasons=dumps(low if f.corrected else []),
            ocr_reasons=dumps(low if f.corrected else []),
            corrected=f.corrected,
        )
        for f in a.fields
    ]


def _dependents(doc_id: int, a: DemoApplication, fields: Sequence[FieldValue]) -> list[Any]:
    rows: list[Any] = []
    event = lambda at, user, action, detail=None: AuditEvent(  # noqa: E731
        at=at, user=user, action=action, document_id=doc_id, detail=detail
    )
    rows.append(event(a.received_at, SYSTEM, "intake.accept", DEMO_NAME))
    if a.straight_through:
        rows.append(event(a.received_at, SYSTEM, "document.auto_approve"))
    elif a.review_opened is not None and a.review_closed is not None:
        outcome = "rejected" if a.rejected else "approved"
        rows.append(
            ReviewTask(
                document_id=doc_id,
                created_at=a.received_at,
                opened_at=a.review_opened,
                closed_at=a.review_closed,
                closed_by=DEMO_USER,
                outcome=outcome,
            )
        )
        for f in fields:
            if f.corrected and f.id is not None:
                rows.append(
                    FieldCorrection(
                        field_id=f.id,
                        document_id=doc_id,
                        name=f.name,
                        old_value=f.ocr_value,
                        new_value=f.value,
                        user=DEMO_USER,
                        at=a.review_closed,
                    )
                )
                rows.append(event(a.review_closed, DEMO_USER, "field.correct", f.name))
        rows.append(event(a.review_closed, DEMO_USER, f"document.{outcome}"))
    if a.keyed_at is None or a.keying_started is None:
        return rows
    for k, target in enumerate(a.targets):
        receipt = f"DEMO-{a.n:05d}{'' if k == 0 else f'-{k}'}"
        rows.append(
            KeyingJob(
                document_id=doc_id,
                target=target,
                reference=reference(doc_id),
                status=KeyStatus.DONE,
                attempts=2 if a.failed_at else 1,
                receipt=receipt,
                created_at=a.keying_started,
                started_at=a.keying_started,
                finished_at=a.keyed_at,
            )
        )
        if a.failed_at is not None and k == 0:
            rows.append(event(a.failed_at, "bot:" + target, "keying.failed", "keying_rejected"))
            rows.append(
                ExceptionItem(
                    document_id=doc_id,
                    code="keying_rejected",
                    message_ja="業務システムが登録を受け付けませんでした（デモ: 住所の表記を確認して再登録）",
                    message_en="the target system refused the record (demo: address fixed, keyed again)",
                    source_name=f"{DEMO_NAME}-{a.n:04d}",
                    created_at=a.failed_at,
                    resolved_at=a.resolved_at,
                    resolved_by=DEMO_USER,
                )
            )
            rows.append(event(a.resolved_at or a.failed_at, DEMO_USER, "exception.resolve"))
        rows.append(event(a.keyed_at, "bot:" + target, "keying.done", receipt))
    return rows


def _counter_rows(doc_id: int, a: DemoApplication) -> tuple[CounterVisit, CounterSlip] | None:
    if a.issued_at is None:
        return None
    visit = CounterVisit(
        started_at=a.issued_at - dt.timedelta(seconds=a.staff_seconds or 0),
        staff=DEMO_USER,
        id_document="mynumber_card",
        id_number_masked="",
        checked_by=DEMO_USER,
        checked_at=a.issued_at - dt.timedelta(seconds=a.staff_seconds or 0),
    )
    nonce = DEMO_NONCE_PREFIX + hashlib.sha256(a.sha.encode()).hexdigest()[:16]
    slip = CounterSlip(
        visit_id=0,
        nonce=nonce,
        form_id=a.form_id,
        form_version=a.form_version,
        issued_by=DEMO_USER,
        issued_at=a.issued_at,
        staff_seconds=a.staff_seconds,
        document_id=doc_id,
    )
    return visit, slip


def seed_history(store: Store, weeks: int, seed: int, today: dt.date) -> dict[str, int]:
    """Write the history of :func:`plan` in one unit of work; applications per channel.

    Refused while any demo document exists: seeding twice would double the story (remove it first)."""
    if store.demo_documents():
        raise DemoHistoryRefused(
            "デモ履歴はすでにあります。入れ直すには先に dejiru demo-history --remove で消してください",
            "the demo history is there already: remove it first (dejiru demo-history --remove)",
        )
    apps = plan(weeks, seed, today)
    counts: dict[str, int] = {}
    with store.unit() as uow:
        for a in progress.track(apps, "デモ履歴 / demo history"):
            doc = _document(a)
            uow.add_rows([doc])
            assert doc.id is not None
            fields = _field_rows(doc.id, a)
            uow.add_rows(fields)
            uow.add_rows(_dependents(doc.id, a, fields))
            counter = _counter_rows(doc.id, a)
            if counter is not None:
                visit, slip = counter
                uow.add_rows([visit])
                assert visit.id is not None
                slip.visit_id = visit.id
                uow.add_rows([slip])
            counts[a.channel.value] = counts.get(a.channel.value, 0) + 1
    return counts


def seed_once(store: Store, marker: Path, weeks: int, seed: int, today: dt.date) -> dict[str, int] | None:
    """``dejiru run`` on the demo: the history, into a store with no document at all, once per
    installation (``marker``, a file in DEJIRU_HOME, says it was done: a history removed with
    ``--remove`` stays removed). None when nothing was seeded."""
    if marker.exists() or store.count_by_status():
        return None
    counts = seed_history(store, weeks, seed, today)
    marker.write_text(f"{sum(counts.values())} demo applications, seed {seed}, {weeks} weeks to {today}\n")
    return counts


def remove_history(store: Store) -> dict[str, int]:
    """Delete the demo history (and nothing else); rows deleted per table."""
    return store.remove_demo_history()
