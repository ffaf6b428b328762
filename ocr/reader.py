"""Reading a page: align it to its template, cut every zone, recognise all crops in one batch.

``ocr`` knows nothing of databases or Prefect: a page image goes in, a :class:`PageReading` comes out.
"""

from __future__ import annotations

import time
from functools import lru_cache

import cv2
import numpy as np

from formkit.layout import layout
from formkit.model import Template
from formkit.readings import FieldReading, PageReading
from formkit.render import master_image
from ocr.align import PX_PER_MM, Aligned, align
from ocr.ctc import Decoded, decode, decode_one, with_rivals
from ocr.engines import Recognizer, get_recognizer
from ocr.engines.base import CELL_MIN_WIDTH, LINE_MIN_WIDTH
from ocr.fields import Plan, PrintCover, Zones, on_print, planner, print_cover
from ocr.imaging import dropout, gray, printed_mask, printed_text

#: How far (px at PX_PER_MM) the blank form's print is grown before it is removed from a zone.
PRINT_GROW_PX = 4


@lru_cache(maxsize=16)
def _printed(tpl_key: str, tpl_json: str) -> np.ndarray:
    tpl = Template.model_validate_json(tpl_json)
    mask = printed_mask(gray(master_image(tpl, PX_PER_MM)), PRINT_GROW_PX)
    mask.setflags(write=False)
    return mask


def printed(tpl: Template) -> np.ndarray:
    return _printed(tpl.key, tpl.model_dump_json())


def print_covers(master_gray: np.ndarray, tpl: Template) -> dict[str, PrintCover]:
    """The fields of a legacy form whose zones cover its printed text (or an option box its print)
    too much to be read (:func:`ocr.fields.print_cover`), from its blank master at PX_PER_MM. A reading
    of such a field is never confident; ``dejiru template check`` warns of them."""
    text = printed_text(master_gray, PX_PER_MM, PRINT_GROW_PX)
    removed = printed_mask(master_gray, PRINT_GROW_PX)
    found = {lay.spec.name: print_cover(lay, text, removed, PX_PER_MM) for lay in layout(tpl)}
    return {name: c for name, c in found.items() if c is not None}


@lru_cache(maxsize=16)
def _covers(tpl_key: str, tpl_json: str) -> dict[str, PrintCover]:
    tpl = Template.model_validate_json(tpl_json)
    return print_covers(gray(master_image(tpl, PX_PER_MM)), tpl)


def covers(tpl: Template) -> dict[str, PrintCover]:
    """:func:`print_covers` of a legacy template, once per template; none on a redesigned form (dejiru
    prints it, with nothing of its own inside a zone but drop-out guides)."""
    return _covers(tpl.key, tpl.model_dump_json()) if tpl.legacy else {}


#: Where the darkest ink of a page is put after flattening (a crisp black pen on a good scan).
INK_BLACK = 40.0


def flatten(g: np.ndarray) -> np.ndarray:
    """White paper, black ink: divide out uneven lighting (shadows), then stretch a washed-out page.

    The background is estimated at 1/8 scale. A light photocopy or a faint pencil leaves the darkest
    ink at 130-170, below what the ink thresholds call ink; the page's own print (every form has
    plenty) tells how dark ink is on this page, and the contrast is stretched until it is black.
    """
    small = cv2.resize(g, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA)
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    bg = cv2.GaussianBlur(bg, (0, 0), 2)
    bg = cv2.resize(bg, (g.shape[1], g.shape[0]), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    flat = np.clip(g.astype(np.float32) / np.maximum(bg, 1.0) * 255.0, 0, 255)
    darkest = float(np.percentile(flat[::4, ::4], 0.3))
    if INK_BLACK < darkest < 200:
        flat = 255.0 - (255.0 - flat) * (255.0 - INK_BLACK) / (255.0 - darkest)
    return np.clip(flat, 0, 255).astype(np.uint8)


def recognise(rec: Recognizer, plans: list[Plan]) -> list[list[Decoded]]:
    crops = [c for p in plans for c in p.crops]
    probs: list[np.ndarray] = [np.empty(0)] * len(crops)
    # A digit comb cell is read at its own width (see CELL_MIN_WIDTH), the rest padded as text lines.
    for cell in (False, True):
        idx = [i for i, c in enumerate(crops) if c.digit_cell is cell]
        if idx:
            width = CELL_MIN_WIDTH if cell else LINE_MIN_WIDTH
            for i, pr in zip(idx, rec.probs([crops[i].image for i in idx], width), strict=True):
                probs[i] = pr
    decoded = []
    for c, pr in zip(crops, probs, strict=True):
        if c.single and c.allowed is not None:
            decoded.append(decode_one(pr, rec.classes, c.allowed))
        else:
            d = decode(pr, rec.classes, c.allowed)
            decoded.append(with_rivals(d, pr, rec.classes, c.watch) if c.watch else d)
    out, i = [], 0
    for p in plans:
        out.append(decoded[i : i + len(p.crops)])
        i += len(p.crops)
    return out


def read_aligned(
    aligned: Aligned, engine: str | None = None, recognizer: Recognizer | None = None
) -> PageReading:
    t0 = time.perf_counter()
    tpl = aligned.template
    rec = recognizer or get_recognizer(engine)
    page = flatten(dropout(aligned.image, aligned.color))
    zones = Zones(page, printed(tpl), PX_PER_MM)
    plans = [planner(lay)(lay, zones) for lay in layout(tpl)]
    over_print = covers(tpl)
    t1 = time.perf_counter()
    results = recognise(rec, plans)
    t2 = time.perf_counter()
    fields: dict[str, FieldReading] = {}
    for plan, decs in zip(plans, results, strict=True):
        assert plan.finish is not None
        reading = plan.finish(decs)
        if (cover := over_print.get(reading.name)) is not None:
            reading = on_print(reading, cover)  # what is written over the print is not seen
        fields[reading.name] = reading
    t3 = time.perf_counter()
    return PageReading(
        form=tpl.id,
        version=tpl.version,
        fields=fields,
        rotation=aligned.rotation,
        print_match=aligned.print_match,
        engine=rec.name,
        timings_ms={"zones": (t1 - t0) * 1000, "recognise": (t2 - t1) * 1000, "finish": (t3 - t2) * 1000},
    )


def read_page(
    img: np.ndarray,
    *,
    form_id: str | None = None,
    engine: str | None = None,
    templates: list[Template] | None = None,
) -> tuple[PageReading, Aligned]:
    """Identify, align and read one page image (RGB)."""
    t0 = time.perf_counter()
    aligned = align(img, templates, form_id)
    t1 = time.perf_counter()
    reading = read_aligned(aligned, engine)
    reading.timings_ms = {"align": (t1 - t0) * 1000, **reading.timings_ms}
    return reading, aligned
