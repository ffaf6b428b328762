"""Pages from files: PDF, TIFF (multi-page), JPEG and PNG → RGB arrays, with clear refusals.

Everything a scanner, a fax server or a phone may hand us passes through here, so every failure of
the lower libraries (pdfium, Pillow, poppler) is mapped to a typed error a clerk can read. Nothing
here writes or changes the file.

A file's size on disk says nothing about its size in memory: a 50 KB PNG can hold 237 megapixels and
a 600-byte PDF can ask for four pages of 110 megapixels each (security issue 11). So the pixel limit
is checked from what a header declares — image and frame dimensions, PDF page sizes × the render
resolution — before a single pixel is decoded (:func:`check_file`, which intake calls), and pages are
produced one at a time (:func:`iter_pages`, :func:`load_page`), never all at once, so memory follows
the largest page, not the page count.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from core.errors import EncryptedPdf, TooLarge, UnreadableFile, UnsupportedFileType
from core.settings import load_settings

PDF_DPI = 300


MAX_BYTES = load_settings().max_file_mb * 1024 * 1024
MAX_PAGES = load_settings().max_pages
#: Per page, as decoded (or as rendered, for PDF). An A3 sheet scanned at 600 dpi is about 70 MP, so
#: 120 MP leaves room for oversize scanners while one page stays near a gigabyte at worst.
MAX_PIXELS = load_settings().max_megapixels * 1_000_000

#: Pillow's parser for each sniffed kind: a file is parsed only as what its first bytes say it is.
_PIL_FORMATS = {"png": ["PNG"], "jpeg": ["JPEG"], "tiff": ["TIFF"]}


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


def _mp(pixels: float) -> str:
    return f"{pixels / 1e6:.1f}"


def _where(index: int, n: int) -> tuple[str, str]:
    """Which page, for a message: ``3ページ目:`` / ``page 3:`` in a multi-page file, nothing otherwise."""
    return (f"{index + 1}ページ目: ", f"page {index + 1}: ") if n > 1 else ("", "")


def _dpi(img: Image.Image) -> tuple[float, float] | None:
    dpi = img.info.get("dpi")
    if not dpi or len(dpi) != 2 or not dpi[0] or not dpi[1]:
        return None
    return float(dpi[0]), float(dpi[1])


def _squared_size(img: Image.Image) -> tuple[int, int]:
    """The size a page will have once its pixels are square (faxes are often 200×100 dpi).

    Read from the header alone, so that a modest image declaring 600×20 dpi — 30 times the rows once
    squared — is refused before it is stretched, not after.
    """
    dpi = _dpi(img)
    if dpi is None:
        return img.size
    xd, yd = dpi
    if abs(xd - yd) / max(xd, yd) > 0.05:
        return img.width, max(1, round(img.height * xd / yd))
    return img.size


def _square(img: Image.Image) -> tuple[Image.Image, float | None]:
    """Resample faxes (e.g. 200×100 dpi) to square pixels so geometry means the same in x and y."""
    dpi = _dpi(img)
    if dpi is None:
        return img, None
    size = _squared_size(img)
    if size != img.size:
        img = img.resize(size, Image.Resampling.BILINEAR)
    return img, dpi[0]


def _check_frame(path: Path, img: Image.Image, index: int, n: int) -> None:
    """Refuse a frame whose declared size is over the pixel limit; only the header has been read."""
    ja, en = _where(index, n)
    w, h = img.size
    limit = f"{MAX_PIXELS / 1e6:g}"
    if w * h > MAX_PIXELS:
        raise TooLarge(
            f"画像の画素数が多すぎます（{ja}{w}×{h}ピクセル = {_mp(w * h)}メガピクセル、上限 {limit}メガピクセル）。"
            "解像度を下げてスキャンし直してください",
            f"the image has too many pixels ({en}{w}×{h} px = {_mp(w * h)} megapixels, limit {limit}): "
            "scan it again at a lower resolution",
            detail=f"{path.name} p.{index + 1}",
        )
    sw, sh = _squared_size(img)
    if sw * sh > MAX_PIXELS:
        xd, yd = _dpi(img) or (0.0, 0.0)
        raise TooLarge(
            f"画像の画素数が多すぎます（{ja}縦横の解像度 {xd:.0f}×{yd:.0f} dpi をそろえると {sw}×{sh}ピクセル = "
            f"{_mp(sw * sh)}メガピクセル、上限 {limit}メガピクセル）。縦横同じ解像度でスキャンし直してください",
            f"the image has too many pixels ({en}{xd:.0f}×{yd:.0f} dpi made square is {sw}×{sh} px = "
            f"{_mp(sw * sh)} megapixels, limit {limit}): scan it again with the same resolution both ways",
            detail=f"{path.name} p.{index + 1}",
        )


def _pdf_pixels(path: Path, index: int, n: int, size_pt: tuple[float, float], dpi: int) -> tuple[int, int]:
    """The bitmap a PDF page would render to at ``dpi`` (as pypdfium2 sizes it), refused if too large."""
    w_pt, h_pt = size_pt
    ja, en = _where(index, n)
    if not (math.isfinite(w_pt) and math.isfinite(h_pt)) or w_pt * dpi / 72 < 1 or h_pt * dpi / 72 < 1:
        raise UnreadableFile(
            f"PDFのページの大きさが不正です（{ja}{w_pt}×{h_pt} pt）",
            f"a PDF page has an impossible size ({en}{w_pt}×{h_pt} pt)",
            detail=f"{path.name} p.{index + 1}",
        )
    w, h = math.ceil(w_pt * dpi / 72), math.ceil(h_pt * dpi / 72)
    if w * h > MAX_PIXELS:
        limit = f"{MAX_PIXELS / 1e6:g}"
        raise TooLarge(
            f"PDFのページが大きすぎます（{ja}{w_pt:.0f}×{h_pt:.0f} pt を {dpi} dpi で描画すると {w}×{h}ピクセル = "
            f"{_mp(w * h)}メガピクセル、上限 {limit}メガピクセル）。A4やA3の用紙サイズで保存し直してください",
            f"a PDF page is too large ({en}{w_pt:.0f}×{h_pt:.0f} pt at {dpi} dpi would be {w}×{h} px = "
            f"{_mp(w * h)} megapixels, limit {limit}): save it again at a paper size such as A4 or A3",
            detail=f"{path.name} p.{index + 1}",
        )
    return w, h


def _rgb(img: Image.Image) -> np.ndarray:
    """The page as an RGB array, with as few full-size intermediates as each mode allows: bilevel,
    grey and RGB scans are copied out band by band (see :func:`_bands`), other modes converted first."""
    if img.mode in ("RGBA", "LA", "P", "PA"):
        base = Image.new("RGB", img.size, (255, 255, 255))
        rgba = img.convert("RGBA")
        base.paste(rgba, mask=rgba.split()[-1])
        del rgba
        return _bands(base)
    if img.mode not in ("1", "L", "RGB"):
        img = img.convert("RGB")
    return _bands(img)


def _bands(img: Image.Image) -> np.ndarray:
    """``np.array(img.convert("RGB"))``, a band of rows at a time.

    Done at once, Pillow first copies the whole image (RGB at 4 bytes a pixel), then ``tobytes()``
    builds it again as bytes, which numpy copies once more: at 120 megapixels that is well over a
    gigabyte above the decoded image. A band at a time, the only full-size addition is the array.
    """
    w, h = img.size
    out = np.empty((h, w, 3), np.uint8)
    rows = max(1, (8 << 20) // (w * 3))  # about 8 MB a band
    for y in range(0, h, rows):
        band = img.crop((0, y, w, min(h, y + rows)))
        if band.mode == "1":
            band = band.convert("L")  # 0/255, as convert("RGB") gives each channel
        a = np.asarray(band)
        out[y : y + a.shape[0]] = a[:, :, None] if a.ndim == 2 else a
    return out


@contextmanager
def _pillow_errors(path: Path) -> Iterator[None]:
    """Pillow's many exceptions as the typed errors a clerk reads."""
    try:
        yield
    except Image.DecompressionBombError as exc:  # a backstop: our own checks come first
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


def _open_image(path: Path, kind: str) -> Any:
    """Pillow's lazy open: headers parsed, no pixel decoded. Pillow's own bomb check warns from
    ``MAX_IMAGE_PIXELS`` and only refuses at twice that, so it is a backstop here, never the limit."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    return Image.open(path, formats=_PIL_FORMATS[kind])


def _too_many_pages(path: Path, n: int) -> None:
    if n == 0:
        raise UnreadableFile("ページがありません", "the file has no pages", detail=path.name)
    if n > MAX_PAGES:
        raise TooLarge(
            f"ページ数が多すぎます（{n}ページ、上限 {MAX_PAGES}）。分けて入れてください",
            f"too many pages ({n}, limit {MAX_PAGES}): split the file",
            detail=path.name,
        )


def _pdf_open(path: Path) -> Any:
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
    with _pillow_errors(path), _open_image(path, kind) as im:
        return int(getattr(im, "n_frames", 1))


def _check_pdf(path: Path, dpi: int) -> int:
    import pypdfium2 as pdfium

    doc = _pdf_open(path)
    try:
        n = len(doc)
        _too_many_pages(path, n)
        for i in range(n):
            try:
                size = doc.get_page_size(i)  # the page dictionary only: nothing is drawn
            except pdfium.PdfiumError as exc:
                raise UnreadableFile(
                    "PDFのページが壊れています",
                    "a PDF page is corrupt",
                    detail=f"{path.name} p.{i + 1}: {exc}",
                ) from exc
            _pdf_pixels(path, i, n, size, dpi)
        return n
    finally:
        doc.close()


def _seek_reads_headers_only(kind: str) -> bool:
    """Whether finding frame k reads headers only: true of TIFF and multi-picture JPEG (MPO). An
    animated PNG's frames are drawn over one another on one canvas (checked with the first frame),
    so seeking one decodes every frame before it."""
    return kind != "png"


def _check_image(path: Path, kind: str) -> int:
    with _pillow_errors(path), _open_image(path, kind) as im:
        n = int(getattr(im, "n_frames", 1))
        _too_many_pages(path, n)
        _check_frame(path, im, 0, n)
        if _seek_reads_headers_only(kind):
            # Every frame of a TIFF (or a multi-picture JPEG) has its own size, read from its header.
            for i in range(1, n):
                im.seek(i)
                _check_frame(path, im, i, n)
        return n


def _check(path: Path, kind: str, dpi: int) -> int:
    return _check_pdf(path, dpi) if kind == "pdf" else _check_image(path, kind)


def check_file(path: Path, dpi: int = PDF_DPI) -> int:
    """Everything that can be said of a file without decoding a page: type, size, encryption, page
    count, and every page's pixels (from the image header or the PDF page size × ``dpi``) against the
    limits. Intake calls this, so a memory bomb is quarantined before anything tries to draw it.
    Returns the number of pages."""
    return _check(path, file_kind(path), dpi)


def _frame_page(path: Path, im: Any, index: int, n: int, *, own: bool) -> Page:
    """Decode the current frame of an open image into a page (its header is checked first).

    ``own``: the caller closes ``im`` right after, so the first frame may be turned upright in
    place rather than copied (a copy is one more full-size image in memory).
    """
    _check_frame(path, im, index, n)
    if im.width < 100 or im.height < 100:
        raise UnreadableFile(
            f"画像が小さすぎます（{im.width}×{im.height}ピクセル）",
            f"image too small ({im.width}×{im.height} px)",
            detail=path.name,
        )
    im.load()
    oriented = im
    if index == 0 and own:
        ImageOps.exif_transpose(im, in_place=True)
    elif index == 0:
        oriented = ImageOps.exif_transpose(im)
    squared, dpi = _square(oriented)
    del oriented
    return Page(index, _rgb(squared), dpi)


def _image_page(path: Path, kind: str, index: int, n: int) -> Page:
    """One frame, from a fresh open that is closed again: nothing of it stays behind in Pillow."""
    with _pillow_errors(path), _open_image(path, kind) as im:
        if index:
            im.seek(index)
        try:
            return _frame_page(path, im, index, n, own=True)
        finally:
            im.close()  # frees the decoded frame now, not when the garbage collector gets to it


def _image_pages(path: Path, kind: str, n: int) -> Iterator[Page]:
    if n == 1 or _seek_reads_headers_only(kind):
        # Each page decoded from its own open, so that nothing of it stays in Pillow once it is yielded.
        for i in range(n):
            yield _image_page(path, kind, i, n)
        return
    # Animated PNG: a frame builds on the one before; walk them in one open.
    with _pillow_errors(path), _open_image(path, kind) as im:
        for i in range(n):
            if i:
                im.seek(i)
            yield _frame_page(path, im, i, n, own=False)


def _pdf_page(doc: Any, path: Path, index: int, n: int, dpi: int) -> Page:
    """Render one PDF page straight into an RGB array; its size is checked before pdfium draws."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    page = doc[index]
    try:
        size = _pdf_pixels(path, index, n, page.get_size(), dpi)
        try:
            # A native bitmap: its pixels live in a Python-owned buffer, packed RGB, which the array
            # below keeps alive after close() (that releases pdfium's shell only). So the page costs
            # one buffer, not the three or four full copies a detour through PIL would make.
            bitmap = page.render(
                scale=dpi / 72,
                force_bitmap_format=pdfium_c.FPDFBitmap_BGR,
                rev_byteorder=True,
                bitmap_maker=pdfium.PdfBitmap.new_native,
            )
        except pdfium.PdfiumError as exc:
            return Page(index, _poppler_page(path, index, dpi, size, exc), float(dpi))
        image = bitmap.to_numpy()
        bitmap.close()
        if not image.flags.c_contiguous:  # never with a packed native buffer; cheap to make sure
            image = np.ascontiguousarray(image)
        return Page(index, image, float(dpi))
    finally:
        page.close()


def _pdf_pages(path: Path, dpi: int, n: int) -> Iterator[Page]:
    doc = _pdf_open(path)
    try:
        for i in range(n):
            yield _pdf_page(doc, path, i, n, dpi)
    finally:
        doc.close()


def _poppler_page(path: Path, index: int, dpi: int, size: tuple[int, int], cause: Exception) -> np.ndarray:
    """Second opinion from poppler (pdf2image) for a page pdfium cannot draw.

    pdfium renders about 4x faster here and is the default; poppler is more forgiving of some broken
    PDFs that scanners and old office software produce. Poppler is held to the bitmap size already
    checked from pdfium's page size: left to itself it draws the MediaBox, which a crafted page can
    make any size behind a small CropBox.
    """
    try:
        from pdf2image import convert_from_path

        pages = convert_from_path(
            str(path),
            dpi=dpi,
            first_page=index + 1,
            last_page=index + 1,
            use_cropbox=True,
            size=size,
        )
        img = pages[0]
        del pages
        if img.width * img.height > MAX_PIXELS:  # not with size=…; a last look at what came back
            raise ValueError(f"poppler drew {img.width}×{img.height} px, not {size[0]}×{size[1]}")
        return _rgb(img)
    except Exception as exc:  # pdf2image raises several untyped errors
        raise UnreadableFile(
            "PDFのページを描画できません",
            "a PDF page cannot be rendered",
            detail=f"{path.name} p.{index + 1}: {cause}; poppler: {exc}",
        ) from exc


def iter_pages(path: Path, dpi: int = PDF_DPI) -> Iterator[Page]:
    """Each page of the file as an RGB array, one at a time; raises a typed InputError for anything
    unusable. Every page's size is checked before the first one is decoded, and nothing of a page
    is kept once the next is asked for: memory follows the largest page, not the page count."""
    kind = file_kind(path)
    n = _check(path, kind, dpi)
    if kind == "pdf":
        yield from _pdf_pages(path, dpi, n)
    else:
        yield from _image_pages(path, kind, n)


def load_page(path: Path, index: int, dpi: int = PDF_DPI) -> Page | None:
    """Page ``index`` (0-based) alone, the whole file checked first; None if the file has no such page.

    A child document of a 50-page scan decodes its own page only, not the 49 others.
    """
    kind = file_kind(path)
    n = _check(path, kind, dpi)
    if not 0 <= index < n:
        return None
    if kind == "pdf":
        doc = _pdf_open(path)
        try:
            return _pdf_page(doc, path, index, n, dpi)
        finally:
            doc.close()
    if n == 1 or _seek_reads_headers_only(kind):
        return _image_page(path, kind, index, n)
    for page in _image_pages(path, kind, n):
        if page.index == index:
            return page
        del page
    return None


def load_pages(path: Path, dpi: int = PDF_DPI) -> list[Page]:
    """Every page at once: for tests and one-off tools on small files. Memory grows with the page
    count, so the pipeline never calls this; it streams with :func:`iter_pages` and :func:`load_page`."""
    return list(iter_pages(path, dpi))
