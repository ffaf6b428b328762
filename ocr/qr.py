"""Finding QR codes on a page image: the signed seal of a counter slip (:mod:`formkit.seal`).

OpenCV only, offline, no model to download: :class:`cv2.QRCodeDetector` and, where this OpenCV has
it, :class:`cv2.QRCodeDetectorAruco` (another finder-pattern search, better on blurred and
perspective-distorted codes). A scan is not a screenshot, so when the page as given yields no seal
the search goes on with cleaned-up versions of it: the background flattened (a phone photo's
shadow, a copier's grey), binarised (Otsu), and rescaled so a module is a few pixels wide whatever
the scan's resolution. It stops at the first version that gives a seal; every QR text found on the
way is returned, a stranger's too (the caller tells them apart with :func:`formkit.seal.read_seal`).
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from formkit.layout import SEAL_CLEAR_MM, seal_box
from formkit.model import Template
from formkit.seal import PREFIX
from ocr.imaging import gray, normalize_background

#: Work on a page no bigger than this (px on its long side): a QR's modules stay above 2 px at
#: 200 dpi, and the detectors' time stays under a second.
_MAX_SIDE = 4000


def _aruco() -> object | None:
    cls = getattr(cv2, "QRCodeDetectorAruco", None)
    return cls() if cls is not None else None


def _detect(img: np.ndarray) -> list[str]:
    """Every text the detectors decode in ``img``, never raising: OpenCV's errors on a page with no
    code at all are that page's answer, nothing.

    The ArUco-based detector looks for several codes at once; the classic one for one only: its
    search for several is combinatorial in the square-ish shapes on the page, and took 50 s on a
    photocopy's toner specks."""
    texts: list[str] = []
    aruco = _aruco()
    try:
        if aruco is not None:
            ok, decoded, _points, _ = aruco.detectAndDecodeMulti(img)  # type: ignore[attr-defined]
            if ok:
                texts += [t for t in decoded if t]
        if not any(t.startswith(PREFIX) for t in texts):
            text, _points, _ = cv2.QRCodeDetector().detectAndDecode(img)
            if text:
                texts.append(text)
    except cv2.error:
        pass
    return texts


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
    if min(g.shape) >= 400:
        yield cv2.resize(flat, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    yield cv2.adaptiveThreshold(flat, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 51, 10)


def find_seal_texts(image: np.ndarray, *, px_per_mm: float | None = None) -> list[str]:
    """Every QR text found on a page image (RGB or grey, uint8), a seal's first.

    Tries each detector on each version of the page (:func:`_variants`) until a text starting with
    the seal's prefix turns up; without one, every version is tried and whatever was found (another
    system's QR) is returned. Pure: the same image gives the same texts.
    """
    g = gray(image) if image.ndim == 3 else image
    if g.dtype != np.uint8 or g.size == 0:
        raise ValueError("find_seal_texts takes a uint8 image")
    scale = min(1.0, _MAX_SIDE / max(g.shape))
    if scale < 1.0:
        g = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    # Resolution: given, or guessed from an A4 page (a crop's guess only sizes the fax repair).
    ppm = px_per_mm * scale if px_per_mm else max(g.shape) / 297.0
    found: list[str] = []
    for variant in _variants(g, ppm):
        for text in _detect(variant):
            if text not in found:
                found.append(text)
        if any(t.startswith(PREFIX) for t in found):
            break
    return sorted(found, key=lambda t: not t.startswith(PREFIX))


def seal_region(image: np.ndarray, tpl: Template, px_per_mm: float, margin_mm: float = 8.0) -> np.ndarray:
    """The part of an aligned page (``px_per_mm``, template coordinates) where the seal is printed,
    with ``margin_mm`` around it: searched first, it is a fraction of the page's pixels. The margin
    keeps the quiet zone and absorbs what alignment leaves of a skew."""
    box = seal_box(tpl).grow(max(margin_mm, SEAL_CLEAR_MM))
    h, w = image.shape[:2]
    x0, y0 = max(int(box.x * px_per_mm), 0), max(int(box.y * px_per_mm), 0)
    x1, y1 = min(int(box.x2 * px_per_mm) + 1, w), min(int(box.y2 * px_per_mm) + 1, h)
    return np.ascontiguousarray(image[y0:y1, x0:x1])
