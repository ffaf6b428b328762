"""What a reviewer's decisions do: corrected values are normalised and re-checked, then approved.

The review UI only parses HTTP; everything that changes state is here so the CLI and tests take the
same path.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from formkit.model import FieldSpec, FieldType, Template
from formkit.registry import load_template
from pipeline.context import Context
from records.models import DocStatus
from validation.routing import check_values, normalize_value
from validation.wareki import WarekiError, parse_date


class ReviewError(ValueError):
    """A reviewer's input that cannot be accepted, with a Japanese and an English message."""

    def __init__(self, ja: str, en: str) -> None:
        self.ja, self.en = ja, en
        super().__init__(f"{ja} / {en}")


class EditConflict(ReviewError):
    """Two reviewers saved the same document: the later save is refused."""


def parse_input(spec: FieldSpec, raw: Any) -> Any:
    """A value typed (or ticked) by a reviewer, in the same shape the reader produces."""
    ftype = spec.type
    if ftype is FieldType.CHECKBOXES and isinstance(raw, list):
        return raw
    if ftype in (FieldType.CHECKBOX, FieldType.SIGNATURE):
        return str(raw).lower() in ("1", "true", "on", "yes", "あり")
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return [] if ftype is FieldType.CHECKBOXES else None
    if ftype is FieldType.DATE:
        try:
            return parse_date(text).isoformat()
        except WarekiError as exc:
            raise ReviewError(exc.ja, exc.en) from exc
    if ftype in (FieldType.COUNT, FieldType.AMOUNT):
        digits = unicodedata.normalize("NFKC", text).replace(",", "").removesuffix("円").strip()
        if not digits.isdigit():
            raise ReviewError(f"「{text}」は数字ではありません", f"{text!r} is not a number")
        return int(digits)
    return normalize_value(spec, text)


def save_edits(
    ctx: Context,
    doc_id: int,
    edits: dict[str, Any],
    user: str,
    unreadable: set[str] | None = None,
    today: dt.date | None = None,
    revision: int | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Store a reviewer's values for a document and re-check every field; returns reasons per field.

    ``revision``: the document's revision the reviewer's screen showed. If someone saved since, the
    save is refused (:class:`EditConflict`) rather than silently undoing their work."""
    doc = ctx.store.document(doc_id)
    if doc.form_id is None:
        raise ReviewError("この書類は読み取られていません", "this document has not been read")
    tpl = load_template(doc.form_id)
    values = ctx.store.values(doc_id)
    parsed = {}
    for name, raw in edits.items():
        parsed[name] = parse_input(tpl.field(name), raw)
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
    return {k: [r.as_dict() for r in v] for k, v in found.items()}


def blocking_reasons(tpl: Template, ctx: Context, doc_id: int) -> dict[str, list[str]]:
    import json

    out = {}
    for f in ctx.store.fields(doc_id):
        reasons = json.loads(f.reasons)
        if reasons:
            out[f.name] = [r["ja"] for r in reasons]
    return out


def approve(ctx: Context, doc_id: int, user: str) -> None:
    doc = ctx.store.document(doc_id)
    if doc.status != DocStatus.REVIEW:
        raise ReviewError(
            f"この書類は確認待ちではありません（状態: {doc.status}）",
            f"document is not waiting for review ({doc.status})",
        )
    assert doc.form_id is not None
    problems = blocking_reasons(load_template(doc.form_id), ctx, doc_id)
    if problems:
        names = "、".join(problems)
        raise ReviewError(
            f"まだ確認が必要な項目があります: {names}", f"fields still need attention: {', '.join(problems)}"
        )
    tpl = load_template(doc.form_id)
    if any(f.double_entry for f in tpl.fields):
        ctx.store.first_approval(doc_id, user)
    else:
        ctx.store.close_review(doc_id, user, "approved", DocStatus.APPROVED)


def double_check(ctx: Context, doc_id: int, user: str, entries: dict[str, Any]) -> list[str]:
    """The second reviewer's blind entries for the double-entry fields.

    All equal to the first reviewer's values (after normalisation): the document is approved.
    Otherwise it goes back to review with the differing fields marked; returns their names.
    """
    doc = ctx.store.document(doc_id)
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
    tpl = load_template(doc.form_id)
    values = ctx.store.values(doc_id)
    differing = []
    for spec in tpl.fields:
        if spec.double_entry and parse_input(spec, entries.get(spec.name)) != values.get(spec.name):
            differing.append(spec.name)
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
    ctx.store.set_status(doc_id, DocStatus.REVIEW)
    ctx.store.audit(user, "document.double_check_mismatch", doc_id, detail=",".join(differing))
    return differing


def reject(ctx: Context, doc_id: int, user: str, reason: str) -> None:
    doc = ctx.store.document(doc_id)
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
