"""Pure image helpers for reading zones: drop-out colour removal, ink masks, trimming to ink.

All functions take and return numpy arrays and have no side effects, so they test fast on small
synthetic images.
"""

from __future__ import annotations

import cv2
import numpy as np


def is_color(img: np.ndarray, tol: float = 6.0) -> bool:
    """True when the channels really differ (a colour scan), not a grey scan stored as RGB."""
    if img.ndim == 2:
        return False
    small = img[:: max(1, img.shape[0] // 200), :: max(1, img.shape[1] // 200)].astype(np.int16)
    spread = small.max(axis=2) - small.min(axis=2)
    return float(np.percentile(spread, 99)) > tol


def gray(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def dropout(img: np.ndarray, color: bool) -> np.ndarray:
    """Grey image in which the form's light-red guides vanish.

    Light red is nearly white in the red channel while black and blue ink stay dark there. On a grey
    scan the guides stay (light grey); :func:`remove_printed` takes them away using the master.
    """
    if img.ndim == 2:
        return img
    return np.ascontiguousarray(img[..., 0]) if color else gray(img)


def normalize_background(g: np.ndarray) -> np.ndarray:
    """Stretch so paper is white: divides out shadows and uneven lighting."""
    k = max(15, (min(g.shape[:2]) // 8) | 1)
    bg = cv2.morphologyEx(g, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    bg = np.maximum(bg.astype(np.float32), 1.0)
    return np.clip(g.astype(np.float32) / bg * 255.0, 0, 255).astype(np.uint8)


def ink_mask(g: np.ndarray, level: int = 160) -> np.ndarray:
    """Boolean mask of ink pixels in a background-normalised grey image."""
    return g < level


def printed_mask(master_gray: np.ndarray, grow_px: int, tint_px: int = 25) -> np.ndarray:
    """Where the blank form has print (labels, lines, guides), grown to absorb small misalignment.

    A light flat tint wider than ``tint_px`` (the grey background of a legacy form's 住所 or 整理番号
    cell) is paper people write on, not print: there only what is clearly darker than the tint counts.
    Solid dark areas (registration marks, black bars) stay print.
    """
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (tint_px, tint_px))
    paper = cv2.morphologyEx(master_gray, cv2.MORPH_CLOSE, k).astype(np.int16)
    tint = (paper >= 160) & (master_gray.astype(np.int16) >= paper - 20)
    m = ((master_gray < 235) & ~tint).astype(np.uint8)
    if grow_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow_px + 1, 2 * grow_px + 1))
        return np.asarray(cv2.dilate(m, kernel)).astype(bool)
    return m.astype(bool)


#: A ruled line is print at least this long across or down; a text stroke is shorter.
RULE_MM = 4.5
#: A dotted line is dots no bigger than DOT_MM, at most DOT_GAP_MM apart, in a row RULE_MM long or more.
DOT_MM = 1.2
DOT_GAP_MM = 1.0


def _along(mask: np.ndarray, n: int, op: int) -> np.ndarray:
    """``mask`` opened or closed with a line ``n`` pixels long, across and down (the two unioned)."""
    m = mask.astype(np.uint8)
    across = cv2.morphologyEx(m, op, cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1)))
    down = cv2.morphologyEx(m, op, cv2.getStructuringElement(cv2.MORPH_RECT, (1, n)))
    return np.asarray(across | down).astype(bool)


def ruled_lines(ink: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The ruled lines in a mask of print: runs at least RULE_MM long, across or down (morphological
    opening), grown one pixel so the hairline gaps where lines meet are closed."""
    n = max(3, round(RULE_MM * px_per_mm))
    lines = _along(ink, n, cv2.MORPH_OPEN).astype(np.uint8)
    return np.asarray(cv2.dilate(lines, np.ones((3, 3), np.uint8))).astype(bool)


def printed_text(master_gray: np.ndarray, px_per_mm: float, grow_px: int) -> np.ndarray:
    """Where the blank form printed *text*: its print (:func:`printed_mask`) without the ruled and the
    dotted lines, grown like the print the reader removes. A zone drawn over printed text loses what
    is written there; a zone whose edges lie on its cell's lines loses nothing that counts."""
    k = px_per_mm
    ink = printed_mask(master_gray, 0)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    small = np.zeros(n, dtype=bool)
    small[1:] = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) <= DOT_MM * k
    dots = small[labels]
    dotted = _along(
        _along(dots, max(2, round(DOT_GAP_MM * k)), cv2.MORPH_CLOSE), round(RULE_MM * k), cv2.MORPH_OPEN
    )
    lines = ruled_lines(ink, k) | dotted
    lines = np.asarray(cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8))).astype(bool)
    text = despeckle(ink & ~lines, max(2, round(0.04 * k * k)))
    if grow_px <= 0:
        return text
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow_px + 1, 2 * grow_px + 1))
    return np.asarray(cv2.dilate(text.astype(np.uint8), kernel)).astype(bool)


def remove_printed(g: np.ndarray, printed: np.ndarray) -> np.ndarray:
    """Whiten everything the blank form itself printed, leaving what a person wrote."""
    out = g.copy()
    out[printed] = 255
    return out


def ink_bbox(mask: np.ndarray, min_pixels: int = 1) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) of the ink, ignoring specks smaller than ``min_pixels``."""
    if min_pixels > 1:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        keep = np.zeros(n, dtype=bool)
        keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_pixels
        mask = keep[labels]
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    return x0, y0, x1 - x0 + 1, y1 - y0 + 1


def hysteresis_ink(g: np.ndarray, min_pixels: int, strong: int = 150, weak: int = 200) -> np.ndarray:
    """Ink as strokes: everything lighter than ``weak`` that is connected to something darker than ``strong``.

    A fixed threshold loses faint thin strokes (a pencil '1' at 200 dpi never gets darker than ~130)
    or keeps paper noise; hysteresis keeps a stroke whole once part of it is clearly ink.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats((g < weak).astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(g.shape, dtype=bool)
    darkest = np.full(n, 255, dtype=np.int32)
    np.minimum.at(darkest, labels.ravel(), g.ravel().astype(np.int32))
    keep = (darkest < strong) & (stats[:, cv2.CC_STAT_AREA] >= min_pixels)
    keep[0] = False
    return np.asarray(keep[labels])


#: The darkest a mark may be and still be called faint (a flattened page's paper is ~255, its clear
#: ink below hysteresis' ``strong`` 150). A thin pen blurred on a harsh scan stays at 150-190.
FAINT_LEVEL = 190


def faint_marks(
    g: np.ndarray, ink: np.ndarray, min_pixels: int, min_height: int
) -> list[tuple[int, int, int, int]]:
    """``(x, y, w, h)`` of the marks in ``g`` that :func:`hysteresis_ink` left out of ``ink``: strokes
    no darker than FAINT_LEVEL, at least ``min_height`` pixels tall (writing, not a sliver of paper
    noise), touching no pixel of ``ink``.

    Why: a reader cuts its crop to the ink it sees and counts digits on the same mask. A faint first
    '1' on a blurred scan is then neither shown to the recogniser nor counted, and "11" reads as a
    confident, self-consistent "1". Marks like these say the zone holds more than was read.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        hysteresis_ink(g, min_pixels, strong=FAINT_LEVEL).astype(np.uint8), connectivity=8
    )
    if n <= 1:
        return []
    seen = np.zeros(n, dtype=bool)
    seen[np.unique(labels[ink & (labels > 0)])] = True
    return [
        (int(stats[i, 0]), int(stats[i, 1]), int(stats[i, 2]), int(stats[i, 3]))
        for i in range(1, n)
        if not seen[i] and stats[i, cv2.CC_STAT_HEIGHT] >= min_height
    ]


def glyph_count(mask: np.ndarray, min_pixels: int = 6) -> int:
    """How many separate marks a line of digits has: connected components, with pieces that stand
    above one another (a 5's detached bar, the two strokes of a =) counted once."""
    return len(glyph_spans(mask, min_pixels))


def glyph_boxes(mask: np.ndarray, min_pixels: int = 6) -> list[tuple[int, int, int, int]]:
    """``(x0, x1, y0, y1)`` of each mark :func:`glyph_count` counts, left to right (ends exclusive)."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    comps = sorted(
        (
            int(stats[i, cv2.CC_STAT_LEFT]),
            int(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH]),
            int(stats[i, cv2.CC_STAT_TOP]),
            int(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT]),
        )
        for i in range(1, n)
        if stats[i, cv2.CC_STAT_AREA] >= min_pixels
    )
    merged: list[list[int]] = []
    for x0, x1, y0, y1 in comps:
        if merged:
            px0, px1, py0, py1 = merged[-1]
            overlap = min(px1, x1) - max(px0, x0)
            if overlap > 0.5 * min(px1 - px0, x1 - x0):
                merged[-1] = [min(px0, x0), max(px1, x1), min(py0, y0), max(py1, y1)]
                continue
        merged.append([x0, x1, y0, y1])
    return [(a, b, c, d) for a, b, c, d in merged]


def glyph_spans(mask: np.ndarray, min_pixels: int = 6) -> list[tuple[int, int]]:
    """The column span ``[x0, x1)`` of each mark :func:`glyph_count` counts, left to right."""
    return [(x0, x1) for x0, x1, _, _ in glyph_boxes(mask, min_pixels)]


def despeckle(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_pixels
    return keep[labels]


def pad_crop(g: np.ndarray, bbox: tuple[int, int, int, int], pad: int) -> np.ndarray:
    x, y, w, h = bbox
    crop = np.ascontiguousarray(g[max(y - pad, 0) : y + h + pad, max(x - pad, 0) : x + w + pad])
    return np.asarray(cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(255,)))


def column_gaps(mask: np.ndarray, min_width: int) -> list[tuple[int, int]]:
    """Runs of ink-free columns at least ``min_width`` wide, between the first and last inked column."""
    cols = np.asarray(mask.any(axis=0))
    idx = np.flatnonzero(cols)
    if idx.size == 0:
        return []
    gaps, start = [], None
    for x in range(int(idx[0]), int(idx[-1]) + 1):
        if not cols[x]:
            start = x if start is None else start
        elif start is not None:
            if x - start >= min_width:
                gaps.append((start, x))
            start = None
    return gaps
