"""Printing a template: the blank A4 form as PDF, and the same page as a raster master for the reader.

Everything drawn here comes from :mod:`formkit.layout`; guides the reader should not see (zone frames,
comb cells, tick boxes) are drawn in the template's drop-out colour, everything a person must read
(labels, units, option words) in black.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from core.errors import TemplateError
from formkit import idcode
from formkit.fonts import FORM_FONT, reportlab_font
from formkit.kinds import Shape
from formkit.layout import (
    SEAL_CAPTION,
    SEAL_CAPTION_MM,
    FieldLayout,
    example_stamp_box,
    header_boxes,
    id_cells,
    id_text_box,
    layout,
    line_bands,
    mark_boxes,
    seal_box,
)
from formkit.model import Box, Template

LABEL_SHADE = Color(0.93, 0.93, 0.93)
PT_PER_MM = mm


class Pen:
    """Draws in template millimetres (origin top-left) on a reportlab canvas (origin bottom-left)."""

    def __init__(self, canvas: Canvas, page_h_mm: float) -> None:
        self.c = canvas
        self.page_h = page_h_mm

    def rect(
        self, box: Box, *, stroke: Color | None = black, fill: Color | None = None, width: float = 0.5
    ) -> None:
        c = self.c
        if stroke is not None:
            c.setStrokeColor(stroke)
            c.setLineWidth(width)
        if fill is not None:
            c.setFillColor(fill)
        c.rect(
            box.x * mm,
            (self.page_h - box.y2) * mm,
            box.w * mm,
            box.h * mm,
            stroke=1 if stroke is not None else 0,
            fill=1 if fill is not None else 0,
        )

    def text(
        self,
        s: str,
        box: Box,
        *,
        size: float = 9.0,
        font: str = FORM_FONT,
        align: str = "left",
        color: Color = black,
        fit: bool = True,
    ) -> None:
        """One line of text, vertically centred in ``box``, shrunk to fit its width."""
        name = reportlab_font(font)
        if fit:
            width = stringWidth(s, name, size)
            if width > box.w * mm and width > 0:
                size = size * (box.w * mm) / width
        c = self.c
        c.setFillColor(color)
        c.setFont(name, size)
        y = (self.page_h - box.y - box.h / 2) * mm - size * 0.35
        if align == "center":
            c.drawCentredString((box.x + box.w / 2) * mm, y, s)
        elif align == "right":
            c.drawRightString(box.x2 * mm, y, s)
        else:
            c.drawString(box.x * mm, y, s)

    def line(
        self, x1: float, y1: float, x2: float, y2: float, *, color: Color = black, width: float = 0.5
    ) -> None:
        self.c.setStrokeColor(color)
        self.c.setLineWidth(width)
        self.c.line(x1 * mm, (self.page_h - y1) * mm, x2 * mm, (self.page_h - y2) * mm)


def draw_frame(pen: Pen, tpl: Template) -> None:
    """Registration marks and the form-ID strip: the part every dejiru form shares."""
    for box in mark_boxes(tpl):
        pen.rect(box, stroke=None, fill=black)
    assert tpl.code is not None, "only redesigned forms carry a form-ID strip"
    bits = idcode.encode(tpl.code, tpl.version)
    cells = id_cells()
    for bit, cell in zip(bits, cells, strict=True):
        if bit:
            pen.rect(cell, stroke=None, fill=black)
    pen.text(f"様式ID {tpl.code}-{tpl.version:02d}  {tpl.id}", id_text_box(), size=6)


def default_instructions(tpl: Template) -> str:
    """The instruction line printed when a redesigned template gives none, from the fields it has."""
    kinds = [f.kind for f in tpl.fields]
    parts = ["黒または青のボールペンで枠の中に書いてください。"]
    if any(f.kind.in_cells(f) for f in tpl.fields):
        parts.append("カナと数字は1マスに1字。")
    if any(k.shape in (Shape.TICK, Shape.TICKS) for k in kinds):
        parts.append("□は該当するものに✓。")
    if any(k.shape is Shape.CIRCLE for k in kinds):
        parts.append("選択肢は○で囲んでください。")
    if any(f.required for f in tpl.fields):
        parts.append("※は必須。")
    return "".join(parts)


def draw_field(pen: Pen, lay: FieldLayout, dropout: Color) -> None:
    spec = lay.spec
    pen.rect(lay.label_box, stroke=black, fill=LABEL_SHADE, width=0.4)
    label_h = lay.label_box.h if not spec.hint else lay.label_box.h * 0.62
    pen.text(
        spec.label + ("※" if spec.required else ""),
        Box(x=lay.label_box.x + 1.5, y=lay.label_box.y, w=lay.label_box.w - 3, h=label_h),
        size=9.5,
    )
    if spec.hint:
        hb = lay.label_box
        pen.text(spec.hint, Box(x=hb.x + 1.5, y=hb.y + hb.h * 0.55, w=hb.w - 3, h=hb.h * 0.4), size=6)
    framed = spec.kind.shape not in (Shape.TICKS, Shape.CIRCLE, Shape.TICK)
    if framed and not lay.cells and not lay.parts and spec.pieces:  # boxes, the separator between
        for i, piece in enumerate(spec.pieces):
            pen.rect(piece, stroke=dropout, width=0.8)
            if i and piece.x - spec.pieces[i - 1].x2 >= 2.0:
                gap = Box(x=spec.pieces[i - 1].x2, y=piece.y, w=piece.x - spec.pieces[i - 1].x2, h=piece.h)
                pen.text(spec.joiner, gap, size=9.5, align="center")
    elif framed and not lay.cells and not lay.parts:
        pen.rect(lay.zone, stroke=dropout, width=0.8)
        for band in line_bands(spec)[1:]:  # the writing lines of a field on several lines
            pen.line(band.x, band.y, band.x2, band.y, color=dropout, width=0.5)
    for cell in lay.cells:
        pen.rect(cell, stroke=dropout, width=0.8)
    for cells in lay.parts.values():
        for cell in cells:
            pen.rect(cell, stroke=dropout, width=0.8)
    for t in lay.texts:
        pen.text(t.text, t.box, size=9.5)
    for m in lay.marks:
        if spec.kind.shape is Shape.CIRCLE:
            if m.label is not None:
                pen.text(m.label.text, m.label.box, size=10, align="center")
        else:
            pen.rect(m.box, stroke=dropout, width=1.0)
            if m.label is not None:
                pen.text(m.label.text, m.label.box, size=9)


def draw_template(canvas: Canvas, tpl: Template) -> None:
    pen = Pen(canvas, tpl.page.height_mm)
    dropout = HexColor(tpl.dropout_color)
    draw_frame(pen, tpl)
    head = header_boxes(tpl)
    pen.text(tpl.title, head["title"], size=17, align="center")
    if tpl.addressee:
        pen.text(tpl.addressee, head["addressee"], size=9, align="right")
    pen.text(tpl.instructions or default_instructions(tpl), head["instructions"], size=7.5)
    for st in tpl.static:
        if st.shade or st.frame:
            pen.rect(
                st.box, stroke=black if st.frame else None, fill=LABEL_SHADE if st.shade else None, width=0.4
            )
        inner = st.box.inset(1.2) if st.frame else st.box
        pen.text(st.text, inner, size=st.size, align=st.align)
    for lay in layout(tpl):
        draw_field(pen, lay, dropout)


#: The 記入例 stamp's red: a counter sample must never pass for a filled-in application.
EXAMPLE_RED = Color(0.85, 0.1, 0.12)


def draw_example_stamp(canvas: Canvas, tpl: Template) -> None:
    """A red framed 「記入例」 (EXAMPLE) stamp, for the sheet staff put on the counter."""
    pen = Pen(canvas, tpl.page.height_mm)
    box = example_stamp_box(tpl)
    pen.rect(box, stroke=EXAMPLE_RED, width=2.0)
    top = Box(x=box.x, y=box.y + 0.8, w=box.w, h=box.h * 0.6)
    pen.text("記入例", top, size=22, align="center", color=EXAMPLE_RED)
    bottom = Box(x=box.x, y=box.y + box.h * 0.66, w=box.w, h=box.h * 0.28)
    pen.text("EXAMPLE", bottom, size=7, align="center", color=EXAMPLE_RED)


def draw_master(canvas: Canvas, tpl: Template, dpi: float = 300) -> None:
    """A legacy form's published blank as the page background (pre-filled and example sheets)."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    img = Image.fromarray(np.array(master_image(tpl, dpi / 25.4)))
    canvas.drawImage(ImageReader(img), 0, 0, width=tpl.page.width_mm * mm, height=tpl.page.height_mm * mm)


def render_pdf(tpl: Template, *, overlay: Callable[[Canvas], None] | None = None) -> bytes:
    """The printable blank form as PDF bytes; ``overlay`` may draw on top (used by fill and samples).

    A legacy form is printed as published: its master file (overlays are composited by the caller).
    """
    if tpl.legacy and overlay is None:
        return legacy_master_pdf(tpl)
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=(tpl.page.width_mm * mm, tpl.page.height_mm * mm))
    canvas.setTitle(f"{tpl.title} ({tpl.id} v{tpl.version})")
    canvas.setCreator("dejiru")
    canvas.setFillColor(white)
    if not tpl.legacy:
        draw_template(canvas, tpl)
    if overlay is not None:
        overlay(canvas)
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def legacy_master_pdf(tpl: Template) -> bytes:
    from formkit.registry import master_path

    path = master_path(tpl)
    if path.suffix.lower() == ".pdf":
        return path.read_bytes()
    buf = io.BytesIO()
    from PIL import Image

    Image.open(path).convert("RGB").save(buf, "PDF", resolution=300)
    return buf.getvalue()


def rasterize_pdf(
    pdf: bytes, px_per_mm: float, page_w_mm: float, page: int = 0, transparent: bool = False
) -> np.ndarray:
    """One page of a PDF as an RGB array (RGBA if ``transparent``) at ``px_per_mm`` (pdfium)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        pg = doc[page]
        scale = px_per_mm * page_w_mm / pg.get_width()
        if transparent:
            bitmap = pg.render(scale=scale, fill_color=(255, 255, 255, 0))
            return np.array(bitmap.to_pil().convert("RGBA"))
        bitmap = pg.render(scale=scale)
        return np.array(bitmap.to_pil().convert("RGB"))
    finally:
        doc.close()


def _blank(tpl: Template, px_per_mm: float) -> np.ndarray:
    if not tpl.legacy:
        return rasterize_pdf(render_pdf(tpl), px_per_mm, tpl.page.width_mm)
    from formkit.registry import master_path

    return master_file_image(master_path(tpl), tpl, px_per_mm)


def master_file_image(path: Path, tpl: Template, px_per_mm: float) -> np.ndarray:
    """A legacy form's blank master read from ``path`` (a PDF page or an image), at ``px_per_mm`` on
    the template's page: what :func:`master_image` gives once the template is installed."""
    size = (round(tpl.page.width_mm * px_per_mm), round(tpl.page.height_mm * px_per_mm))
    if path.suffix.lower() == ".pdf":
        img = rasterize_pdf(path.read_bytes(), px_per_mm, tpl.page.width_mm, page=tpl.master_page - 1)
    else:
        from PIL import Image

        img = np.array(Image.open(path).convert("RGB"))
    if img.shape[1] != size[0] or img.shape[0] != size[1]:
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return img


@lru_cache(maxsize=16)
def _master(tpl_key: str, tpl_json: str, px_per_mm: float) -> np.ndarray:
    tpl = Template.model_validate_json(tpl_json)
    img = _blank(tpl, px_per_mm)
    img.setflags(write=False)
    return img


def master_image(tpl: Template, px_per_mm: float) -> np.ndarray:
    """The blank form as the reader's reference image (cached per process and resolution)."""
    return _master(tpl.key, tpl.model_dump_json(), px_per_mm)


#: Error correction of the seal's QR: at least L (7 %), in the smallest version the data fits at L,
#: raised by segno as far as the data leaves room in that version. On a 21 mm seal the module size,
#: not the correction, decides whether a fax (0.25 mm lines) or a phone photo reads: a version less
#: is 8 % bigger modules: of 12 住民票 slips at 200 dpi, M read 8 faxes and 10 phone photos, L 11 and 12.
#: A seal the scan damaged beyond repair is read as paper, every field before a person.
SEAL_ERROR = "l"
#: Quiet-zone modules drawn inside the seal's square; the square's clearance from anything printed
#: (``SEAL_CLEAR_MM``, six modules and more) gives the rest of the four a reader needs.
SEAL_BORDER = 1
#: A module smaller than this is lost at 200 dpi: refuse to print rather than print a dud.
SEAL_MIN_MODULE_MM = 0.25


def seal_modules(text: str, error: str = SEAL_ERROR) -> list[list[bool]]:
    """The seal's QR as rows of dark (True) modules, without its quiet zone (segno)."""
    import segno

    qr = segno.make(text, error=error, micro=False)
    return [[bool(v) for v in row] for row in qr.matrix_iter(scale=1, border=0)]


def draw_seal(
    canvas: Canvas, tpl: Template, text: str, *, box: Box | None = None, error: str = SEAL_ERROR
) -> Box:
    """The counter slip's signed QR (:mod:`formkit.seal`) in :func:`~formkit.layout.seal_box`: black
    on white with its quiet zone, filling the box's square, and the caption 「窓口で作成（署名付きQR）」
    in the band under it; returns where the QR's modules lie (mm). Each row's dark runs go into one
    path, filled at once: no hairline seams between modules for a scanner to see.

    A text too long for the room (modules under ``SEAL_MIN_MODULE_MM``) is a :class:`TemplateError`
    naming the form: it needs more room, or the seal fewer values."""
    box = box or seal_box(tpl)
    rows = seal_modules(text, error)
    n = len(rows)
    side = min(box.w, box.h - SEAL_CAPTION_MM)
    module = side / (n + 2 * SEAL_BORDER)
    if module < SEAL_MIN_MODULE_MM:
        raise TemplateError(
            f"様式 {tpl.id} の署名付きQRが小さすぎます（1セル {module:.2f}mm、{SEAL_MIN_MODULE_MM}mm 以上が必要）",
            f"the signed QR of form {tpl.id} would be too small to scan ({module:.2f} mm modules, "
            f"{SEAL_MIN_MODULE_MM} mm needed)",
            detail=f"{n} modules in a {side:.1f} mm square",
        )
    pen = Pen(canvas, tpl.page.height_mm)
    quiet = Box(x=box.x + (box.w - side) / 2, y=box.y, w=side, h=side)
    pen.rect(quiet, stroke=None, fill=white)
    x0, y0 = quiet.x + SEAL_BORDER * module, quiet.y + SEAL_BORDER * module
    path = canvas.beginPath()
    for r, row in enumerate(rows):
        c = 0
        while c < n:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < n and row[c]:
                c += 1
            top = pen.page_h - (y0 + (r + 1) * module)
            path.rect((x0 + start * module) * mm, top * mm, (c - start) * module * mm, module * mm)
    canvas.setFillColor(black)
    canvas.drawPath(path, stroke=0, fill=1)
    caption = Box(x=box.x, y=quiet.y2, w=box.w, h=box.y2 - quiet.y2)
    pen.text(SEAL_CAPTION, caption, size=5.5, align="center")
    return Box(x=x0, y=y0, w=n * module, h=n * module)
