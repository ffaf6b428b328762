"""Full-page OCR for documents without a template: detect text lines, then recognise each one."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr.ctc import decode
from ocr.engines import get_detector, get_recognizer
from ocr.imaging import gray


@dataclass(frozen=True)
class Line:
    text: str
    confidence: float
    quad: list[list[float]]

    def as_dict(self) -> dict:
        return {"text": self.text, "confidence": round(self.confidence, 4), "box": self.quad}


def crop_quad(img: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Straighten a detected quadrilateral into an upright line image."""
    q = quad.astype(np.float32)
    w = int(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3])))
    h = int(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2])))
    w, h = max(w, 2), max(h, 2)
    m = cv2.getPerspectiveTransform(q, np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32))
    out = cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    if h > w * 1.5:  # vertical text: turn it so the recogniser reads along the line
        out = np.rot90(out)
    return np.ascontiguousarray(out)


def sort_reading_order(lines: list) -> list:
    """Top to bottom, then left to right within a line (boxes whose tops are within half a line height)."""
    if not lines:
        return lines
    heights = [float(np.ptp(d.quad[:, 1])) for d in lines]
    tol = max(4.0, float(np.median(heights)) * 0.5)
    ordered = sorted(lines, key=lambda d: float(d.quad[:, 1].min()))
    rows: list[list] = []
    for d in ordered:
        top = float(d.quad[:, 1].min())
        if rows and abs(top - float(rows[-1][0].quad[:, 1].min())) <= tol:
            rows[-1].append(d)
        else:
            rows.append([d])
    return [d for row in rows for d in sorted(row, key=lambda d: float(d.quad[:, 0].min()))]


def read_full_page(image: np.ndarray, engine: str | None = None) -> list[Line]:
    det = get_detector(engine)
    rec = get_recognizer(engine)
    found = sort_reading_order(det.detect(image))
    if not found:
        return []
    g = gray(image)
    crops = [crop_quad(g, d.quad) for d in found]
    probs = rec.probs(crops)
    lines = []
    for d, p in zip(found, probs, strict=True):
        dec = decode(p, rec.classes)
        if dec.text.strip():
            lines.append(Line(dec.text.strip(), dec.confidence, d.quad.round(1).tolist()))
    return lines
