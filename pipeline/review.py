"""What a reviewer's decisions do: corrected values are normalised and re-checked, then approved;
blind entries (ダブルチェック, 抜き取り検査) are compared with what was read or entered first.

The review UI only parses HTTP; everything that changes state is here so the CLI and tests take the
same path. Whatever a person types reaches the store only through :func:`validation.entry.parse_input`,
which turns it into a value or a reason for that field, never an exception of another kind.

Each decision (a save, an approval, a blind check, a rejection) is one unit of work: its labels,
corrections, the document's new state and the events are committed together or not at all, and
the document is read locked first, so two people deciding at once cannot both pass the state check.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from core import failpoints
from core.errors import BlindEntryErrors, EditConflict, ReviewError
from formkit.model import FieldSpec, Template
from formkit.registry import application_template
from pipeline.audit import same_value, settle_labels
from pipeline.context import Context, in_one_unit
from records.models import AuditLabel, DocStatus
from records.store import dumps, loads
from validation.checks import mask_mynumber
from validation.entry import parse_input
from validation.routing import check_values, complete_addresses


@dataclass(frozen=True)
class SaveResult:
    """What a save did: the check reasons per field after it, and the entries it could not read
    (those fields keep their previous value and are marked, the others were saved)."""

    reasons: dict[str, list[dict[str, str]]]
    errors: dict[str, ReviewError] = field(default_factory=dict)


def input_reason(exc: ReviewError) -> dict[str, str]:
    """A field's reason for an entry that could not be read (stored, so approval waits for a fix)."""
    return {
        "code": "input_invalid",
        "ja": f"入力を読めないため保存していません: {exc.ja}",
        "en": f"not saved, the entry cannot be read: {exc.en}",
    }


@in_one_unit
def save_edits(
    ctx: Context,
    doc_id: int,
    edits: dict[str, Any],
    user: str,
    unreadable: set[str] | None = None,
    today: dt.date | None = None,
    revision: int | None = None,
) -> SaveResult:
    """Store a reviewer's values for a document and re-check every field.

    An entry that cannot be read does not spoil the rest: every other field is saved, and that field
    keeps its value and gets the reason (``input_invalid``, so the document cannot be approved until
    it is typed again); the result's ``errors`` say which, for the screen to show under each field.

    ``revision``: the document's revision the reviewer's screen showed. If someone saved since, the
    save is refused (:class:`EditConflict`) rather than silently undoing their work."""
    doc = ctx.store.lock_document(doc_id)
    if doc.form_id is None:
        raise ReviewError("この書類は読み取られていません", "this document has not been read")
    tpl = application_template(doc.form_id)
    values = ctx.store.values(doc_id)
    parsed: dict[str, Any] = {}
    errors: dict[str, ReviewError] = {}
    for name, raw in edits.items():
        try:
            parsed[name] = parse_input(tpl.field(name), raw)
        except ReviewError as exc:
            errors[name] = exc
    if revision is not None and not ctx.store.bump_revision(doc_id, revision):
        raise EditConflict(
            "ほかの人がこの書類を先に保存しました。画面を開き直して最新の内容を確認してください（入力は保存されていません）",
            "someone else saved this document first: reopen it and check the latest values (nothing was saved)",
        )
    merged = values | parsed
    found = check_values(tpl, merged, today)
    unreadable = unreadable or set()
    for spec in tpl.fields:
        reasons = [r.as_dict() for r in found[spec.name]]
        if spec.name in errors:
            reasons.insert(0, input_reason(errors[spec.name]))
        if spec.name in unreadable:
            reasons.append(
                {
                    "code": "unreadable",
                    "ja": "用紙の記入が読めません（要確認）",
                    "en": "marked unreadable on paper",
                }
            )
        ctx.store.correct_field(
            doc_id,
            spec.name,
            merged.get(spec.name),
            user,
            reasons=reasons,
            needs_review=bool(reasons),
            unreadable=spec.name in unreadable,
            mask=spec.sensitive,
        )
    return SaveResult({k: [r.as_dict() for r in v] for k, v in found.items()}, errors)


def blocking_reasons(tpl: Template, ctx: Context, doc_id: int) -> dict[str, list[str]]:
    import json

    out = {}
    for f in ctx.store.fields(doc_id):
        reasons = json.loads(f.reasons)
        if reasons:
            out[f.name] = [r["ja"] for r in reasons]
    return out


@in_one_unit
def approve(ctx: Context, doc_id: int, user: str) -> None:
    doc = ctx.store.lock_document(doc_id)
    if doc.status != DocStatus.REVIEW:
        raise ReviewError(
            f"この書類は確認待ちではありません（状態: {doc.status}）",
            f"document is not waiting for review ({doc.status})",
        )
    assert doc.form_id is not None
    problems = blocking_reasons(application_template(doc.form_id), ctx, doc_id)
    if problems:
        names = "、".join(problems)
        raise ReviewError(
            f"まだ確認が必要な項目があります: {names}", f"fields still need attention: {', '.join(problems)}"
        )
    tpl = application_template(doc.form_id)
    settle_labels(ctx, tpl, doc_id, user)  # after a 抜き取り検査 that differed: who was right
    failpoints.hit("review.labels_settled")
    if any(f.double_entry for f in tpl.fields):
        ctx.store.first_approval(doc_id, user)
    else:
        ctx.store.close_review(doc_id, user, "approved", DocStatus.APPROVED)


def parse_blind(tpl: Template, entries: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A blind check's entries for these fields, parsed like a review's; any that cannot be read
    raise :class:`BlindEntryErrors` (all of them at once) before anything is compared."""
    typed: dict[str, Any] = {}
    errors: dict[str, ReviewError] = {}
    for name in names:
        try:
            typed[name] = parse_input(tpl.field(name), entries.get(name))
        except ReviewError as exc:
            errors[name] = exc
    if errors:
        raise BlindEntryErrors(errors)
    return typed


@in_one_unit
def double_check(ctx: Context, doc_id: int, user: str, entries: dict[str, Any]) -> list[str]:
    """The second reviewer's blind entries for the double-entry fields.

    All equal to the first reviewer's values (after normalisation): the document is approved.
    Otherwise it goes back to review with the differing fields marked; returns their names.
    """
    doc = ctx.store.lock_document(doc_id)
    task = ctx.store.review_task(doc_id)
    if doc.status != DocStatus.DOUBLE_CHECK or doc.form_id is None or task is None:
        raise ReviewError(
            f"この書類はダブルチェック待ちではありません（状態: {doc.status}）",
            f"document is not waiting for a double check ({doc.status})",
        )
    if task.first_reviewer == user:
        raise ReviewError(
            "ダブルチェックは最初の確認者とは別の人が行ってください",
            "the double check must be done by someone other than the first reviewer",
        )
    tpl = application_template(doc.form_id)
    values = ctx.store.values(doc_id)
    typed = parse_blind(tpl, entries, [f.name for f in tpl.fields if f.double_entry])
    differing = [
        name for name, value in typed.items() if not same_value(tpl.field(name), value, values.get(name))
    ]
    if not differing:
        ctx.store.close_review(
            doc_id,
            f"{task.first_reviewer}+{user}",
            "approved",
            DocStatus.APPROVED,
            detail="double check matched",
        )
        return []
    mismatch = {
        "code": "double_entry_mismatch",
        "ja": "ダブルチェックで入力が一致しませんでした。用紙を確認してください",
        "en": "the double check did not match: check the form",
    }
    for name in differing:
        ctx.store.correct_field(doc_id, name, values.get(name), user, reasons=[mismatch], needs_review=True)
    failpoints.hit("review.fields_marked")
    ctx.store.set_status(doc_id, DocStatus.REVIEW)
    ctx.store.audit(user, "document.double_check_mismatch", doc_id, detail=",".join(differing))
    return differing


@in_one_unit
def audit_check(ctx: Context, doc_id: int, user: str, entries: dict[str, Any]) -> list[str]:
    """抜き取り検査: a person's blind entry of every field of a document drawn among those the machine
    would have keyed unchecked (``pipeline.audit``); the OCR counts as the first reading.

    Every field's outcome is stored as an ``AuditLabel`` (what was read, its confidence and reasons,
    what was keyed, whether they agree). All agree: the document is approved and keyed as read.
    Otherwise it goes to review with the differing fields marked — the person's entry beside the
    reading, masked for a 個人番号 — and the approval there decides who was right
    (``pipeline.audit.settle_labels``). Returns the differing fields' names.
    """
    doc = ctx.store.lock_document(doc_id)
    task = ctx.store.review_task(doc_id)
    if doc.status != DocStatus.AUDIT or doc.form_id is None or task is None:
        raise ReviewError(
            f"この書類は抜き取り検査待ちではありません（状態: {doc.status}）",
            f"document is not waiting for an audit check ({doc.status})",
        )
    tpl = application_template(doc.form_id)
    typed = parse_blind(tpl, entries, [f.name for f in tpl.fields])
    boxes = {k: _Value(v) for k, v in typed.items()}
    complete_addresses(tpl, boxes)  # as the reader's values were: the prefecture from the postal code
    typed = {k: b.value for k, b in boxes.items()}
    fields = ctx.store.fields(doc_id)
    labels, differing = [], []
    for f in fields:
        spec = tpl.field(f.name)
        read, keyed = loads(f.ocr_value), typed.get(f.name)
        matched = same_value(spec, keyed, read)
        if not matched:
            differing.append(f.name)
        labels.append(
            AuditLabel(
                document_id=doc_id,
                form_id=doc.form_id,
                form_version=doc.form_version or tpl.version,
                field=f.name,
                type=f.type,
                ocr_value=dumps(_masked(spec, read)),
                keyed_value=dumps(_masked(spec, keyed)),
                confidence=f.confidence,
                reasons=f.ocr_reasons,
                unchecked=not spec.double_entry,
                matched=matched,
                correct=matched,
                settled=matched,
                user=user,
            )
        )
    ctx.store.add_audit_labels(doc_id, labels)
    failpoints.hit("review.labels_saved")
    if not differing:
        ctx.store.close_review(
            doc_id,
            f"{task.first_reviewer}+{user}",
            "approved",
            DocStatus.APPROVED,
            detail=f"audit check matched ({len(labels)} fields)",
        )
        return []
    read_values = {f.name: loads(f.ocr_value) for f in fields}
    for name in differing:
        spec = tpl.field(name)
        shown = _masked(spec, typed.get(name))
        shown = "（空欄）" if shown in (None, "", []) else shown
        ctx.store.correct_field(
            doc_id,
            name,
            read_values[name],
            user,
            reasons=[
                {
                    "code": "audit_mismatch",
                    "ja": f"抜き取り検査の入力（{shown}）と読み取り結果が違います。用紙を確認してください",
                    "en": f"the audit check keyed {shown}, which differs from the reading: check the paper",
                }
            ],
            needs_review=True,
        )
    failpoints.hit("review.fields_marked")
    ctx.store.set_status(doc_id, DocStatus.REVIEW)
    ctx.store.audit(user, "document.audit_check_mismatch", doc_id, detail=",".join(differing))
    return differing


@dataclass
class _Value:
    """A typed value in the shape ``complete_addresses`` works on (a reading's ``.value``)."""

    value: Any


def _masked(spec: FieldSpec, value: Any) -> Any:
    return mask_mynumber(str(value)) if spec.sensitive and value not in (None, "") else value


@in_one_unit
def reject(ctx: Context, doc_id: int, user: str, reason: str) -> None:
    doc = ctx.store.lock_document(doc_id)
    if doc.status not in (DocStatus.REVIEW, DocStatus.EXCEPTION):
        raise ReviewError(
            f"この書類は差し戻せません（状態: {doc.status}）", f"document cannot be rejected ({doc.status})"
        )
    ctx.store.close_review(doc_id, user, "rejected", DocStatus.REJECTED, detail=reason)
    ctx.store.add_exception(
        code="rejected",
        ja=f"確認者が差し戻しました: {reason}",
        en=f"rejected by reviewer: {reason}",
        document_id=doc_id,
        source_name=doc.original_name,
    )
