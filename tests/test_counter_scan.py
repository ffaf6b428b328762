"""A counter slip (書かない窓口) printed, signed and scanned back through the inbox, read by the real
reader: an untouched, signed slip goes straight through with exactly the sealed values; the same slip
again, a forged seal or an unsigned slip do not."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from formkit.layout import layout_field, seal_box
from formkit.registry import load_template
from formkit.render import rasterize_pdf
from formkit.seal import Seal, counter_values, new_nonce, seal_key, seal_text
from pipeline.intake import intake_file
from pipeline.reading import read_document
from records.models import Channel, DocStatus
from synth.fill import prefilled_pdf
from synth.samples import sample_values

FORM = "juminhyo_request"
DPI = 300


def visitor(seed: int) -> dict[str, Any]:
    tpl = load_template(FORM)
    return counter_values(tpl, sample_values(tpl, random.Random(seed), dt.date(2026, 11, 24))[0])


def slip_scan(
    ctx: Any,
    seed: int,
    *,
    signed: bool = True,
    key: bytes | None = None,
    printed: dict[str, Any] | None = None,
    smudge: bool = False,
    defect: Any = None,
) -> tuple[bytes, dict[str, Any]]:
    """A slip printed for a made-up visitor, its record in the store, and its scan as a PNG.
    ``printed``: other values printed beside the seal (a seal moved onto another paper)."""
    tpl = load_template(FORM)
    values = visitor(seed)
    visit = ctx.store.open_visit("clerk", "driver_license", "****1234")
    nonce = new_nonce()
    ctx.store.add_counter_slip(visit.id, nonce, FORM, tpl.version, "clerk", staff_seconds=40.0)
    seal = Seal(nonce, FORM, tpl.version, values, "2026-11-24")
    text = seal_text(seal, key or seal_key(ctx.settings.secret_key()), tpl=tpl)
    ppm = DPI / 25.4
    img = rasterize_pdf(prefilled_pdf(tpl, printed or values, text), ppm, tpl.page.width_mm)
    if signed:  # a hand's signature: a few strokes in the signature zone
        zone = layout_field(tpl.field("signature")).zone
        x0, y0 = int((zone.x + 10) * ppm), int((zone.y + zone.h / 2) * ppm)
        pts = np.array([[x0 + i * 12, y0 + int(25 * np.sin(i / 2.0))] for i in range(40)], np.int32)
        cv2.polylines(img, [pts], False, (20, 20, 20), 4)
    global last_clean_scan
    last_clean_scan = encode(img)  # the same paper before any blot (a second scan of it)
    if smudge:  # the middle of the QR blotted out, more than its error correction restores
        box = seal_box(tpl)
        x0, y0 = int((box.x + box.w * 0.25) * ppm), int((box.y + box.w * 0.25) * ppm)
        cv2.rectangle(
            img, (x0, y0), (x0 + int(box.w * 0.5 * ppm), y0 + int(box.w * 0.5 * ppm)), (40, 40, 40), -1
        )
    if defect is not None:  # the paper sent on as a fax, photocopied, photographed (synth.scan)
        img = defect(img, random.Random(seed), ppm)
    return encode(img), values


last_clean_scan = b""


def encode(img: Any) -> bytes:
    ok, png = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    assert ok
    return bytes(png.tobytes())


def take(ctx: Any, name: str, data: bytes) -> Any:
    path = ctx.settings.inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    result = intake_file(path, ctx)
    assert result.document_id is not None
    read_document(result.document_id, ctx)
    return ctx.store.document(result.document_id)


@pytest.mark.slow
def test_a_signed_slip_goes_straight_through_with_its_sealed_values(ctx: Any) -> None:
    png, values = slip_scan(ctx, 1)
    doc = take(ctx, "slip.png", png)
    assert doc.status == DocStatus.APPROVED, [
        (f.name, f.reasons) for f in ctx.store.fields(doc.id) if f.needs_review
    ]
    assert doc.channel == Channel.COUNTER and doc.external_id.startswith("slip ")
    stored = ctx.store.values(doc.id)
    assert {k: stored[k] for k in values} == values  # exactly the sealed values
    assert stored["signature"] is True
    slip = ctx.store.counter_slip(doc.external_id.removeprefix("slip "))
    assert slip is not None and slip.document_id == doc.id
    # The same slip scanned again (other bytes: a second scan) is refused with the reason.
    again = cv2.imencode(".jpg", cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR))[1].tobytes()
    second = take(ctx, "slip again.jpg", again)
    assert second.status == DocStatus.QUARANTINED and second.error_code == "seal_slip_used"
    assert f"#{doc.id}" in (second.error_ja or "")


@pytest.mark.slow
@pytest.mark.parametrize("defect", ["fax", "phone_photo"])
def test_a_faxed_or_photographed_slip_still_goes_straight_through(ctx: Any, defect: str) -> None:
    # A branch office faxes the signed slip on, or a clerk photographs it: the QR still gives the
    # values exactly (rates per defect and resolution: python -m bench.counter_scan).
    from synth.scan import fax, phone_photo

    degrade = {"fax": fax, "phone_photo": lambda img, rng, _ppm: phone_photo(img, rng)}[defect]
    png, values = slip_scan(ctx, 4, defect=degrade)
    doc = take(ctx, f"{defect}.png", png)
    assert doc.channel == Channel.COUNTER
    assert doc.status == DocStatus.APPROVED, [
        (f.name, f.reasons) for f in ctx.store.fields(doc.id) if f.needs_review
    ]
    stored = ctx.store.values(doc.id)
    assert {k: stored[k] for k in values} == values


@pytest.mark.slow
def test_a_forged_seal_or_a_missing_signature_is_not_taken(ctx: Any) -> None:
    forged, _ = slip_scan(ctx, 2, key=b"another city hall's key".ljust(32, b"."))
    doc = take(ctx, "forged.png", forged)
    assert doc.status == DocStatus.QUARANTINED and doc.error_code == "seal_forged"
    assert list(Path(ctx.settings.quarantine / "seal_forged").glob("*.reason.txt"))
    unsigned, _ = slip_scan(ctx, 3, signed=False)
    doc = take(ctx, "unsigned.png", unsigned)
    assert doc.status == DocStatus.REVIEW and doc.channel == Channel.COUNTER
    flagged = [f.name for f in ctx.store.fields(doc.id) if f.needs_review]
    assert flagged == ["signature"]


@pytest.mark.slow
def test_a_seal_on_a_paper_that_says_something_else_is_not_taken(ctx: Any) -> None:
    """A genuine seal copied onto a form printed with another visitor's values."""
    png, _ = slip_scan(ctx, 4, printed=visitor(5))
    doc = take(ctx, "moved seal.png", png)
    assert doc.status == DocStatus.QUARANTINED and doc.error_code == "seal_mismatch"
    assert "一致しません" in (doc.error_ja or "")


@pytest.mark.slow
def test_a_slip_whose_seal_cannot_be_read_goes_before_a_person_whole(ctx: Any) -> None:
    png, _ = slip_scan(ctx, 6, smudge=True)
    doc = take(ctx, "smudged.png", png)
    assert doc.status == DocStatus.REVIEW
    fields = ctx.store.fields(doc.id)
    assert all(f.needs_review for f in fields)
    assert all(any(r["code"] == "seal_unreadable" for r in json.loads(f.reasons)) for f in fields)


@pytest.mark.slow
def test_a_slip_scanned_twice_with_its_qr_unreadable_once_is_never_approved_twice_unseen(ctx: Any) -> None:
    """The first scan's QR cannot be read (paper to the pipeline, every field to a person); the
    same slip scanned again reads: the second goes before a person too, naming the first."""
    smudged, _ = slip_scan(ctx, 7, smudge=True)
    clean = last_clean_scan
    first = take(ctx, "first.png", smudged)
    assert first.status == DocStatus.REVIEW and first.channel == Channel.PAPER
    again = take(ctx, "second.png", clean)
    assert again.channel == Channel.COUNTER and again.status == DocStatus.REVIEW
    reasons = [r for f in ctx.store.fields(again.id) for r in json.loads(f.reasons)]
    assert any(r["code"] == "possible_duplicate" and f"#{first.id}" in r["ja"] for r in reasons)
    # The other way round: read by its seal first, then scanned again with the QR unreadable.
    smudged, _ = slip_scan(ctx, 8, smudge=True)
    read = take(ctx, "third.png", last_clean_scan)
    assert read.channel == Channel.COUNTER and read.status == DocStatus.APPROVED
    blurred = take(ctx, "fourth.png", smudged)
    reasons = [r for f in ctx.store.fields(blurred.id) for r in json.loads(f.reasons)]
    assert any(r["code"] == "possible_duplicate" and f"#{read.id}" in r["ja"] for r in reasons)


def test_a_scan_read_as_paper_with_its_name_misread_is_still_the_same_applicant() -> None:
    # A fax that made the QR unreadable blurs kanji first: the name read from its print may be wrong,
    # and its later scan with a readable QR would then stand as a second application.
    from formkit.registry import load_template
    from pipeline.counter_scan import _same_applicant, _traits

    tpl = load_template("juminhyo_request")
    sealed = {
        "name": "加藤\u3000浩",
        "kana": "カトウ\u3000ヒロシ",
        "postal_code": "189-0013",
        "phone": "042-514-8731",
        "address": "東京都東村山市栄町6-13-12",
    }
    assert set(_traits(tpl, sealed)) == {"kana", "postal_code", "phone", "address"}
    assert _same_applicant(tpl, sealed, sealed | {"name": "加藤\u3000活", "postal_code": "1890013"})
    assert _same_applicant(tpl, sealed, sealed | {"name": "加藤 浩", "kana": None, "phone": None})
    other = {
        "name": "佐藤\u3000一郎",
        "kana": "サトウ\u3000イチロウ",
        "postal_code": "190-0001",
        "phone": "042-537-7030",
        "address": "東京都立川市若葉町2-18-20",
    }
    assert not _same_applicant(tpl, sealed, other)
    assert not _same_applicant(tpl, sealed, other | {"postal_code": "189-0013"})  # a neighbour
    assert not _same_applicant(tpl, {}, {})  # nothing read is nobody's
