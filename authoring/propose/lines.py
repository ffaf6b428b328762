"""What the blank form's print says without reading it: its ruled lines (morphological horizontal and
vertical line extraction), the cells they enclose, how much of each cell is inked, and printed tick
boxes (□). Pure functions on a grey image and its resolution; everything comes back in millimetres."""

from __future__ import annotations

import cv2
import numpy as np

from authoring.propose.model import Text
from authoring.propose.words import is_unit
from formkit.model import Box
from ocr.imaging import RULE_MM, ruled_lines

#: Darker than this is print (a tinted cell, ~217, is paper; drop-out pink, ~190, is print).
INK_LEVEL = 210
#: A ruled line is at least this long; dotted lines and text strokes are shorter.
LINE_MM = RULE_MM
#: A dotted line's dots are at most this far apart, and the line is at least DOTTED_MM long.
DOT_GAP_MM = 1.5
DOTTED_MM = 20.0
#: Cells smaller than this are not places to write in.
MIN_CELL_MM = 2.5


def ruling(gray: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The ruled lines of a form (bool mask): ink runs at least LINE_MM long, across or down, closed
    where lines meet so cells do not leak into their neighbours (the reader's own line finder)."""
    return ruled_lines(gray < INK_LEVEL, px_per_mm)


def horizontal_lines(gray: np.ndarray, px_per_mm: float) -> list[Box]:
    """Every ruled line across the page, as a thin box (mm): cell borders and underlines alike."""
    ink = (gray < INK_LEVEL).astype(np.uint8)
    n = max(3, round(LINE_MM * px_per_mm))
    horiz = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(horiz, connectivity=8)
    k = px_per_mm
    return [
        Box(x=x / k, y=y / k, w=w / k, h=max(h, 1) / k)
        for x, y, w, h, _ in (stats[i] for i in range(1, count))
        if h <= 0.8 * k  # a line, not a block of ink
    ]


def dotted_lines(gray: np.ndarray, px_per_mm: float) -> list[Box]:
    """Dotted and dashed lines across the page (writing lines of a free-text answer, a row the form
    parts with dots), as thin boxes (mm): ink closed over gaps up to DOT_GAP_MM that runs DOTTED_MM
    long on one thin band once the solid lines (and a solid line it continues) are taken out. A row
    of text closes into a band as tall as its letters, which is no line."""
    ink = (gray < INK_LEVEL).astype(np.uint8)
    gap = max(3, round(DOT_GAP_MM * px_per_mm))
    closed = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 1)))
    solid = cv2.morphologyEx(
        ink,
        cv2.MORPH_OPEN,
        cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, round(LINE_MM * px_per_mm)), 1)),
    )
    solid = cv2.dilate(solid, np.ones((3, gap), np.uint8))
    n = max(3, round(DOTTED_MM * px_per_mm))
    line = cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1))
    long = cv2.morphologyEx(closed & (1 - solid), cv2.MORPH_OPEN, line)
    count, _, stats, _ = cv2.connectedComponentsWithStats(long, connectivity=8)
    k = px_per_mm
    return [
        Box(x=x / k, y=y / k, w=w / k, h=max(h, 1) / k)
        for x, y, w, h, _ in ((int(v) for v in stats[i]) for i in range(1, count))
        if h <= 0.8 * k
    ]


def ruled_cells(gray: np.ndarray, px_per_mm: float) -> list[Box]:
    """Every rectangular cell enclosed by ruled lines, as its inside (mm), top to bottom, left to right."""
    lines = ruling(gray, px_per_mm)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((~lines).astype(np.uint8), connectivity=4)
    page = gray.shape[0] * gray.shape[1]
    k = px_per_mm
    out = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if w < MIN_CELL_MM * k or h < MIN_CELL_MM * k or w * h > 0.4 * page:
            continue
        if x == 0 or y == 0 or x + w >= gray.shape[1] or y + h >= gray.shape[0]:
            continue  # the paper around the form
        sub = labels[y : y + h, x : x + w] == i
        # A cell fills its bounding box along all four edges (holes inside, like tick boxes, are fine).
        edges = [sub[0, :].mean(), sub[-1, :].mean(), sub[:, 0].mean(), sub[:, -1].mean()]
        if min(edges) < 0.8 or area < 0.5 * w * h:
            continue
        out.append(Box(x=x / k, y=y / k, w=w / k, h=h / k))
    return sorted(out, key=lambda b: (round(b.y), b.x))


def ink_shares(gray: np.ndarray, px_per_mm: float, boxes: list[Box]) -> list[float]:
    """How much of each cell's inside (ruled lines left out) is inked."""
    ink = (gray < INK_LEVEL) & ~ruling(gray, px_per_mm)
    out = []
    for b in boxes:
        i = b.inset(0.3)
        x0, y0 = round(i.x * px_per_mm), round(i.y * px_per_mm)
        x1, y1 = round(i.x2 * px_per_mm), round(i.y2 * px_per_mm)
        sub = ink[y0:y1, x0:x1]
        out.append(float(sub.mean()) if sub.size else 0.0)
    return out


def tick_squares(gray: np.ndarray, px_per_mm: float) -> list[Box]:
    """Printed tick boxes (□, 1.5-6 mm): hollow square outlines."""
    ink = (gray < INK_LEVEL).astype(np.uint8)
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    out: list[Box] = []
    if hierarchy is None:
        return out
    for i, c in enumerate(contours):
        if hierarchy[0][i][3] != -1 or hierarchy[0][i][2] == -1:
            continue  # a hole, or a blob without one
        x, y, w, h = cv2.boundingRect(c)
        wm, hm = w / px_per_mm, h / px_per_mm
        if not (1.5 <= wm <= 6.5 and 0.8 <= wm / hm <= 1.25):
            continue
        _, _, hw, hh = cv2.boundingRect(contours[hierarchy[0][i][2]])
        if hw * hh >= 0.4 * w * h and cv2.contourArea(c) >= 0.85 * w * h:  # a frame with a big hole
            out.append(Box(x=x / px_per_mm, y=y / px_per_mm, w=wm, h=hm))
    return out


def dotted_columns(
    gray: np.ndarray, px_per_mm: float, box: Box, skip: list[Box] | None = None
) -> list[float]:
    """Dotted or dashed lines down a cell (a divider between 氏 and 名, the cells of a comb printed
    with dotted separators), as x positions (mm): a column inked in several short runs from near the
    cell's top to near its bottom. Print in the cell (notes, units) is short and does not reach both;
    columns through ``skip`` (the printed words) are not looked at."""
    k = px_per_mm
    x0, y0 = round((box.x + 0.4) * k), round((box.y + 0.4) * k)
    x1, y1 = round((box.x2 - 0.4) * k), round((box.y2 - 0.4) * k)
    sub = gray[y0:y1, x0:x1] < INK_LEVEL
    h = sub.shape[0]
    if h < 4 or sub.shape[1] < 4:
        return []
    hits = []
    for x in range(sub.shape[1]):
        mm = (x0 + x) / k
        if any(b.x <= mm <= b.x2 and b.y < box.y2 and b.y2 > box.y for b in skip or []):
            continue
        col = sub[:, x]
        share = float(col.mean())
        if not 0.2 <= share <= 0.9:
            continue
        rows = np.flatnonzero(col)
        edges = np.flatnonzero(np.diff(col.astype(np.int8)) == 1)
        if rows[0] <= 0.25 * h and rows[-1] >= 0.75 * h and len(edges) >= 3:
            longest = max(
                len(r) for r in np.split(col, np.flatnonzero(np.diff(col.astype(np.int8))) + 1) if r[0]
            )
            if longest <= 0.3 * h:
                hits.append(x)
    groups: list[list[int]] = []
    for x in hits:  # a line a few pixels wide is one line
        if groups and x - groups[-1][-1] <= 2:
            groups[-1].append(x)
        else:
            groups.append([x])
    return [(x0 + sum(g) / len(g)) / k for g in groups]


#: Within one line OCR read, blank at least this wide between inked columns is a blank to write in.
SPACED_GAP_MM = 2.5


def respaced(texts: list[Text], gray: np.ndarray, px_per_mm: float) -> list[Text]:
    """OCR reads 「年　　月　　日」 as one line 「年 月 日」: such a line is cut where the print leaves a
    blank, one word a stretch of ink, when the words and the stretches agree in number and one of the
    words is a unit or a bracket (a date's or a count's blanks). Labels printed letter-spaced (氏　名)
    stay whole."""
    ink = (gray < INK_LEVEL) & ~ruling(gray, px_per_mm)
    k = px_per_mm
    out: list[Text] = []
    for t in texts:
        words = t.text.split() or [t.text]
        chars = [c for c in t.text if not c.isspace()]
        x0, y0 = max(round(t.box.x * k), 0), max(round(t.box.y * k), 0)
        cols = ink[y0 : round(t.box.y2 * k), x0 : round(t.box.x2 * k)].any(axis=0)
        runs = _ink_runs(cols, round(SPACED_GAP_MM * k))
        tokens = words if len(words) == len(runs) else chars if len(chars) == len(runs) else []
        if len(runs) < 2 or not tokens or not any(is_unit(w) for w in tokens):
            out.append(t)
            continue
        out += [
            Text(w, Box(x=(x0 + a) / k, y=t.box.y, w=(b - a) / k, h=t.box.h))
            for w, (a, b) in zip(tokens, runs, strict=True)
        ]
    return out


def _ink_runs(cols: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Stretches of inked columns, apart where at least ``gap`` blank columns lie between."""
    runs: list[tuple[int, int]] = []
    for x in np.flatnonzero(cols):
        if runs and x - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], int(x) + 1)
        else:
            runs.append((int(x), int(x) + 1))
    return runs


#: Print at least this far apart is two marks (a number and its words); closer, one word's strokes.
MARK_GAP_MM = 1.0


def print_mask(gray: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The page's print without its ruled lines (bool mask)."""
    return np.asarray((gray < INK_LEVEL) & ~ruling(gray, px_per_mm))


def ink_stretches(ink: np.ndarray, px_per_mm: float, box: Box) -> list[tuple[float, float]]:
    """The stretches of print (``ink``: :func:`print_mask`) across a box, left to right, as x ranges
    (mm): apart where at least MARK_GAP_MM of paper lies between."""
    k = px_per_mm
    x0, y0 = max(round(box.x * k), 0), max(round(box.y * k), 0)
    sub = ink[y0 : round(box.y2 * k), x0 : round(box.x2 * k)]
    if not sub.size:
        return []
    cols = np.asarray(sub.any(axis=0))
    return [((x0 + a) / k, (x0 + b) / k) for a, b in _ink_runs(cols, round(MARK_GAP_MM * k))]
