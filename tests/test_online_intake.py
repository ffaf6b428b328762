"""Online applications through the inbox: an export's good applications become documents (checked,
routed, keyed like a scan's reading), exactly once by the service's application ID; the bad ones go to
quarantine with a reason per row and to the exception queue, without holding back the good ones; a
file that cannot be read at all is quarantined whole; the export itself is archived unchanged."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from pipeline.intake import intake_file
from pipeline.online import document_key
from records.models import Channel, DocStatus
from tests.test_online_export import GOOD, as_csv

SERVICE = "電子申請サービス（デモ）"


def drop(ctx: Any, name: str, data: bytes) -> Path:
    path = ctx.settings.inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def online_docs(ctx: Any) -> list[Any]:
    return [d for d in ctx.store.documents(limit=1000) if d.channel == Channel.ONLINE]


def reason_files(ctx: Any, code: str) -> list[Path]:
    return sorted((ctx.settings.quarantine / code).glob("*.reason.txt"))


def test_an_export_becomes_documents_and_a_bad_row_waits_alone(ctx: Any) -> None:
    rows = [
        GOOD,
        GOOD | {"申請番号": "E2026-000124", "郵便番号": "100-0001"},  # postal code of another town: review
        GOOD | {"申請番号": "E2026-000125", "生年月日": "きのう"},  # not a date: refused alone
    ]
    data = as_csv(rows, "cp932")
    result = intake_file(drop(ctx, "電子申請_20261124.csv", data), ctx)
    assert result.outcome == "accepted"
    assert not (ctx.settings.inbox / "電子申請_20261124.csv").exists()
    docs = {d.external_id: d for d in online_docs(ctx)}
    assert set(docs) == {f"{SERVICE} E2026-000123", f"{SERVICE} E2026-000124"}
    straight, doubtful = docs[f"{SERVICE} E2026-000123"], docs[f"{SERVICE} E2026-000124"]
    assert straight.status == DocStatus.APPROVED and straight.form_id == "juminhyo_request"
    assert result.approved == (straight.id,)  # keyed at once, like a straight-through scan
    assert doubtful.status == DocStatus.REVIEW
    fields = {f.name: f for f in ctx.store.fields(doubtful.id)}
    assert fields["postal_code"].needs_review and not fields["name"].needs_review
    assert ctx.store.values(straight.id)["name"] == "山田　花子"
    assert ctx.store.values(straight.id)["signature"] is True  # the mapping's fixed value
    # The export is archived as received, byte for byte.
    archived = Path(straight.archive_path)
    assert archived.read_bytes() == data and archived.name.startswith(hashlib.sha256(data).hexdigest())
    # The refused row: a CSV of its own with the reason, and an exception item naming its line.
    (reason,) = reason_files(ctx, "online_row_refused")
    text = reason.read_text(encoding="utf-8")
    assert "4行目" in text and "電子申請_20261124.csv" in text
    kept = reason.with_name(reason.name.removesuffix(".reason.txt"))
    kept_rows = list(csv.reader(io.StringIO(kept.read_bytes().decode("utf-8-sig"))))
    assert len(kept_rows) == 2 and "E2026-000125" in kept_rows[1] and "E2026-000123" not in kept_rows[1]
    items = [e for e in ctx.store.exceptions() if e.code == "online_row_refused"]
    assert len(items) == 1 and "E2026-000125" in items[0].message_ja and "4行目" in items[0].message_ja


def test_the_same_applications_again_are_not_added_twice(ctx: Any) -> None:
    first = as_csv([GOOD])
    intake_file(drop(ctx, "export.csv", first), ctx)
    # The same file again, and a cumulative export holding it and a new one.
    assert intake_file(drop(ctx, "export.csv", first), ctx).outcome == "duplicate"
    more = as_csv([GOOD, GOOD | {"申請番号": "E2026-000200"}], "utf-8-sig")
    again = intake_file(drop(ctx, "export2.csv", more), ctx)
    assert again.outcome == "accepted"
    ids = sorted(d.external_id for d in online_docs(ctx))
    assert ids == [f"{SERVICE} E2026-000123", f"{SERVICE} E2026-000200"]
    assert not reason_files(ctx, "online_row_refused")


def test_changed_values_under_a_known_id_go_to_a_person(ctx: Any) -> None:
    intake_file(drop(ctx, "export.csv", as_csv([GOOD])), ctx)
    (doc,) = online_docs(ctx)
    intake_file(drop(ctx, "export2.csv", as_csv([GOOD | {"通数": "5"}])), ctx)
    assert [d.id for d in online_docs(ctx)] == [doc.id]
    assert ctx.store.values(doc.id)["copies"] == 2  # not changed behind anyone's back
    (item,) = [e for e in ctx.store.exceptions() if e.code == "online_row_refused"]
    assert f"#{doc.id}" in item.message_ja and "内容が違います" in item.message_ja


def test_attachments_are_kept_with_the_application(ctx: Any) -> None:
    pdf = b"%PDF-1.4\n% a certificate\n"
    row = GOOD | {
        "添付ファイル": [{"name": "本人確認.pdf", "content_base64": base64.b64encode(pdf).decode()}]
    }
    intake_file(drop(ctx, "export.json", json.dumps([row], ensure_ascii=False).encode()), ctx)
    (doc,) = online_docs(ctx)
    (att,) = ctx.store.attachments(doc.id)
    assert att.name == "本人確認.pdf" and Path(att.path).read_bytes() == pdf
    assert att.sha256 == hashlib.sha256(pdf).hexdigest()


def test_an_attachment_named_but_not_sent_sends_the_application_to_review(ctx: Any) -> None:
    intake_file(drop(ctx, "export.csv", as_csv([GOOD | {"添付ファイル": "住民票.pdf"}])), ctx)
    (doc,) = online_docs(ctx)
    assert doc.status == DocStatus.REVIEW
    reasons = [r for f in ctx.store.fields(doc.id) for r in json.loads(f.reasons)]
    assert any(r["code"] == "attachment_missing" and "住民票.pdf" in r["ja"] for r in reasons)


def test_an_export_that_cannot_be_read_is_quarantined_whole(ctx: Any) -> None:
    broken = as_csv([GOOD]).replace("山田".encode(), b"\xff\xfe\xfd")  # neither UTF-8 nor cp932
    missing = as_csv([{k: v for k, v in GOOD.items() if k != "氏名"}])
    extra = as_csv([GOOD | {"マイナンバー": "123456789012"}])
    for name, data in [("broken.csv", broken), ("missing.csv", missing), ("extra.csv", extra)]:
        result = intake_file(drop(ctx, name, data), ctx)
        assert result.outcome == "quarantined", name
        assert not (ctx.settings.inbox / name).exists()
    assert online_docs(ctx) == []
    whole = reason_files(ctx, "online_export_refused")
    texts = [p.read_text(encoding="utf-8") for p in whole]
    assert any("文字コード" in t for t in texts) and any("氏名" in t for t in texts)
    for reason in whole:  # the file itself is kept beside its reason, unaltered
        kept = reason.with_name(reason.name.removesuffix(".reason.txt"))
        assert kept.read_bytes() in (broken, missing)
    # The extra column is not the form's: every row waits for a person, none is taken.
    (rows_reason,) = reason_files(ctx, "online_row_refused")
    assert "マイナンバー" in rows_reason.read_text(encoding="utf-8")


def test_a_csv_cell_that_is_a_formula_stays_text_in_quarantine(ctx: Any) -> None:
    row = GOOD | {"申請番号": "E2026-000300", "生年月日": '=HYPERLINK("http://x")'}
    intake_file(drop(ctx, "export.csv", as_csv([row])), ctx)
    (reason,) = reason_files(ctx, "online_row_refused")
    kept = reason.with_name(reason.name.removesuffix(".reason.txt")).read_bytes().decode("utf-8-sig")
    assert "'=HYPERLINK" in kept and ",=HYPERLINK" not in kept


def test_the_document_key_is_the_service_and_its_id() -> None:
    assert document_key("a", "1") != document_key("a", "2") != document_key("b", "1")
    assert len(document_key(SERVICE, "X" * 64)) <= 80
