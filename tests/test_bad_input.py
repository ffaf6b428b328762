"""Bad input through the real pipeline: each lands in quarantine or the exception queue with a reason a
clerk can read, and the original is never deleted or changed."""

import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.intake import intake_file
from pipeline.reading import read_document
from records.models import DocStatus
from tests.conftest import REPO


def png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def take(ctx, name: str, data: bytes):
    ctx.settings.inbox.mkdir(parents=True, exist_ok=True)
    p = ctx.settings.inbox / name
    p.write_bytes(data)
    r = intake_file(p, ctx)
    status = read_document(r.document_id, ctx) if r.outcome == "accepted" else None
    return r, status


def reason_file(ctx, code: str) -> str:
    files = list((ctx.settings.quarantine / code).glob("*.reason.txt"))
    assert files, f"no reason file in quarantine/{code}"
    return files[0].read_text(encoding="utf-8")


def test_blank_page(ctx) -> None:
    rng = np.random.default_rng(0)
    blank = np.clip(rng.normal(245, 3, (1754, 1240, 3)), 0, 255).astype(np.uint8)
    r, status = take(ctx, "白紙.png", png(blank))
    assert status == DocStatus.QUARANTINED
    assert "白紙" in reason_file(ctx, "blank_page")
    assert Path(ctx.store.document(r.document_id).archive_path).read_bytes() == png(blank)


def test_photo_that_is_not_a_form(ctx) -> None:
    rng = np.random.default_rng(1)
    small = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    photo = np.array(
        Image.fromarray(small).resize((1600, 1200), Image.Resampling.BICUBIC)
    )  # a blurry snapshot
    _, status = take(ctx, "IMG_0001.jpg".replace(".jpg", ".png"), png(photo))
    assert status == DocStatus.QUARANTINED
    text = reason_file(ctx, "unknown_form")
    assert "登録された様式ではありません" in text and "Reason:" in text


def test_a_form_this_installation_does_not_know(ctx) -> None:
    data = (REPO / "tests" / "data" / "other_form.pdf").read_bytes()
    _, status = take(ctx, "受診状況等証明書.pdf", data)
    assert status == DocStatus.QUARANTINED
    assert ctx.store.exceptions()[0].code == "unknown_form"


def test_upside_down_form_is_read(ctx, sample, tpl) -> None:
    img, truth = sample(31, font="ipag", dpi=200)
    _, status = take(ctx, "逆さま.png", png(np.ascontiguousarray(np.rot90(img, 2))))
    assert status in (DocStatus.REVIEW, DocStatus.APPROVED)
    doc = ctx.store.documents()[0]
    assert ctx.store.pages(doc.id)[0].rotation == 180
    assert ctx.store.values(doc.id)["birth_date"] == truth["fields"]["birth_date"]


def test_five_hundred_pages(ctx) -> None:
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf)
    for i in range(500):
        c.drawString(72, 720, f"page {i + 1}")
        c.showPage()
    c.save()
    r, _ = take(ctx, "まとめてスキャン.pdf", buf.getvalue())
    assert r.outcome == "quarantined" and r.detail == "too_large"
    assert "500" in reason_file(ctx, "too_large")


def test_multipage_scan_becomes_one_document_per_form_page(ctx, sample, tpl) -> None:
    a, _ = sample(32, font="ipam", dpi=150)
    b, _ = sample(33, font="klee", dpi=150)
    blank = np.full_like(a, 250)
    buf = io.BytesIO()
    Image.fromarray(a).save(
        buf, "PDF", resolution=150, save_all=True, append_images=[Image.fromarray(blank), Image.fromarray(b)]
    )
    _, status = take(ctx, "両面スキャン.pdf", buf.getvalue())
    assert status in (DocStatus.REVIEW, DocStatus.APPROVED)
    docs = ctx.store.documents()
    assert len(docs) == 2  # the blank back side is skipped, not quarantined
    child = next(d for d in docs if d.parent_id)
    assert child.source_page == 2
    assert read_document(child.id, ctx) in (DocStatus.REVIEW, DocStatus.APPROVED)


@pytest.mark.parametrize("name", ["申請書 山田様 (1).png", "申請書..png", "a b　c.png"])
def test_awkward_file_names(ctx, sample, name) -> None:
    img, _ = sample(34, font="ipag", dpi=150)
    r, status = take(ctx, name, png(img))
    doc = ctx.store.document(r.document_id)
    archive = Path(doc.archive_path).resolve()
    assert archive.is_relative_to(ctx.settings.archive.resolve())
    assert doc.original_name == name and status in (DocStatus.REVIEW, DocStatus.APPROVED)


def test_disk_full_while_archiving_loses_nothing(ctx, sample) -> None:
    """The archive is a real 256 KiB filesystem: the copy fails, the scan stays in the inbox, and
    goes through once there is room."""
    archive = ctx.settings.archive
    archive.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(archive)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode().strip()}")
    try:
        img, _ = sample(35, font="ipag", dpi=200)
        data = png(img)
        assert len(data) > 256 * 1024
        p = ctx.settings.inbox / "大きい.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        with pytest.raises(OSError):
            intake_file(p, ctx)
        assert p.read_bytes() == data and ctx.store.documents() == []
        assert not [f for f in archive.rglob("*") if f.is_file()]  # no half-written copy left behind
    finally:
        subprocess.run(["umount", str(archive)], capture_output=True)
    r = intake_file(p, ctx)
    assert r.outcome == "accepted" and not p.exists()
    assert Path(ctx.store.document(r.document_id).archive_path).read_bytes() == data
    assert os.path.getsize(ctx.store.document(r.document_id).archive_path) == len(data)
