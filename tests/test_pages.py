"""Bad input gets a clear, typed refusal; good input in every format becomes pages."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from core.errors import EncryptedPdf, TooLarge, UnreadableFile, UnsupportedFileType
from ocr import pages
from ocr.pages import load_pages, page_count


def png_bytes(w: int = 400, h: int = 300) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 200, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def pdf_bytes(n: int = 1, encrypt: bool = False) -> bytes:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, encrypt=StandardEncryption("user", "owner", strength=128) if encrypt else None)
    for i in range(n):
        c.drawString(100, 700, f"page {i + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "error", "words"),
    [
        ("empty.pdf", b"", UnreadableFile, "空"),
        ("truncated.pdf", pdf_bytes()[:300], UnreadableFile, "壊れて"),
        ("garbage.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 50, UnreadableFile, "壊れて"),
        ("encrypted.pdf", pdf_bytes(encrypt=True), EncryptedPdf, "パスワード"),
        ("report.pdf", b"PK\x03\x04" + b"\x00" * 200, UnsupportedFileType, "Office"),
        ("notes.png", "住所メモ".encode() * 10, UnsupportedFileType, "以外"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path, name, data, error, words) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(error) as err:
        load_pages(p)
    assert words in err.value.ja and err.value.en


def test_truncated_images(tmp_path) -> None:
    for suffix, fmt in [(".png", "PNG"), (".jpg", "JPEG"), (".tif", "TIFF")]:
        buf = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (400, 300, 3), dtype=np.uint8)).save(
            buf, fmt
        )
        p = tmp_path / f"cut{suffix}"
        p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
        with pytest.raises(UnreadableFile):
            load_pages(p)


def test_docx_renamed_pdf(tmp_path) -> None:
    p = tmp_path / "申請書.pdf"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(UnsupportedFileType) as err:
        page_count(p)
    assert "Office" in err.value.ja


def test_tiny_image(tmp_path) -> None:
    p = tmp_path / "dot.png"
    Image.new("RGB", (1, 1)).save(p)
    with pytest.raises(UnreadableFile) as err:
        load_pages(p)
    assert "小さすぎ" in err.value.ja


def test_decompression_bomb(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(pages, "MAX_PIXELS", 1_000_000)
    p = tmp_path / "bomb.png"
    Image.new("1", (4000, 4000)).save(p)  # tiny file, 16 megapixels
    assert p.stat().st_size < 100_000
    with pytest.raises(TooLarge):
        load_pages(p)


def test_too_many_pages(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(pages, "MAX_PAGES", 5)
    p = tmp_path / "big.pdf"
    p.write_bytes(pdf_bytes(6))
    with pytest.raises(TooLarge) as err:
        load_pages(p)
    assert "6" in err.value.ja


def test_multipage_tiff_and_fax_resolution(tmp_path) -> None:
    frames = [Image.fromarray(np.full((110, 172, 3), v, np.uint8)) for v in (50, 150)]
    p = tmp_path / "fax.tif"
    frames[0].save(p, save_all=True, append_images=frames[1:], dpi=(200, 100))
    got = load_pages(p)
    assert len(got) == 2 and got[1].image.mean() > 100
    assert got[0].image.shape[:2] == (220, 172)  # 100 dpi rows doubled to square pixels


def test_pdf_pages_render(tmp_path) -> None:
    p = tmp_path / "two.pdf"
    p.write_bytes(pdf_bytes(2))
    got = load_pages(p)
    assert len(got) == 2
    assert abs(got[0].image.shape[1] - 2480) <= 1  # reportlab's default page is A4: 210 mm at 300 dpi
