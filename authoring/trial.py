"""Authoring kit: try a template on real scans (``dejiru template try``).

Each page of each scan is aligned and read with the real reader and validated exactly as in
production; the results become a :class:`authoring.report.PageResult` per page. A page that cannot be
read (another form, no marks, a broken file) becomes a page with its reason, never an exception that
loses the rest of the report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from authoring.report import FieldRow, PageResult, tryout_html
from core import progress
from core.errors import DejiruError
from formkit.model import Template
from ocr.align import Aligned
from validation.checks import masked_reading
from validation.display import described

log = logging.getLogger(__name__)

#: Width of the overlay picture embedded in the report (about 150 dpi for A4).
OVERLAY_WIDTH_PX = 1240
#: Grey above this (in every channel) is paper.
PAPER_LEVEL = 200


def _paper_white(aligned: Aligned) -> Aligned:
    """The aligned page with near-white paper made white: scan noise would make the picture ten
    times larger in the report and show nothing."""
    img = aligned.image.copy()
    img[img.min(axis=2) > PAPER_LEVEL] = 255
    return dataclasses.replace(aligned, image=img)


def _png(rgb: np.ndarray) -> bytes:
    """A report-sized PNG (about 100-200 KB for an A4 page)."""
    h, w = rgb.shape[:2]
    if w > OVERLAY_WIDTH_PX:
        rgb = cv2.resize(
            rgb, (OVERLAY_WIDTH_PX, round(h * OVERLAY_WIDTH_PX / w)), interpolation=cv2.INTER_AREA
        )
    buf = io.BytesIO()
    Image.fromarray(rgb).quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def try_page(
    tpl: Template,
    image: Any,
    source: str,
    page: int,
    *,
    engine: str | None = None,
    today: dt.date | None = None,
) -> PageResult:
    """Align, read and validate one page image against ``tpl``; failures become the page's reason."""
    from ocr.overlay import render_overlay
    from ocr.reader import read_page
    from validation.routing import validate

    try:
        reading, aligned = read_page(image, form_id=tpl.id, engine=engine, templates=[tpl])
        validate(tpl, reading, today)
        picture = _png(render_overlay(_paper_white(aligned), masked_reading(tpl, reading)))
    except DejiruError as err:
        return PageResult(source, page, error=(err.ja, err.en, err.detail))
    except Exception as exc:  # a template under construction may break the reader: say so, go on
        log.exception("try-out of %s p.%d failed", source, page)
        return PageResult(
            source,
            page,
            error=("予期しないエラーで読み取れませんでした", "unexpected error while reading", repr(exc)),
        )
    rows = [
        FieldRow(
            name=spec.name,
            label=spec.label,
            value=described(spec, f.value),
            confidence=float(f.confidence),
            reasons=[(r.ja, r.en) for r in f.reasons],
            needs_review=f.needs_review,
        )
        for spec in tpl.fields
        if (f := reading.fields.get(spec.name)) is not None
    ]
    note = f"{reading.engine}、回転 {reading.rotation}°、印刷の一致 {reading.print_match:.2f}"
    return PageResult(source, page, form=f"{tpl.id} v{tpl.version}", image_png=picture, rows=rows, note=note)


def try_scans(
    tpl: Template, scans: list[Path], *, engine: str | None = None, today: dt.date | None = None
) -> list[PageResult]:
    """Every page of every scan (PDF page by page, TIFF frame by frame) read against ``tpl``."""
    from ocr.pages import iter_pages

    results: list[PageResult] = []
    expected = [_pages_expected(path) for path in scans]
    with progress.task("試し読み / trying the template", total=sum(expected)) as bar:
        for path, pages in zip(scans, expected, strict=True):
            done = 0
            try:
                for pg in iter_pages(path):
                    results.append(
                        try_page(tpl, pg.image, path.name, pg.index + 1, engine=engine, today=today)
                    )
                    done += 1
                    bar.advance()
            except DejiruError as err:
                results.append(PageResult(path.name, done + 1, error=(err.ja, err.en, err.detail)))
            bar.advance(max(pages - done, 0))  # a refused file is done with whatever it had left
    return results


def _pages_expected(path: Path) -> int:
    """The pages a file should have, from its header only, for the progress total: a folder of
    one-page scans and one 50-page PDF both show how far the try-out got. A file that cannot say
    counts as one page; reading it tells why (a page of its own in the report)."""
    from ocr.pages import page_count

    try:
        return page_count(path)
    except Exception:  # only an estimate: iter_pages refuses the file with the real reason
        return 1


def write_tryout(
    tpl: Template,
    scans: list[Path],
    out: Path,
    *,
    engine: str | None = None,
    today: dt.date | None = None,
) -> list[PageResult]:
    """Read the scans and write the one-file HTML report; returns the pages for a summary."""
    pages = try_scans(tpl, scans, engine=engine, today=today)
    title = f"{tpl.title}（{tpl.id} v{tpl.version}）"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(tryout_html(title, pages), encoding="utf-8")
    return pages
