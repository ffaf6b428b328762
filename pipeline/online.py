"""Online applications into the back office: one document per application of an export, checked,
routed, reviewed and keyed exactly like a scan's reading (issue 17: one flow whatever the channel).

An export arrives dropped in the inbox (``pipeline.intake`` hands it here) or posted to the review
server's API (``review/routes/online.py``). Order of work, so a crash at any point neither loses nor
duplicates an application:

1. the export's bytes are archived under their SHA-256 (rewriting gives the same bytes);
2. each good row becomes a document in **one unit** with its values, route and event; the document's
   key is the service's application ID (``online:<sha256 of service and ID>``, unique), so a row taken
   before (a crash, a cumulative export, the same file again) is found, never added twice;
3. the rows that cannot be taken go to quarantine as a CSV of their own with a reason per row, and to
   the exception queue; the good rows of the file are not held back by them;
4. the caller removes the inbox entry last.

There is no scan and no OCR: every value is as the citizen submitted it (confidence 1), so the only
doubts are the checks' (a postal code that does not match the address, a date in the future). An
online application is therefore never drawn for the 抜き取り検査 nor given a ダブルチェック, which
measure and guard against the reader's errors; it goes straight through when every check passes.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from core import clock, failpoints
from core.errors import InputError, TemplateError
from formkit.model import Template
from formkit.registry import all_templates, template_dir
from intake.files import MOVED_ADVICE, Advice, Quarantined, quarantine_file, safe_name, temp_name
from intake.online import (
    MANY_SEPARATORS,
    ExportRefused,
    OnlineMapping,
    OnlineRow,
    applications,
    parse_mapping,
    records,
)
from pipeline.context import Context
from records.models import Channel, DocStatus, Document
from records.store import FieldInput
from validation.routing import check_values, complete_addresses, normalize_value

log = logging.getLogger(__name__)
SYSTEM_USER = "dejiru"
MAPPING_FILE = "online.yaml"
#: What a file sent with an online application may be, at most (a photo of an ID, a PDF certificate).
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
#: The suffixes an inbox file must have to be read as an online service's export.
EXPORT_SUFFIXES = (".csv", ".json")


class RowRefused(InputError):
    """Rows of an export that could not be taken (each with its reason); the others were."""

    code = "online_row_refused"


@dataclass
class ExportOutcome:
    form_id: str
    service: str
    #: New documents, one per application taken now.
    accepted: list[int] = field(default_factory=list)
    #: Applications taken before (same service, same ID, same values): not added again.
    already: list[int] = field(default_factory=list)
    refused: list[OnlineRow] = field(default_factory=list)
    #: A refused row's line → the document it concerns (a known ID with other values).
    concerns: dict[int, int] = field(default_factory=dict)
    #: Where the refused rows and their reasons were put (None when every row was taken).
    quarantine: Path | None = None


def is_export(name: str) -> bool:
    return name.lower().endswith(EXPORT_SUFFIXES)


def mappings() -> list[tuple[Template, OnlineMapping]]:
    """Every form with an online mapping beside its template (a mapping that is wrong is an author's
    error, raised: it must not silently stop a service's applications)."""
    out = []
    for tpl in all_templates():
        path = template_dir(tpl.id) / MAPPING_FILE
        if path.is_file():
            out.append((tpl, parse_mapping(path.read_text(encoding="utf-8"), tpl, str(path))))
    return out


def mapping_for(rows: list[dict[str, Any]], name: str) -> tuple[Template, OnlineMapping]:
    """The form an export is of: the mapping whose ID column it has and most of whose columns it has
    (an export names no form; its columns do)."""
    present = set().union(*(r.keys() for r in rows)) if rows else set()
    candidates = [(tpl, m) for tpl, m in mappings() if m.id_column in present]
    if not candidates:
        raise ExportRefused(
            "どの様式のオンライン申請か分かりません（申請番号の列が、どの対応表 online.yaml とも合いません）",
            "no online mapping (online.yaml) matches this export's application ID column",
            detail=name,
        )
    return max(candidates, key=lambda c: len(present & set(c[1].columns)))


def _archive(ctx: Context, data: bytes, name: str) -> tuple[str, Path]:
    """The export as received, under its hash (never altered; writing it again gives the same file)."""
    digest = hashlib.sha256(data).hexdigest()
    suffix = ".json" if name.lower().endswith(".json") else ".csv"
    dest = ctx.settings.archive / "online" / digest[:2] / f"{digest}{suffix}"
    _write_once(dest, data)
    return digest, dest


def _write_once(dest: Path, data: bytes) -> None:
    """Content named by its hash: written once, whole (a temporary name, synced, then renamed), never
    rewritten; a crash leaves the file complete or absent."""
    if dest.exists():
        return
    dest.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    tmp = dest.with_name(temp_name(dest.name))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def document_key(service: str, application_id: str) -> str:
    """The document's unique key: one document per application of a service, whatever file it came in."""
    return "online:" + hashlib.sha256(f"{service}\x00{application_id}".encode()).hexdigest()


def _canonical(values: dict[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True, default=str)


def _inputs(
    tpl: Template, values: dict[str, Any], doubts: dict[str, list[dict[str, str]]]
) -> list[FieldInput]:
    return [
        FieldInput(
            name=spec.name,
            type=str(spec.type),
            value=values.get(spec.name),
            raw="" if values.get(spec.name) is None else str(values.get(spec.name)),
            confidence=1.0,
            char_confidences=[],
            reasons=doubts.get(spec.name, []),
            needs_review=bool(doubts.get(spec.name)),
            box=[],
        )
        for spec in tpl.fields
    ]


def _values_and_doubts(
    ctx: Context, tpl: Template, row: OnlineRow, missing: list[str]
) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    held = {
        spec.name: SimpleNamespace(value=normalize_value(spec, row.values.get(spec.name)))
        for spec in tpl.fields
    }
    complete_addresses(tpl, held)  # as a reading's: the prefecture from the postal code
    values = {name: h.value for name, h in held.items()}
    found = check_values(tpl, values, clock.today())
    doubts = {name: [r.as_dict() for r in reasons] for name, reasons in found.items() if reasons}
    if missing:
        first = tpl.fields[0].name
        doubts.setdefault(first, []).append(
            {
                "code": "attachment_missing",
                "ja": f"添付ファイルが届いていません: {', '.join(missing)[:120]}",
                "en": f"attachments named but not received: {', '.join(missing)[:120]}",
            }
        )
    return values, doubts


@dataclass
class _Attachment:
    name: str
    data: bytes


def _attachments(
    raw: dict[str, Any], mapping: OnlineMapping, sent: dict[str, bytes]
) -> tuple[list[_Attachment], list[str], str | None]:
    """The files a row names: inline (JSON, base64) or among those posted with the export. Returns
    (files, names not received, a reason to refuse the row)."""
    found: list[_Attachment] = []
    missing: list[str] = []
    for column in mapping.attachments:
        value = raw.get(column)
        items = value if isinstance(value, list) else [] if value in (None, "") else [value]
        if isinstance(value, str):
            items = [v.strip() for v in MANY_SEPARATORS.split(value) if v.strip()]
        for item in items:
            if isinstance(item, dict):
                name, content = str(item.get("name", "")), item.get("content_base64")
                if not isinstance(content, str):
                    return [], [], "添付ファイルの中身がありません"
                try:
                    data = base64.b64decode(content, validate=True)
                except (binascii.Error, ValueError):
                    return [], [], "添付ファイルの中身が base64 として読めません"
            elif isinstance(item, str):
                name = item
                data_or_none = sent.get(item)
                if data_or_none is None:
                    missing.append(safe_name(item))
                    continue
                data = data_or_none
            else:
                return [], [], "添付ファイルの書き方が違います"
            if len(data) > MAX_ATTACHMENT_BYTES:
                return [], [], f"添付ファイルが大きすぎます（{MAX_ATTACHMENT_BYTES // 1048576} MB まで）"
            found.append(_Attachment(safe_name(name or "attachment"), data))
    if len(found) > MAX_ATTACHMENTS:
        return [], [], f"添付ファイルが多すぎます（{MAX_ATTACHMENTS} 個まで）"
    return found, missing, None


def _keep_attachments(ctx: Context, key: str, files: list[_Attachment]) -> list[tuple[str, Path, str, int]]:
    """Written before the document is recorded (by content hash: a rerun writes the same files)."""
    out = []
    for f in files:
        digest = hashlib.sha256(f.data).hexdigest()
        dest = ctx.settings.archive / "attachments" / key[7:9] / key[7:] / f"{digest[:16]}_{f.name}"
        _write_once(dest, f.data)
        out.append((f.name, dest, digest, len(f.data)))
    return out


def take_export(
    ctx: Context,
    data: bytes,
    name: str,
    *,
    sent: dict[str, bytes] | None = None,
    by: str = SYSTEM_USER,
) -> ExportOutcome:
    """Take every application of an export that can be taken; refuse the rest with reasons.

    Raises :class:`ExportRefused` when the file cannot be read at all (nothing is taken; the caller
    quarantines the file). ``sent``: files posted with the export, by name (the API)."""
    rows_raw = records(data, name)
    tpl, mapping = mapping_for(rows_raw, name)
    rows = applications(data, name, tpl, mapping)
    digest, archived = _archive(ctx, data, name)
    outcome = ExportOutcome(tpl.id, mapping.service)
    for row, raw in zip(rows, rows_raw, strict=True):
        if not row.ok:
            outcome.refused.append(row)
            continue
        _take_row(ctx, tpl, mapping, row, raw, name, archived, len(data), sent or {}, by, outcome)
    if outcome.refused:
        outcome.quarantine = _quarantine_rows(ctx, rows_raw, outcome.refused, name, digest, outcome)
    log.info(
        "online export %s (%s): %d taken, %d taken before, %d refused",
        digest[:12],
        tpl.id,
        len(outcome.accepted),
        len(outcome.already),
        len(outcome.refused),
    )
    return outcome


def _take_row(
    ctx: Context,
    tpl: Template,
    mapping: OnlineMapping,
    row: OnlineRow,
    raw: dict[str, Any],
    name: str,
    archived: Path,
    size: int,
    sent: dict[str, bytes],
    by: str,
    outcome: ExportOutcome,
) -> None:
    assert row.application_id is not None
    key = document_key(mapping.service, row.application_id)
    files, missing, bad = _attachments(raw, mapping, sent)
    if bad is not None:
        row.problems["attachments"] = (bad, "an attachment cannot be taken")
        outcome.refused.append(row)
        return
    values, doubts = _values_and_doubts(ctx, tpl, row, missing)
    known = ctx.store.document_by_sha(key)
    if known is not None:
        _known_again(ctx, known, row, values, outcome)
        return
    kept = _keep_attachments(ctx, key, files)
    straight = not doubts and not ctx.settings.review_all
    status = DocStatus.APPROVED if straight else DocStatus.REVIEW
    with ctx.unit() as uow:
        doc, created = uow.store.add_document(
            key,
            f"{name} 行{row.line}",
            str(archived),
            size,
            channel=Channel.ONLINE,
            external_id=f"{mapping.service} {row.application_id}"[:140],
        )
        if not created:  # another worker took the same application a moment ago
            outcome.already.append(doc.id or 0)
            return
        assert doc.id is not None
        uow.store.save_reading(
            doc.id,
            form_id=tpl.id,
            form_version=tpl.version,
            engine="online",
            pages=[],
            fields=_inputs(tpl, values, doubts),
            status=status,
            straight_through=straight,
        )
        for att_name, path, sha, n in kept:
            uow.store.add_attachment(doc.id, att_name, str(path), sha, n)
        uow.store.audit(by, "intake.online", doc.id, detail=f"{mapping.service} line {row.line}")
        failpoints.hit("online.row_saved")
        if straight:
            uow.store.set_status(doc.id, DocStatus.APPROVED, approved_by=SYSTEM_USER + "(auto)")
            uow.store.audit(SYSTEM_USER, "document.auto_approve", doc.id)
    outcome.accepted.append(doc.id)


def _known_again(
    ctx: Context, known: Document, row: OnlineRow, values: dict[str, Any], outcome: ExportOutcome
) -> None:
    """An application taken before: the same values are a repeat (cumulative exports are normal);
    other values under the same ID are a change nobody may apply silently."""
    assert known.id is not None
    before = {f.name: json.loads(f.ocr_value) if f.ocr_value else None for f in ctx.store.fields(known.id)}
    if _canonical(before) == _canonical(values):
        outcome.already.append(known.id)
        return
    row.problems[""] = (
        f"申請番号 {row.application_id} は受付済みです（文書 #{known.id}）が、内容が違います。"
        "訂正の申請かどうか担当者が確認してください",
        f"application {row.application_id} was received before (document #{known.id}) with other"
        " values: a person must decide whether it is a correction",
    )
    outcome.refused.append(row)
    outcome.concerns[row.line] = known.id


def _quarantine_rows(
    ctx: Context,
    rows_raw: list[dict[str, Any]],
    refused: list[OnlineRow],
    name: str,
    digest: str,
    outcome: ExportOutcome,
) -> Path:
    """The refused rows as a CSV of their own (UTF-8 with BOM, opens in Excel) with a reason per row,
    and one exception item per row. The whole export stays archived as received."""
    by_line = {r.line: r for r in refused}
    first_line = 1 if name.lower().endswith(".json") else 2
    columns: list[str] = []
    for raw in rows_raw:
        columns += [c for c in raw if c not in columns]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["行 (line)", "受付できない理由 (reason)", *columns])
    for i, raw in enumerate(rows_raw):
        row = by_line.get(i + first_line)
        if row is not None:
            writer.writerow([row.line, _reasons(row)[0], *(_cell(raw.get(c)) for c in columns)])
    lines_ja = "\n".join(f"  {r.line}行目: {_reasons(r)[0]}" for r in refused)
    lines_en = "\n".join(f"  line {r.line}: {_reasons(r)[1]}" for r in refused)
    err = RowRefused(
        f"オンライン申請 {len(refused)} 件を受け付けられませんでした（ほかの {len(outcome.accepted)} 件は受付済み）",
        f"{len(refused)} online application(s) could not be taken (the other {len(outcome.accepted)} were)",
        detail=f"{outcome.service}: {len(refused)} / {len(rows_raw)}",
    )
    advice = (
        f"受付できなかった申請だけをこのCSVに残しました。行ごとの理由:\n{lines_ja}\n"
        "申請者または申請サービスの担当に確かめ、直したものだけの書き出しを受付フォルダに入れてください"
        "（受付済みの申請は二重になりません）。元の書き出しはそのまま保管しています"
        f"（SHA-256 {digest[:16]}…）。",
        f"only the applications that could not be taken are in this CSV. Per line:\n{lines_en}\n"
        "Check with the applicant or the service, then drop an export of the corrected ones into the"
        " inbox (applications already taken are not added twice). The original export is archived"
        f" unchanged (SHA-256 {digest[:16]}…).",
    )
    q = _quarantine_bytes(ctx, ("\ufeff" + buf.getvalue()).encode("utf-8"), name, "csv", err, advice)
    assert q.path is not None
    with ctx.unit() as uow:
        for r in refused:
            ja, en = _reasons(r)
            uow.store.add_exception(
                code=err.code,
                ja=f"{r.line}行目（申請番号 {r.application_id or '—'}）: {ja}",
                en=f"line {r.line} (application {r.application_id or '—'}): {en}",
                detail=outcome.service,
                document_id=outcome.concerns.get(r.line),
                source_name=name,
                evidence={"quarantine": str(q.path), "reason": str(q.reason_path)},
            )
        uow.store.audit(SYSTEM_USER, "intake.online_refused", None, detail=f"{len(refused)} row(s)")
    return q.path


def _quarantine_bytes(
    ctx: Context, data: bytes, name: str, kind: str, err: InputError, advice: Advice = MOVED_ADVICE
) -> Quarantined:
    """Bytes of ours (a posted export, the refused rows) kept in quarantine with their reason, through
    a private staging copy as every quarantined file is."""
    staging = ctx.settings.staging / uuid.uuid4().hex
    staging.mkdir(mode=0o700, parents=True)
    try:
        tmp = staging / "data"
        tmp.write_bytes(data)
        return quarantine_file(
            tmp, ctx.settings.quarantine, err, move=True, original_name=name, kind=kind, advice=advice
        )
    finally:
        for leftover in staging.iterdir():
            leftover.unlink(missing_ok=True)
        staging.rmdir()


def _reasons(row: OnlineRow) -> tuple[str, str]:
    ja = "、".join(f"{k}: {v[0]}" if k else v[0] for k, v in row.problems.items())
    en = "; ".join(f"{k}: {v[1]}" if k else v[1] for k, v in row.problems.items())
    return ja[:500], en[:500]


def _cell(value: Any) -> str:
    """A cell of the quarantined CSV: never a formula when opened in Excel."""
    text = (
        json.dumps(value, ensure_ascii=False)
        if isinstance(value, dict | list)
        else ""
        if value is None
        else str(value)
    )
    text = text[:500]
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def take_posted(
    ctx: Context, data: bytes, name: str, *, sent: dict[str, bytes] | None = None, by: str
) -> ExportOutcome:
    """An export posted to the API: as :func:`take_export`; one that cannot be read at all is kept in
    quarantine with its reason and an exception item (as a dropped file would be), then raised."""
    try:
        return take_export(ctx, data, name, sent=sent, by=by)
    except InputError as err:
        q = _quarantine_bytes(ctx, data, name, "json" if name.lower().endswith(".json") else "csv", err)
        with ctx.unit() as uow:
            uow.store.add_exception(
                code=err.code,
                ja=err.ja,
                en=err.en,
                detail=err.detail,
                source_name=name,
                evidence={"quarantine": str(q.path), "reason": str(q.reason_path)},
            )
            uow.store.audit(by, "intake.online_refused", None, detail=err.code)
        raise


def check_mapping(tpl: Template) -> OnlineMapping | None:
    """The form's online mapping, checked (``dejiru template check``), or None without one."""
    path = template_dir(tpl.id) / MAPPING_FILE
    if not path.is_file():
        return None
    try:
        return parse_mapping(path.read_text(encoding="utf-8"), tpl, str(path))
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{path} は UTF-8 で保存してください", f"save {path} as UTF-8") from exc
