"""Memory bombs: tiny files that would decode to huge images.

Every bomb is a real file, built from zlib and struct by ``bench.bombs`` without its pixels ever
existing in this process, dropped into a real inbox and taken by the real intake. A bomb over the
pixel limit is quarantined at intake with a reason naming the page, its megapixels and the limit, and
the clerk's file is kept byte for byte; a file of large pages that are each allowed is read one page
at a time, which a subprocess's peak memory shows.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.bombs import jpeg_bomb, measure, pdf_bomb, png_bomb, side_pt, tiff_bomb
from ocr import pages
from pipeline.intake import intake_file
from tests.conftest import REPO

# Pillow warns when it parses a header over its own limit; the refusal these tests look for is ours.
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")

LIMIT_MP = 120  # the default, pinned here so that a DEJIRU_MAX_MEGAPIXELS in the shell changes nothing
#: Peak RSS allowed for reading the attacker's 4-page PDF of 110 MP pages (2.2 GB when every page was
#: held): about 140 MB of interpreter and libraries, one page (330 MB), the blank check's grey copy,
#: and room to spare. Measured: about 570 MB.
READ_BOUND_MB = 1200


@pytest.fixture(autouse=True)
def default_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(pages, "MAX_PIXELS", LIMIT_MP * 1_000_000)
    monkeypatch.setattr(pages, "MAX_PAGES", 50)
    monkeypatch.setenv("DEJIRU_MAX_MEGAPIXELS", str(LIMIT_MP))
    monkeypatch.setenv("DEJIRU_MAX_PAGES", "50")
    yield


def quarantined_at_intake(ctx: Any, name: str, data: bytes) -> str:
    """Drop ``data`` into the inbox, let intake take it, and check intake refused it as too large: no
    document, the file kept byte for byte beside a reason file. Returns the reason file's text."""
    ctx.settings.inbox.mkdir(parents=True, exist_ok=True)
    dropped = ctx.settings.inbox / name
    dropped.write_bytes(data)
    r = intake_file(dropped, ctx)
    assert (r.outcome, r.detail) == ("quarantined", "too_large")
    assert ctx.store.documents() == []
    assert not dropped.exists()
    folder = ctx.settings.quarantine / "too_large"
    kept = [f for f in folder.iterdir() if not f.name.endswith(".reason.txt") and not f.name.startswith(".")]
    reasons = list(folder.glob("*.reason.txt"))
    assert len(kept) == 1 and len(reasons) == 1
    assert kept[0].read_bytes() == data  # the clerk's file, unaltered
    assert ctx.store.exceptions()[0].code == "too_large"
    text = reasons[0].read_text(encoding="utf-8")
    assert f"上限 {LIMIT_MP}メガピクセル" in text and f"limit {LIMIT_MP}" in text
    return text


def test_png_of_237_megapixels_in_48_kb(ctx: Any) -> None:
    """A 48 KB PNG declaring 237 megapixels, under twice the limit where Pillow only warns."""
    data = png_bomb(15400, 15400)
    assert len(data) < 60_000
    text = quarantined_at_intake(ctx, "scan.png", data)
    assert "15400×15400ピクセル = 237.2メガピクセル" in text and "237.2 megapixels" in text


def test_jpeg_header_claiming_225_megapixels(ctx: Any) -> None:
    """A 600-byte JPEG whose frame header claims 15000×15000 pixels."""
    data = jpeg_bomb(15000, 15000)
    assert len(data) < 1_000
    text = quarantined_at_intake(ctx, "photo.jpg", data)
    assert "15000×15000ピクセル = 225.0メガピクセル" in text


def test_tiff_hiding_a_huge_second_frame(ctx: Any) -> None:
    """A multi-page TIFF with an ordinary first frame and a 225-megapixel second one."""
    data = tiff_bomb([(2480, 3508), (15000, 15000)])
    assert len(data) < 60_000
    text = quarantined_at_intake(ctx, "fax.tif", data)
    assert "2ページ目: 15000×15000ピクセル" in text and "page 2: 15000×15000 px" in text


def test_fax_resolution_that_stretches_a_small_image(ctx: Any) -> None:
    """A 9-megapixel PNG declaring 600×20 dpi, which squaring its pixels would make 270 megapixels."""
    data = png_bomb(3000, 3000, dpi=(600, 20))
    text = quarantined_at_intake(ctx, "fax.png", data)
    assert "600×20 dpi" in text and "3000×90046ピクセル" in text  # pHYs keeps dots per metre


def test_pdf_with_one_oversized_page(ctx: Any) -> None:
    """A 600-byte PDF whose third page would render to 200 megapixels at 300 dpi."""
    data = pdf_bomb([(595, 842), (595, 842), (side_pt(200),) * 2, (595, 842)])
    assert len(data) < 1_000
    text = quarantined_at_intake(ctx, "申請書.pdf", data)
    assert (
        "3ページ目: 3394×3394 pt を 300 dpi で描画すると" in text
        and "page 3: 3394×3394 pt at 300 dpi" in text
    )


def test_poppler_fallback_drawing_a_huge_mediabox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PDF whose MediaBox dwarfs its A4 CropBox, drawn by the poppler fallback when pdfium fails."""
    import pypdfium2 as pdfium

    p = tmp_path / "crop.pdf"
    p.write_bytes(pdf_bomb([(1800, 1800)], crop=(595, 842)))  # MediaBox: 7500×7500 px at 300 dpi

    def pdfium_fails(self: Any, *args: Any, **kwargs: Any) -> Any:
        # pdfium cannot be made to fail on demand with a valid file; poppler's part is real.
        raise pdfium.PdfiumError("simulated: pdfium cannot draw this page")

    monkeypatch.setattr(pdfium.PdfPage, "render", pdfium_fails)
    page = next(pages.iter_pages(p))
    assert page.image.shape == (3509, 2480, 3)  # the CropBox at 300 dpi, as checked; not the MediaBox


def test_pdf_pages_are_decoded_one_at_a_time(ctx: Any) -> None:
    """A PDF of many large pages, each allowed, read by the pipeline without holding them all."""
    from pipeline.reading import read_document

    n, mp = 6, 20
    data = pdf_bomb([(side_pt(mp),) * 2] * n)
    ctx.settings.inbox.mkdir(parents=True, exist_ok=True)
    dropped = ctx.settings.inbox / "まとめて.pdf"
    dropped.write_bytes(data)
    r = intake_file(dropped, ctx)
    assert r.outcome == "accepted" and r.document_id is not None
    page_bytes = mp * 1_000_000 * 3
    tracemalloc.start()  # numpy's arrays are traced: the pages' pixels, their copies, the grey copies
    try:
        read_document(r.document_id, ctx)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ctx.store.exceptions()[0].code == "blank_page"  # read to the end: every page was blank
    assert peak < 2 * page_bytes, f"{peak / 1e6:.0f} MB traced at once for pages of {page_bytes / 1e6:.0f} MB"


def test_peak_memory_reading_four_pages_of_110_megapixels(tmp_path: Path) -> None:
    """The 578-byte 4-page PDF of 110-megapixel pages, taken and read in a fresh process, stays under 1.2 GB."""
    p = tmp_path / "4x110mp.pdf"
    p.write_bytes(pdf_bomb([(side_pt(110),) * 2] * 4))
    assert len(p.read_bytes()) < 700
    # The watchdog kills the process at twice the bound, so that code holding every page fails the
    # test instead of exhausting the machine.
    row = measure(p, REPO, ceiling_mb=2 * READ_BOUND_MB)
    assert row.get("intake") == "accepted", row
    assert row["read"] == ["quarantined"] and row["codes"] == ["blank_page"], row  # read to the end
    assert row["peak_rss_mb"] < READ_BOUND_MB, row
