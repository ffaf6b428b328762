"""The blank form as a file: one page of a PDF or an image, looked at at one known resolution so that
every threshold of the proposer (in millimetres) means the same on every form, and copied into the new
template's folder as its master."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from core.errors import TemplateError

#: Resolution the blank form is looked at when proposing (200 dpi, a usual office scan): PDF pages are
#: rendered and images resampled to it before the ruled lines are found and the labels read. Not the
#: reader's ``ocr.align.PX_PER_MM`` (10 px/mm, the scale a filled scan is warped to for reading zones)
#: nor the editor's background (4 px/mm): each is tuned for its own job, and changing this one changes
#: what OCR reads on the blank and so the proposal.
BLANK_PX_PER_MM = 200 / 25.4
A4_MM = (210.0, 297.0)


def load_blank(path: Path, page: int = 1) -> tuple[np.ndarray, tuple[float, float]]:
    """A blank form page as an RGB image at BLANK_PX_PER_MM, and the page size (mm). A PDF page is
    rendered; an image is taken at its recorded resolution, else as A4 (portrait or landscape)."""
    from PIL import Image

    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(path))
        try:
            if not 1 <= page <= len(doc):
                raise TemplateError(
                    f"{path.name} には {page} ページ目がありません（{len(doc)} ページ）",
                    f"{path.name} has no page {page} ({len(doc)} page(s))",
                )
            pg = doc[page - 1]
            size = (pg.get_width() * 25.4 / 72, pg.get_height() * 25.4 / 72)
            img = np.array(pg.render(scale=BLANK_PX_PER_MM * 25.4 / 72).to_pil().convert("RGB"))
        finally:
            doc.close()
        return img, size
    try:
        pil = Image.open(path)
        pil.seek(page - 1)
        rgb = pil.convert("RGB")
    except (OSError, EOFError) as exc:
        raise TemplateError(
            f"{path.name} を画像として読めません", f"cannot read {path.name} as an image", detail=str(exc)
        ) from exc
    dpi = pil.info.get("dpi", (0, 0))[0]
    if 50 <= float(dpi) <= 1200:
        size = (rgb.width * 25.4 / float(dpi), rgb.height * 25.4 / float(dpi))
    else:
        size = A4_MM if rgb.height >= rgb.width else (A4_MM[1], A4_MM[0])
    w, h = round(size[0] * BLANK_PX_PER_MM), round(size[1] * BLANK_PX_PER_MM)
    return np.array(rgb.resize((w, h), Image.Resampling.LANCZOS)), size


def save_master(source: Path, folder: Path, page: int = 1) -> str:
    """Copy the blank form into the template's folder: one PDF page as ``master.pdf``, an image as
    ``master.png``. Returns the file name for ``master:``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    if source.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        target = folder / "master.pdf"
        doc = pdfium.PdfDocument(str(source))
        try:
            if len(doc) == 1:
                if source.resolve() != target.resolve():
                    shutil.copyfile(source, target)
            else:  # the form's own page only
                one = pdfium.PdfDocument.new()
                one.import_pages(doc, [page - 1])
                one.save(str(target))
                one.close()
        finally:
            doc.close()
        return target.name
    target = folder / "master.png"
    with Image.open(source) as im:
        im.seek(page - 1)
        rgb = im.convert("RGB")
        dpi = im.info.get("dpi")
    rgb.save(target, "PNG", **({"dpi": dpi} if dpi else {}))
    return target.name


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
