"""A picture of every read: the aligned page, each zone, and what was read, coloured by confidence."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from formkit.fonts import FORM_FONT, font_path
from formkit.readings import PageReading
from ocr.align import PX_PER_MM, Aligned


def colour(confidence: float, needs_review: bool) -> tuple[int, int, int]:
    if needs_review:
        return (220, 40, 40) if confidence < 0.5 else (235, 140, 0)
    return (30, 150, 60)


def render_overlay(aligned: Aligned, reading: PageReading) -> np.ndarray:
    img = Image.fromarray(aligned.image).convert("RGB")
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.truetype(str(font_path(FORM_FONT)), 26)
    k = PX_PER_MM
    for f in reading.fields.values():
        b = f.box
        c = colour(f.confidence, f.needs_review)
        box = (b.x * k, b.y * k, b.x2 * k, b.y2 * k)
        draw.rectangle(box, outline=(*c, 255), width=4, fill=(*c, 40))
        value = f.value if not isinstance(f.value, list) else ",".join(f.value)
        label = f"{value if value not in (None, '') else '—'}  {f.confidence:.2f}"
        tx, ty = box[0] + 4, max(box[1] - 30, 0)
        tw = draw.textlength(label, font=font)
        draw.rectangle((tx - 2, ty, tx + tw + 4, ty + 30), fill=(255, 255, 255, 220))
        draw.text((tx, ty), label, fill=(*c, 255), font=font)
    return np.array(Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB"))


def draw_overlay(aligned: Aligned, reading: PageReading, out: Path) -> Path:
    img = render_overlay(aligned, reading)
    cv2.imwrite(str(out), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return out
