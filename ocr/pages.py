"""Pages from files: PDF, TIFF (multi-page), JPEG and PNG → RGB arrays, with clear refusals.

Everything a scanner, a fax server or a phone may hand us passes through here, so every failure of
the lower libraries (pdfium, Pillow) is mapped to a typed error a clerk can read. Nothing here
writes or changes the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, ImageSequence

from dejiru.errors import EncryptedPdf, TooLarge, UnreadableFile, UnsupportedFileType

PDF_DPI = 300


def _limit(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


MAX_BYTES = _limit("DEJIRU_MAX_FILE_MB", 200) * 1024 * 1024
MAX_PAGES = _limit("DEJIRU_MAX_PAGES", 50)
MAX_PIXELS = _limit("DEJIRU_MAX_MEGAPIXELS", 120) * 1_000_000


@dataclass(frozen=True)
class Page:
    index: int
    image: np.ndarray  # RGB uint8, square pixels
    dpi: float | None


def sniff(head: bytes) -> str | None:
    """The file's real kind from its first bytes (extensions lie: a .docx renamed .pdf)."""
    if head.startswith(b"%PDF") or b"%PDF" in head[:1024]:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def _describe(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "Office文書またはZIP (Office document or ZIP)"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "古い形式のOffice文書 (legacy Office document)"
    if head.lstrip().startswith((b"<", b"{")):
        return "テキスト/HTML (text or HTML)"
    return "不明 (unknown)"


def file_kind(path: Path) -> str:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(2048)
    except PermissionError as exc:
        raise UnreadableFile(
            "ファイルを開く権限がありません", "no permission to read the file", detail=path.name
        ) from exc
    except OSError as exc:
        raise UnreadableFile(
            "ファイルを読み込めません", "the file cannot be read", detail=f"{path.name}: {exc}"
        ) from exc
    if size == 0:
        raise UnreadableFile("ファイルが空です（0バイト）", "the file is empty (0 bytes)", detail=path.name)
    if size > MAX_BYTES:
        raise TooLarge(
            f"ファイルが大きすぎます（{size // 1048576} MB、上限 {MAX_BYTES // 1048576} MB）",
            f"file too large ({size // 1048576} MB, limit {MAX_BYTES // 1048576} MB)",
            detail=path.name,
        )
    kind = sniff(head)
    if kind is None:
        raise UnsupportedFileType(
            f"PDF・TIFF・JPEG・PNG 以外のファイルです（中身: {_describe(head)}）",
            f"not a PDF, TIFF, JPEG or PNG file (content: {_describe(head)})",
            detail=path.name,
        )
    return kind


def _square(img: Image.Image) -> tuple[Image.Image, float | None]:
    """Resample faxes (e.g. 200×100 dpi) to square pixels so geometry means the same in x and y."""
    dpi = img.info.get("dpi")
    if not dpi or len(dpi) != 2 or not dpi[0] or not dpi[1]:
        return img, None
    xd, yd = float(dpi[0]), float(dpi[1])
    if abs(xd - yd) / max(xd, yd) > 0.05:
        img = img.resize((img.width, round(img.height * xd / yd)), Image.Resampling.BILINEAR)
    return img, xd


def _rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("RGBA", "LA", "P"):
        base = Image.new("RGB", img.size, (255, 255, 255))
        rgba = img.convert("RGBA")
        base.paste(rgba, mask=rgba.split()[-1])
        return np.array(base)
    return np.array(img.convert("RGB"))


def _image_pages(path: Path) -> Iterator[Page]:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(path) as im:
            n = getattr(im, "n_frames", 1)
            if n > MAX_PAGES:
                raise TooLarge(
                    f"ページ数が多すぎます（{n}ページ、上限 {MAX_PAGES}）",
                    f"too many pages ({n}, limit {MAX_PAGES})",
                    detail=path.name,
                )
            for i, frame in enumerate(ImageSequence.Iterator(im)):
                frame.load()
                if frame.width < 100 or frame.height < 100:
                    raise UnreadableFile(
                        f"画像が小さすぎます（{frame.width}×{frame.height}ピクセル）",
                        f"image too small ({frame.width}×{frame.height} px)",
                        detail=path.name,
                    )
                oriented = ImageOps.exif_transpose(frame) if i == 0 else frame
                squared, dpi = _square(oriented or frame)
                yield Page(i, _rgb(squared), dpi)
    except Image.DecompressionBombError as exc:
        raise TooLarge(
            "画像の画素数が多すぎます（圧縮爆弾の疑い）",
            "image has too many pixels (decompression bomb?)",
            detail=f"{path.name}: {exc}",
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableFile(
            "画像ファイルが壊れているか途中で切れています",
            "the image file is corrupt or truncated",
            detail=f"{path.name}: {exc}",
        ) from exc


def _pdf_open(path: Path):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise EncryptedPdf(
                "PDFにパスワードがかかっています。パスワードなしで保存し直してください",
                "the PDF is password-protected: save it again without a password",
                detail=path.name,
            ) from exc
        raise UnreadableFile(
            "PDFファイルが壊れているか途中で切れています",
            "the PDF file is corrupt or truncated",
            detail=f"{path.name}: {exc}",
        ) from exc


def page_count(path: Path) -> int:
    kind = file_kind(path)
    if kind == "pdf":
        doc = _pdf_open(path)
        try:
            return len(doc)
        finally:
            doc.close()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1))
    except Image.DecompressionBombError as exc:
        raise TooLarge(
            "画像の画素数が多すぎます（圧縮爆弾の疑い）",
            "image has too many pixels (decompression bomb?)",
            detail=path.name,
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableFile(
            "画像ファイルが壊れています", "the image file is corrupt", detail=f"{path.name}: {exc}"
        ) from exc


def check_file(path: Path) -> int:
    """Everything that can be said of a file without reading its pages: type, size, encryption and
    page count against the limits. Returns the number of pages."""
    n = page_count(path)
    if n == 0:
        raise UnreadableFile("ページがありません", "the file has no pages", detail=path.name)
    if n > MAX_PAGES:
        raise TooLarge(
            f"ページ数が多すぎます（{n}ページ、上限 {MAX_PAGES}）。分けて入れてください",
            f"too many pages ({n}, limit {MAX_PAGES}): split the file",
            detail=path.name,
        )
    return n


def _pdf_pages(path: Path, dpi: int) -> Iterator[Page]:
    import pypdfium2 as pdfium

    doc = _pdf_open(path)
    try:
        n = len(doc)
        if n == 0:
            raise UnreadableFile("PDFにページがありません", "the PDF has no pages", detail=path.name)
        if n > MAX_PAGES:
            raise TooLarge(
                f"ページ数が多すぎます（{n}ページ、上限 {MAX_PAGES}）。分けて入れてください",
                f"too many pages ({n}, limit {MAX_PAGES}): split the file",
                detail=path.name,
            )
        for i in range(n):
            page = doc[i]
            w_pt, h_pt = page.get_size()
            px = (w_pt * dpi / 72) * (h_pt * dpi / 72)
            if px > MAX_PIXELS:
                raise TooLarge(
                    "PDFのページが大きすぎます", "a PDF page is too large", detail=f"{path.name} p.{i + 1}"
                )
            try:
                image = np.array(page.render(scale=dpi / 72).to_pil().convert("RGB"))
            except pdfium.PdfiumError as exc:
                image = _poppler_page(path, i, dpi, exc)
            yield Page(i, image, float(dpi))
    finally:
        doc.close()


def _poppler_page(path: Path, index: int, dpi: int, cause: Exception) -> np.ndarray:
    """Second opinion from poppler (pdf2image) for a page pdfium cannot draw.

    pdfium renders about 4x faster here and is the default; poppler is more forgiving of some broken
    PDFs that scanners and old office software produce.
    """
    try:
        from pdf2image import convert_from_path

        pages = convert_from_path(str(path), dpi=dpi, first_page=index + 1, last_page=index + 1)
        return np.array(pages[0].convert("RGB"))
    except Exception as exc:  # pdf2image raises several untyped errors
        raise UnreadableFile(
            "PDFのページを描画できません",
            "a PDF page cannot be rendered",
            detail=f"{path.name} p.{index + 1}: {cause}; poppler: {exc}",
        ) from exc


def iter_pages(path: Path, dpi: int = PDF_DPI) -> Iterator[Page]:
    """Each page of the file as an RGB array; raises a typed InputError for anything unusable."""
    kind = file_kind(path)
    if kind == "pdf":
        yield from _pdf_pages(path, dpi)
    else:
        yield from _image_pages(path)


def load_pages(path: Path, dpi: int = PDF_DPI) -> list[Page]:
    return list(iter_pages(path, dpi))
