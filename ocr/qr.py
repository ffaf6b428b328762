"""Finding QR codes on a page image: the signed seal of a counter slip (:mod:`formkit.seal`).

Offline, no model to download. Two decoders: zxing-cpp first (a maintained C++ port of ZXing: its
local binariser and error correction read faxes and phone photos that OpenCV's misses, in
milliseconds), then OpenCV's :class:`cv2.QRCodeDetector` and, where this OpenCV has it,
:class:`cv2.QRCodeDetectorAruco` (slower, but it finds codes too damaged for zxing's finder-pattern
search). A scan is not a screenshot, so each decoder tries the page as given and then cleaned-up
versions of it: the background flattened (a phone photo's shadow, a copier's grey), smoothed,
sharpened (a phone's defocus), binarised, a fax's dropped lines closed and its steps rounded off,
its swollen modules pared down (or thin ones grown), rescaled. The search stops at the first
version that gives a seal; every QR text found on the way is returned, a stranger's too (the caller
tells them apart with :func:`formkit.seal.read_seal`).

Measured on 21 mm seals (QR level L boosted, 0.43-0.49 mm modules). Decoders alone, 12 住民票 slips a
case: zxing-cpp first read 11-12 of 12 faxes (raw or with an office scan's skew and noise, 300 and 200
dpi) and 12 of 12 phone photos, OpenCV alone 4-8 and 7-12. Through the pipeline (``python -m
bench.counter_scan``, 24 slips a split, each also scanned as a fax, a photocopy and a phone photo at the
slip's 300 or 200 dpi), the QR was read on HOLDOUT from 23/24 faxes, 24/24 photocopies, 22/24 phone
photos (the misses at 200 dpi, or a fax's dark threshold), on TUNE 23/24, 24/24, 24/24. A seal not read
leaves the slip paper, every field before a person.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import cv2
import numpy as np
import zxingcpp

from formkit.layout import SEAL_CLEAR_MM, seal_box
from formkit.model import Template
from formkit.seal import PREFIX
from ocr.imaging import gray, normalize_background

#: Work on a page no bigger than this (px on its long side): a QR's modules stay above 2 px at
#: 200 dpi, and the detectors' time stays under a second.
_MAX_SIDE = 4000
#: Codes found but not decoded on the page as given that are looked at again, at most.
_MAX_CODES = 4


def _aruco() -> object | None:
    cls = getattr(cv2, "QRCodeDetectorAruco", None)
    return cls() if cls is not None else None


Quad = np.ndarray


_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def _zxing(img: np.ndarray) -> list[str]:
    """The QR texts zxing-cpp decodes in ``img`` (grey uint8); never raising."""
    try:
        found = zxingcpp.read_barcodes(img, formats=_QR)
    except (RuntimeError, ValueError):
        return []
    return [b.text for b in found if b.valid and b.text]


def _detect(img: np.ndarray) -> tuple[list[str], list[Quad]]:
    """The texts the detectors decode in ``img``, and the corners of every code they found (decoded
    or not); never raising: OpenCV's errors on a page with no code at all are that page's answer.

    The ArUco-based detector looks for several codes at once; the classic one for one only: its
    search for several is combinatorial in the square-ish shapes on the page, and took 50 s on a
    photocopy's toner specks."""
    texts: list[str] = []
    quads: list[Quad] = []
    aruco = _aruco()
    try:
        if aruco is not None:
            ok, decoded, points, _ = aruco.detectAndDecodeMulti(img)  # type: ignore[attr-defined]
            if ok:
                texts += [t for t in decoded if t]
            if points is not None:
                quads += [np.asarray(q, np.float32).reshape(-1, 2) for q in points]
        if not any(t.startswith(PREFIX) for t in texts):
            text, points, _ = cv2.QRCodeDetector().detectAndDecode(img)
            if text:
                texts.append(text)
            if points is not None:
                quads.append(np.asarray(points, np.float32).reshape(-1, 2))
    except cv2.error:
        pass
    return texts, quads


def _around(g: np.ndarray, quad: Quad) -> tuple[np.ndarray, float]:
    """The image around a found code: its bounding box and a third of its size again on each side
    (the quiet zone, corners a detector placed a little off), and how much it was enlarged: a small
    crop is doubled in size, so that the variants' filters have pixels to work with."""
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    pad = max(x1 - x0, y1 - y0) / 3 + 8
    h, w = g.shape
    crop = g[
        max(int(y0 - pad), 0) : min(int(y1 + pad) + 1, h), max(int(x0 - pad), 0) : min(int(x1 + pad) + 1, w)
    ]
    if 0 < max(crop.shape) < 600:
        return np.ascontiguousarray(
            cv2.resize(crop, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
        ), 2.0
    return np.ascontiguousarray(crop), 1.0


def _variants(g: np.ndarray, px_per_mm: float) -> Iterator[np.ndarray]:
    """The page as given, then versions that undo what scanning did to it, cheapest first."""
    yield g
    flat = normalize_background(g)
    yield cv2.GaussianBlur(flat, (0, 0), 1.0)  # noise, JPEG blocks, toner specks
    yield cv2.addWeighted(flat, 2.0, cv2.GaussianBlur(flat, (0, 0), 2.0), -1.0, 0)  # a phone's defocus
    _, otsu = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    yield otsu
    # A fax: 100 lines an inch, some dropped white, stretched back with hard steps. An opening as tall
    # as two fax lines closes the dropped lines; the blur rounds off the steps.
    fax_line = max(1, round(px_per_mm * 25.4 / 100))
    tall = np.ones((2 * fax_line - 1 if fax_line > 1 else 3, 1), np.uint8)
    yield cv2.GaussianBlur(cv2.morphologyEx(flat, cv2.MORPH_OPEN, tall), (0, 0), 1.0)
    if fax_line > 1 and max(g.shape) <= 2000:
        # The same, the other way: back to the fax's own lines, then smoothly up again (a crop).
        h, w = flat.shape
        lines = cv2.resize(
            flat, (w, max(1, round(h / (px_per_mm * 25.4 / 100)))), interpolation=cv2.INTER_AREA
        )
        yield cv2.resize(lines, (w * 3 // 2, h * 3 // 2), interpolation=cv2.INTER_CUBIC)
    # A dark threshold (a fax's, a copier's toner) swells every black module into its neighbours, a
    # light one thins them: the modules pared down, then grown, by a sixth of a millimetre.
    pare = np.ones((max(2, round(px_per_mm / 6)),) * 2, np.uint8)
    yield cv2.dilate(flat, pare)
    yield cv2.erode(flat, pare)
    if min(g.shape) >= 400:
        yield cv2.resize(flat, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    if max(g.shape) < 1500:  # a crop (the seal's area of an aligned page): more pixels a module
        yield cv2.resize(flat, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    if max(g.shape) < 1000:
        yield cv2.resize(flat, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    yield cv2.adaptiveThreshold(flat, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 51, 10)


def find_seal_texts(image: np.ndarray, *, px_per_mm: float | None = None) -> list[str]:
    """Every QR text found on a page image (RGB or grey, uint8), a seal's first; ``px_per_mm`` when
    known (an aligned page, a crop of one), else guessed from an A4 page.

    zxing-cpp first, on the page as given and its cleaned-up versions (:func:`_variants`: each
    takes it milliseconds). Then OpenCV: the page as given; a code found there but not decoded is
    looked at again on its own, in the cleaned-up versions; when nothing was found at all, the whole
    page is. The search stops at the first seal; without one, everything was tried, and whatever
    was decoded (another system's QR) is returned. Pure: the same image gives the same texts.
    """
    g = gray(image) if image.ndim == 3 else image
    if g.dtype != np.uint8 or g.size == 0:
        raise ValueError("find_seal_texts takes a uint8 image")
    scale = min(1.0, _MAX_SIDE / max(g.shape))
    if scale < 1.0:
        g = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ppm = px_per_mm * scale if px_per_mm else max(g.shape) / 297.0
    found: list[str] = []

    def seen(texts: list[str]) -> bool:
        found.extend(t for t in texts if t not in found)
        return any(t.startswith(PREFIX) for t in found)

    for variant in _variants(g, ppm):
        if seen(_zxing(variant)):
            return _seal_first(found)
    texts, quads = _detect(g)
    if seen(texts):
        return _seal_first(found)
    # A found code's crop is a fraction of the page: its variants are cheap. The biggest few only:
    # a page of a hundred codes is not a counter slip, and must not keep a reader for minutes.
    quads.sort(key=lambda q: -float(np.ptp(q[:, 0]) * np.ptp(q[:, 1])))
    for quad in quads[:_MAX_CODES]:
        crop, k = _around(g, quad)
        if not crop.size:
            continue
        for variant in _variants(crop, ppm * k):
            if seen(_detect(variant)[0]):
                return _seal_first(found)
    for variant in itertools.islice(_variants(g, ppm), 1, None):
        if seen(_detect(variant)[0]):
            break
    return _seal_first(found)


def _seal_first(found: list[str]) -> list[str]:
    return sorted(found, key=lambda t: not t.startswith(PREFIX))


def source_seal_region(
    source: np.ndarray, tpl: Template, homography: np.ndarray, margin_mm: float = 8.0
) -> tuple[np.ndarray, float]:
    """The seal's area (as :func:`seal_region`) cut from the page as scanned, not from its warp onto
    the template, and the crop's pixels per millimetre. ``homography``: template millimetres → the
    scan's pixels (``ocr.align.Aligned``). A warp resamples every pixel; a fax's 1-bit lines and a
    photo's fine modules survive best untouched, and a QR decoder does its own perspective. The crop
    is the box's bounding rectangle in the scan (turned, skewed or in perspective as the page is)."""
    box = seal_box(tpl).grow(max(margin_mm, SEAL_CLEAR_MM))
    corners = np.array(
        [[box.x, box.y], [box.x2, box.y], [box.x2, box.y2], [box.x, box.y2]], np.float64
    ).reshape(-1, 1, 2)
    quad = cv2.perspectiveTransform(corners, np.asarray(homography, np.float64)).reshape(-1, 2)
    if not np.all(np.isfinite(quad)):
        return np.zeros((0, 0), np.uint8), 1.0
    h, w = source.shape[:2]
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1 + 1, w), min(y1 + 1, h)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0), np.uint8), 1.0
    area_px = 0.5 * abs(float(np.cross(quad[2] - quad[0], quad[3] - quad[1])))
    ppm = float(np.sqrt(area_px / (box.w * box.h)))
    return np.ascontiguousarray(source[y0:y1, x0:x1]), ppm


def seal_region(image: np.ndarray, tpl: Template, px_per_mm: float, margin_mm: float = 8.0) -> np.ndarray:
    """The part of an aligned page (``px_per_mm``, template coordinates) where the seal is printed,
    with ``margin_mm`` around it: searched first, it is a fraction of the page's pixels. The margin
    keeps the quiet zone and absorbs what alignment leaves of a skew."""
    box = seal_box(tpl).grow(max(margin_mm, SEAL_CLEAR_MM))
    h, w = image.shape[:2]
    x0, y0 = max(int(box.x * px_per_mm), 0), max(int(box.y * px_per_mm), 0)
    x1, y1 = min(int(box.x2 * px_per_mm) + 1, w), min(int(box.y2 * px_per_mm) + 1, h)
    return np.ascontiguousarray(image[y0:y1, x0:x1])
