"""Is the paper still what was printed? A counter slip's scan against its expected print, field by field.

At the 書かない窓口 staff type the visitor's values, dejiru prints the form with them and with a signed
QR holding the same values (:mod:`formkit.seal`), and the visitor checks the slip, may correct a value
by hand, and signs. The QR gives the values exactly, so nothing on the scan needs to be *read*; what the
QR cannot say is whether the paper still says the same: a struck-through value with another written
beside it, or a slip printed for someone else with this slip's QR pasted on. So each field's zone of
the aligned scan is compared with the same zone of the expected print (the form with the QR's values
typed in, :func:`synth.fill.expected_print` renders it), as ink, not as text:

* ``missing``: how much of the printed *value* (the expected print less the blank form's own print),
  taken as its strokes' centre lines, has no ink near it on the scan. Measured in character-sized
  windows and the worst window kept: a phone number differing in one digit of eleven is another
  number, and over the whole value that digit is under a tenth of the strokes, which a fax's dropped
  scan line also takes away.
* ``extra``: the length (mm) of the scan's strokes, as centre lines, that lie where the expected page
  prints nothing (the drop-out guides count as print: a grey scan keeps them), specks and slivers
  left out. A hand's correction, a strike through the value, a tick in another box.

Centre lines, not ink, so that print made bolder by a copier or thinner by a fax changes nothing;
each zone's crop is first laid on the expected print to the nearest pixel (half a millimetre at
most), and the rest is a tolerance of a few tenths of a millimetre: a legacy form is registered to a
quarter of a millimetre, a phone photo's paper is not flat. The page is binarised the way the reader
does it (:func:`ocr.imaging.dropout`, :func:`ocr.reader.flatten`), so drop-out print, shadows and a
washed-out copy behave as they do there.

The verdict: ``not_as_printed`` when most of some part of the value is absent, or part of it with
other strokes in its place (the paper does not say what the QR says); else ``corrected`` when there
are strokes beyond the print (a hand wrote in the field; the value may be struck through); else
``as_printed``. The limits were fitted on the TUNE split only and are measured on HOLDOUT by
``python -m bench.print_check``. Signature fields are not compared: the signature is the one thing
the visitor adds, and :func:`has_ink` tells whether they did.

What it cannot see: another value whose strokes lie on the expected one's (a 3 printed where an 8
was expected), and, in a legacy form's 2-3 mm print, digits that differ by a stroke or two (0 and 8,
7 and 1). The QR still gives the values; this check only says whether the paper agrees with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from formkit.kinds import Shape
from formkit.layout import layout, line_bands
from formkit.model import Box, Template
from formkit.render import master_image
from ocr.align import PX_PER_MM
from ocr.imaging import despeckle, dropout, gray, is_color, printed_mask, ruled_lines
from ocr.reader import flatten

AS_PRINTED = "as_printed"
CORRECTED = "corrected"
NOT_AS_PRINTED = "not_as_printed"
VERDICTS = (AS_PRINTED, CORRECTED, NOT_AS_PRINTED)

#: Ink on a flattened page (the reader's own ink level, :func:`ocr.imaging.ink_mask`).
INK_LEVEL = 160
#: Where the expected value is looked for, fainter marks count too: a thin typed stroke blurred on a
#: harsh scan stays at 160-200 (:data:`ocr.imaging.FAINT_LEVEL`), the back page showing through
#: lighter still.
FAINT_LEVEL = 200
#: A zone's crop is moved this far (mm) every way to lie best on the expected print: a legacy form is
#: registered to a quarter of a millimetre, a phone photo's paper is not flat.
SHIFT_MM = 0.5
#: After that, a point of the expected value's centre line counts as found when scan ink lies this
#: close; a point of the scan's centre line is print when something printed lies this close.
FOUND_MM = 0.25
NEAR_PRINT_MM = 0.3
#: A faint mark (lighter than ink, darker than FAINT_LEVEL) vouches for the value only this close.
FOUND_FAINT_MM = 0.1
#: Scan ink in pieces smaller than this is paper or scanner noise (a copier's toner speck is ~0.1 mm²).
SPECK_MM2 = 0.25
#: Stray centre line in pieces shorter than this (mm) is the print's own outline on a bolder scan, a
#: speck's centre, not a stroke.
MIN_PIECE_MM = 0.5
#: The window ``missing`` is measured in: about one typed character, which is ~0.55 of the zone's
#: height (the typed hand's size), kept between these.
WINDOW_MIN_MM = 2.5
WINDOW_MAX_MM = 6.0
#: A window counts only when it holds this much of the value's centre line (a typed "1" is ~3 mm).
MIN_WINDOW_MM = 3.0

#: The limits, fitted on the TUNE split only (``python -m bench.print_check --fit``: 40 pages, 120
#: scans, 1048 as-printed fields): the worst window of an untouched value lost 0.53 of its strokes
#: (a fax's dropped scan line through 1.8 mm kana), the longest stray stroke was 0.7 mm (a copier's
#: bolder print). ``missing`` is set halfway from 0.53 to 1, ``extra`` at 1.5 × 0.7 mm.
MISSING_LIMIT = 0.77
EXTRA_LIMIT_MM = 1.05
#: Some missing and some extra together, each at half its limit, is a replaced value (:class:`Limits`).
JOINT_SHARE = 0.5

#: ``has_ink``: the zone's edge this far in is left out (its frame and its neighbours' lines).
SIGNATURE_INSET_MM = 0.8
#: ``has_ink``: a signature leaves at least this much ink. On TUNE an empty zone held none at all and
#: the least signed one 15 mm²; the limit is the bench's floor, a short word's worth.
SIGNATURE_INK_MM2 = 3.0


@dataclass(frozen=True)
class PrintCheck:
    """One field's comparison: ``missing`` (0-1: the largest share of the printed value's strokes
    absent in any character-sized window), ``extra`` (mm of stroke where nothing is printed), and the
    verdict."""

    name: str
    missing: float
    extra: float
    verdict: str


def page_grey(img: np.ndarray) -> np.ndarray:
    """A page as the reader sees it: drop-out print gone on a colour page, lighting divided out, a
    washed-out copy stretched (:func:`ocr.reader.flatten`)."""
    return np.asarray(flatten(dropout(img, is_color(img))))


def page_ink(img: np.ndarray) -> np.ndarray:
    """The ink of a page at the reader's ink level."""
    return np.asarray(page_grey(img) < INK_LEVEL)


def _fit(img: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``img`` cut or padded (white) at its bottom and right to ``shape``: a PDF rasterised at the
    page's scale can come out a pixel taller than the aligned page (points are rounded)."""
    h, w = shape[:2]
    out = img[:h, :w]
    if out.shape[0] < h or out.shape[1] < w:
        pad = ((0, h - out.shape[0]), (0, w - out.shape[1])) + ((0, 0),) * (img.ndim - 2)
        out = np.pad(out, pad, constant_values=255)
    return out


def _slices(box: Box, px_per_mm: float, shape: tuple[int, ...], pad: int = 0) -> tuple[slice, slice]:
    y0 = max(math.floor(box.y * px_per_mm) - pad, 0)
    x0 = max(math.floor(box.x * px_per_mm) - pad, 0)
    y1 = min(math.ceil(box.y2 * px_per_mm) + pad, shape[0])
    x1 = min(math.ceil(box.x2 * px_per_mm) + pad, shape[1])
    return slice(y0, y1), slice(x0, x1)


def _distance_to(mask: np.ndarray) -> np.ndarray:
    """Each pixel's distance (px) to the nearest pixel of ``mask`` (large where ``mask`` is empty)."""
    if not mask.any():
        return np.full(mask.shape, np.inf, dtype=np.float32)
    return np.asarray(cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3))


def centre_lines(mask: np.ndarray) -> np.ndarray:
    """The strokes of ``mask`` thinned to one pixel: what is compared, so that ink printed bolder,
    a copier's thicker toner or a fax's thinner strokes change nothing."""
    if not mask.any():
        return mask.astype(bool)
    return np.asarray(cv2.ximgproc.thinning(mask.astype(np.uint8) * 255)) > 0


def best_shift(scan_ink: np.ndarray, expected_ink: np.ndarray, reach: int) -> tuple[int, int]:
    """``(dy, dx)``, each within ``reach`` px, that lays ``scan_ink`` best over ``expected_ink`` (both
    the same crop): the most ink in common, the smaller shift on a tie (an empty zone stays put)."""
    if reach <= 0 or not expected_ink.any() or not scan_ink.any():
        return 0, 0
    exp = cv2.GaussianBlur(expected_ink.astype(np.float32), (0, 0), 1.0)
    img = cv2.copyMakeBorder(
        scan_ink.astype(np.float32), reach, reach, reach, reach, cv2.BORDER_CONSTANT, value=0
    )
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    score = cv2.matchTemplate(img, exp, cv2.TM_CCORR)
    d = np.arange(-reach, reach + 1, dtype=np.float32)
    score -= 1e-3 * float(score.max()) * (d[:, None] ** 2 + d[None, :] ** 2) / max(reach * reach, 1)
    y, x = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(y) - reach, int(x) - reach


def _shifted(img: np.ndarray, dy: int, dx: int, fill: int = 0) -> np.ndarray:
    """``img`` moved by (dy, dx), ``fill`` moving in from the edge: ``out[y, x] = img[y + dy, x + dx]``."""
    mask = img
    out = np.full_like(mask, fill)
    h, w = mask.shape
    ys, yd = (slice(dy, h), slice(0, h - dy)) if dy >= 0 else (slice(0, h + dy), slice(-dy, h))
    xs, xd = (slice(dx, w), slice(0, w - dx)) if dx >= 0 else (slice(0, w + dx), slice(-dx, w))
    out[yd, xd] = mask[ys, xs]
    return out


def window_px(zone_h_mm: float, px_per_mm: float) -> int:
    """The side (px) of the window ``missing`` is measured in, for a line ``zone_h_mm`` high: about one
    typed character there (the typed hand writes at 0.55 of the line), 2.5-6 mm."""
    return max(3, round(min(max(0.55 * zone_h_mm, WINDOW_MIN_MM), WINDOW_MAX_MM) * px_per_mm))


def worst_window(value: np.ndarray, lost: np.ndarray, window: int, min_px: float) -> float:
    """The largest share of ``value`` (a centre line) that is ``lost`` in any ``window`` px square
    holding at least ``min_px`` of it (or half the value, for a value smaller than that); 0 for no
    value at all.

    Why windows: the share over a whole value hides one changed character of many, and one character's
    share is what a changed digit, name or tick moves from 0 to most of it."""
    total = float(value.sum())
    if total == 0:
        return 0.0
    k = (window, window)
    v = cv2.boxFilter(value.astype(np.float32), -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    m = cv2.boxFilter(lost.astype(np.float32), -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    enough = v >= min(min_px, 0.5 * total) - 0.5
    return float((m[enough] / v[enough]).max())


@dataclass(frozen=True)
class Limits:
    """Where a field stops being as printed (the module's own are fitted on TUNE; the bench scores
    stored figures under others)."""

    missing: float = MISSING_LIMIT
    extra: float = EXTRA_LIMIT_MM
    #: Both at once, each at this share of its own limit, is a replaced value: some of the print gone
    #: and other ink in its place. Noise is one-sided (a fax loses strokes, a copier adds them): on
    #: TUNE no untouched field had any of both.
    joint: float = JOINT_SHARE


LIMITS = Limits()


def verdict(missing: float, extra: float, limits: Limits = LIMITS) -> str:
    """``not_as_printed`` first: a value gone, or partly gone with other ink in its place, is a
    different paper whatever else was written on it; then ``corrected`` for ink beyond the print."""
    if missing >= limits.missing or (
        missing >= limits.joint * limits.missing and extra >= limits.joint * limits.extra
    ):
        return NOT_AS_PRINTED
    if extra >= limits.extra:
        return CORRECTED
    return AS_PRINTED


def compare_zone(
    scan_grey: np.ndarray,
    expected_ink: np.ndarray,
    value: np.ndarray,
    printed: np.ndarray,
    inside: np.ndarray,
    window: int,
    px_per_mm: float,
) -> tuple[float, float]:
    """``(missing, extra)`` of one zone's crop. ``scan_grey`` is the flattened scan, ``expected_ink`` the
    expected page's dark print (to lay the scan on), ``value`` the expected value's ink, ``printed``
    anything the expected page prints, ``inside`` the zone itself: the crop has a margin, so that ink
    just outside the zone still vouches for print just inside it, and the scan can be moved."""
    area = px_per_mm * px_per_mm
    dy, dx = best_shift(scan_grey < INK_LEVEL, expected_ink, round(SHIFT_MM * px_per_mm))
    moved = _shifted(scan_grey, dy, dx, fill=255)
    # Faint marks and specks count where the value is looked for (a fax's broken strokes are specks).
    found = (_distance_to(moved < INK_LEVEL) <= FOUND_MM * px_per_mm) | (
        _distance_to(moved < FAINT_LEVEL) <= FOUND_FAINT_MM * px_per_mm
    )
    ink = despeckle(moved < INK_LEVEL, max(1, round(SPECK_MM2 * area)))
    line = centre_lines(value) & inside
    missing = worst_window(line, line & ~found, window, MIN_WINDOW_MM * px_per_mm)
    # Dense print (a legacy label's 健) merges into a blob at the light level: its strokes are found
    # at the ink level, as the scan's are; the light level adds the drop-out guides and the tints.
    print_lines = centre_lines(expected_ink) | centre_lines(printed)
    near = _distance_to(print_lines) <= NEAR_PRINT_MM * px_per_mm
    stray = despeckle(centre_lines(ink) & ~near & inside, max(1, round(MIN_PIECE_MM * px_per_mm)))
    return missing, float(stray.sum()) / px_per_mm


def check_print(
    scan: np.ndarray,
    expected: np.ndarray,
    tpl: Template,
    px_per_mm: float = PX_PER_MM,
    *,
    limits: Limits = LIMITS,
) -> dict[str, PrintCheck]:
    """Each non-signature field of ``tpl``: does the aligned ``scan`` show the ``expected`` print (both
    RGB at ``px_per_mm``, the same page) in the field's zone, and nothing more?

    The expected value's ink is the expected page's ink less the blank form's (its labels in a zone, a
    legacy form's cells), so ``missing`` is about the value alone. What counts as printed for
    ``extra`` is any print, drop-out guides too (a grey scan keeps them), but not a legacy form's flat
    tint (:func:`ocr.imaging.printed_mask`), where people write like on paper."""
    if scan.shape[:2] != expected.shape[:2]:
        raise ValueError(f"scan {scan.shape[:2]} and expected print {expected.shape[:2]} differ in size")
    scan_grey = page_grey(scan)
    exp_ink = page_ink(expected)
    printed = printed_mask(gray(expected), 0)
    blank = page_ink(_fit(master_image(tpl, px_per_mm), scan.shape))
    value_ink = exp_ink & ~cv2.dilate(blank.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    pad = math.ceil((SHIFT_MM + max(FOUND_MM, NEAR_PRINT_MM)) * px_per_mm) + 2
    out: dict[str, PrintCheck] = {}
    for lay in layout(tpl):
        if lay.spec.kind.shape is Shape.SIGNATURE:
            continue
        ys, xs = _slices(lay.zone, px_per_mm, scan.shape, pad)
        zy, zx = _slices(lay.zone, px_per_mm, scan.shape)
        inside = np.zeros((ys.stop - ys.start, xs.stop - xs.start), dtype=bool)
        inside[zy.start - ys.start : zy.stop - ys.start, zx.start - xs.start : zx.stop - xs.start] = True
        bands = line_bands(lay.spec)
        window = window_px(min(b.h for b in bands), px_per_mm)
        missing, extra = compare_zone(
            scan_grey[ys, xs], exp_ink[ys, xs], value_ink[ys, xs], printed[ys, xs], inside, window, px_per_mm
        )
        name = lay.spec.name
        out[name] = PrintCheck(name, round(missing, 4), round(extra, 2), verdict(missing, extra, limits))
    return out


def ink_area_mm2(scan: np.ndarray, box_mm: Box, px_per_mm: float = PX_PER_MM) -> float:
    """How much ink (mm²) a hand left in ``box_mm`` of the aligned ``scan``: the zone's edge left out
    (its frame, a neighbour's line a few pixels off), ruled lines inside it too (a legacy form's 署名
    line), and specks."""
    ink = page_ink(scan)
    ys, xs = _slices(box_mm.inset(SIGNATURE_INSET_MM), px_per_mm, scan.shape)
    zone = ink[ys, xs]
    zone = zone & ~ruled_lines(zone, px_per_mm)
    area = px_per_mm * px_per_mm
    return float(despeckle(zone, max(1, round(SPECK_MM2 * area))).sum()) / area


def has_ink(scan: np.ndarray, box_mm: Box, px_per_mm: float = PX_PER_MM) -> bool:
    """Whether a hand wrote in ``box_mm`` of the aligned ``scan`` (a signature zone: signed or empty):
    a signature leaves several mm² of strokes, a scan's noise in an empty zone far less."""
    return ink_area_mm2(scan, box_mm, px_per_mm) >= SIGNATURE_INK_MM2
