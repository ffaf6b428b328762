"""Reading each field type from an aligned page.

Each reader works in two steps so a whole page goes through the recogniser in one batched call:
``plan`` cuts the crops it wants recognised (each with its allowed characters), and ``finish`` turns
the decoded crops into a :class:`FieldReading`. Marks (tick boxes, circles, signatures) need no
recogniser at all: they are measured as ink the blank form does not have.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from formkit import charsets
from formkit.kinds import Shape, Value, Watch
from formkit.layout import FieldLayout, line_bands
from formkit.model import LINE_JOIN, Box, FieldSpec
from formkit.readings import FieldReading, Reason
from ocr.ctc import Decoded
from ocr.imaging import (
    column_gaps,
    faint_marks,
    glyph_boxes,
    glyph_count,
    glyph_spans,
    hysteresis_ink,
    ink_bbox,
    pad_crop,
)
from validation import lookalikes, normalize
from validation.variants import doubts as variant_doubts
from validation.variants import watch_table
from validation.wareki import ERAS, WarekiError, from_wareki

TICK_LEVEL = 0.025  # share of a tick box covered by ink (ticks measure 0.06-0.12, empty boxes ~0)
CIRCLE_LEVEL = 0.03  # share of the blank part of an option's circle area a circle covers (~0.1-0.5)
SIGNATURE_LEVEL = 0.004
EMPTY_CONFIDENCE = 0.99
FULL_SPACE = "\u3000"
#: Where the reader looks (mm): a line's zone less this much all round (its frame), a comb cell less
#: CELL_INSET of its shorter side, a legacy date's part box less PART_INSET_MM, a tick box and this
#: much around it (a tick overflows its box).
LINE_INSET_MM = 0.7
CELL_INSET = 0.1
PART_INSET_MM = 0.3
TICK_GROW_MM = 0.6
#: A faint mark this tall (mm) or taller is writing (the shortest digit or kana written in a small
#: box is ~1.5 mm; paper noise and JPEG specks are far smaller).
FAINT_MIN_HEIGHT_MM = 1.0


@dataclass
class Crop:
    image: np.ndarray
    allowed: frozenset[str] | None
    #: Read exactly one character (a comb cell).
    single: bool = False
    #: Characters whose look-alikes should be reported (name variants).
    watch: dict[str, str] | None = None

    @property
    def digit_cell(self) -> bool:
        """One character of a comb cell from a closed set of digits and signs. Such a cell reads as
        well at its own width as padded to a text line's; a kanji or kana cell loses confidence."""
        return self.single and self.allowed is not None and self.allowed <= NARROW


NARROW = (
    charsets.NUMBER
    | charsets.AMOUNT
    | charsets.PHONE
    | charsets.POSTAL
    | frozenset("〒元" + "".join(e.name for e in ERAS))
)


def stretched(crop: np.ndarray, allowed: frozenset[str] | None) -> np.ndarray:
    """Digits and other narrow characters, widened 1.8×.

    At the recogniser's 8-pixel frames, two thin equal digits ('11', '00') can fall into neighbouring
    frames with no blank between them, and CTC merges them into one: 2111 becomes 211, 11月 becomes 1月.
    Widening the line gives every character more frames, so a blank separates the repeats.
    """
    if allowed is None or not allowed <= NARROW:
        return crop
    return np.asarray(cv2.resize(crop, None, fx=1.8, fy=1.0, interpolation=cv2.INTER_CUBIC))


@dataclass
class Plan:
    crops: list[Crop] = field(default_factory=list)
    finish: Callable[[list[Decoded]], FieldReading] | None = None


def box_px(box: Box, k: float) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: a box in millimetres as pixel bounds at ``k`` pixels per millimetre."""
    x0, y0 = max(round(box.x * k), 0), max(round(box.y * k), 0)
    return x0, y0, round(box.x2 * k), round(box.y2 * k)


class Zones:
    """Access to an aligned page's zones, with the form's own print removed.

    ``page`` is the background-normalised grey page with drop-out guides gone; ``printed`` marks where
    the blank form has print, grown to absorb small misalignment.
    """

    def __init__(self, page: np.ndarray, printed: np.ndarray, px_per_mm: float) -> None:
        self.page = page
        self.printed = printed
        self.k = px_per_mm

    def px(self, box: Box) -> tuple[int, int, int, int]:
        return box_px(box, self.k)

    def gray(self, box: Box) -> np.ndarray:
        x0, y0, x1, y1 = self.px(box)
        g = self.page[y0:y1, x0:x1].copy()
        g[self.printed[y0:y1, x0:x1]] = 255
        return g

    def ink(self, box: Box, min_pixels: int | None = None) -> np.ndarray:
        """Pixels a person wrote: hysteresis on darkness, so faint thin strokes keep their whole length."""
        return hysteresis_ink(
            self.gray(box), min_pixels if min_pixels is not None else max(4, int(self.k * self.k * 0.08))
        )

    def faint(self, box: Box, ink: np.ndarray) -> list[tuple[int, int, int, int]]:
        """``(x, y, w, h)`` of writing in ``box`` too faint for :meth:`ink` (``ink``: its mask in
        ``box``), in the box's pixels: :func:`ocr.imaging.faint_marks`."""
        return faint_marks(self.gray(box), ink, z_min_pixels(self), round(FAINT_MIN_HEIGHT_MM * self.k))

    def ink_share(self, box: Box) -> float:
        m = self.ink(box)
        return float(m.mean()) if m.size else 0.0

    def circled_share(self, box: Box) -> float:
        """Ink over the part of a circle area the form leaves blank. A circle around a printed word
        crosses the word, which is no place for ink; on a legacy form with options 2 mm apart the word
        fills most of the area, and the share of the whole area would hide the circle."""
        x0, y0, x1, y1 = self.px(box)
        m = self.ink(box)
        free = int((~self.printed[y0:y1, x0:x1]).sum())
        return float(m.sum()) / free if free else 0.0


Mark = tuple[int, int, int, int]


def unread(marks: list[Mark], cols: tuple[int, int] | None) -> bool:
    """Whether a faint mark is not wholly inside the columns ``[x0, x1)`` of the crop the recogniser is
    shown (None: nothing of the box is read): writing the reading cannot contain."""
    if cols is None:
        return bool(marks)
    return any(x < cols[0] or x + w > cols[1] for x, _, w, _ in marks)


def uncounted(marks: list[Mark], cols: tuple[int, int], spans: list[tuple[int, int]]) -> int:
    """How many faint marks inside the crop stand beside, not over, the marks counted on the ink mask
    (``spans``: their columns, in the box's pixels). A faint '0' between dark digits is shown to the
    recogniser but not counted, so a reading that drops it agrees with the count; counted, it does not."""
    n = 0
    for x, _, w, _ in marks:
        if x < cols[0] or x + w > cols[1]:
            continue
        if all(min(x + w, b) - max(x, a) <= 0.5 * min(w, b - a) for a, b in spans):
            n += 1
    return n


def _conf_from_margin(share: float, level: float) -> float:
    """How sure a mark decision is: 0.5 at the threshold, 1.0 at twice (or zero) the threshold."""
    return float(0.5 + 0.5 * min(1.0, abs(share - level) / level))


def _reading(
    lay: FieldLayout,
    value: object,
    raw: str,
    conf: float,
    chars: list[float] | None = None,
    reasons: list[Reason] | None = None,
) -> FieldReading:
    return FieldReading(
        name=lay.spec.name,
        type=lay.spec.type,
        value=value,
        raw=raw,
        confidence=float(conf),
        box=lay.zone,
        char_confidences=chars or [],
        reasons=reasons or [],
    )


#: Why a reading with faint writing beside it is not trusted: the recogniser never saw that writing,
#: and the digit count, made on the same ink, agrees with the shortened reading.
FAINT_UNREAD = Reason(
    "faint_unread",
    "薄くて読み取られていない文字がある可能性があります。用紙と照らし合わせてください",
    "faint writing in the box may not have been read: check against the form",
)

COUNT_MISMATCH = Reason(
    "count_mismatch",
    "書かれた文字の数と読み取った文字の数が合いません（数字や小数点の読み落とし）",
    "the number of marks on paper and of characters read differ (a digit or point missed)",
)

# --- free text ------------------------------------------------------------------------------------------


def allowed_chars(spec: FieldSpec) -> frozenset[str]:
    """The characters a field may hold (読取文字種): its kind's charset. Marks hold none."""
    charset = spec.kind.charset
    if charset is None:
        raise ValueError(f"field {spec.name}: a {spec.type} is read as marks, not characters")
    return charset(spec)


def free_value(spec: FieldSpec, text: str) -> tuple[object, list[Reason]]:
    """A free-box reading as the field's value type."""
    value = spec.kind.value
    if value is Value.INTEGER:
        digits = "".join(c for c in text if c.isdigit())
        if not digits:
            return None, [Reason("not_a_number", "金額として読めません", "not an amount")]
        return int(digits), []
    if value is Value.POSTAL:
        digits = "".join(c for c in text if c.isdigit())
        if len(digits) != 7:
            return digits or None, [
                Reason("postal_incomplete", "郵便番号が7桁そろっていません", "postal code is not 7 digits")
            ]
        return normalize.postal(digits), []
    if value is Value.DIGITS:
        return "".join(c for c in text if c.isdigit()) or None, []
    return text or None, []


def _drop_blank_reads(dec: Decoded, crop: np.ndarray) -> list[tuple[str, tuple[int, int]]]:
    """The characters read, without spaces and without any read where the crop has no ink at all.

    Between family and given name the recogniser sometimes fills the blank with a character (ー); a
    character needs ink under it, even faint (anything darker than paper, within half a frame).
    """
    px = 8 * crop.shape[0] / 48  # recogniser frames are 8 input pixels wide at height 48
    cols = np.asarray((crop < 200).any(axis=0))
    out = []
    for ch, (t0, t1) in zip(dec.text, dec.spans, strict=False):
        if ch.isspace():
            continue
        if cols[max(int((t0 - 0.5) * px), 0) : int((t1 + 1.5) * px) + 1].any():
            out.append((ch, (t0, t1)))
    return out


def _insert_name_spaces(dec: Decoded, mask: np.ndarray, crop: np.ndarray, left: int) -> str:
    """Put one full-width space where the writer left the gap between family and given name.

    The recogniser's own space predictions are unreliable on handwriting, so they are dropped. A name
    has one such gap: the widest run of empty columns, if it is at least half the ink height and
    clearly wider (1.6×) than any gap between characters. ``left``: crop columns before the mask's first.
    """
    kept = _drop_blank_reads(dec, crop)
    crop_h = crop.shape[0]
    out = [ch for ch, _ in kept]
    if len(kept) < 2:
        return "".join(out)
    ink_h = int(mask.any(axis=1).sum()) or crop_h
    gaps = sorted(column_gaps(mask, max(2, int(ink_h * 0.15))), key=lambda g: g[1] - g[0], reverse=True)
    if not gaps:
        return "".join(out)
    g0, g1 = gaps[0]
    width = g1 - g0
    if width < ink_h * 0.5 or (len(gaps) > 1 and width < 1.6 * (gaps[1][1] - gaps[1][0])):
        return "".join(out)
    # Recogniser frames are 8 input pixels wide at height 48.
    frame = ((g0 + g1) / 2 + left) * 48 / crop_h / 8
    for i in range(len(kept) - 1):
        if kept[i][1][1] < frame < kept[i + 1][1][0]:
            out.insert(i + 1, FULL_SPACE)
            break
    return "".join(out)


def plan_text(lay: FieldLayout, z: Zones) -> Plan:
    box = lay.zone.inset(LINE_INSET_MM)
    mask = z.ink(box)
    bbox = ink_bbox(mask)
    if bbox is None or bbox[3] < z.k * 1.2:
        empty = [FAINT_UNREAD] if unread(z.faint(box, mask), None) else []
        return Plan(finish=lambda _: _reading(lay, None, "", EMPTY_CONFIDENCE, reasons=list(empty)))
    pad = int(z.k * 0.6)
    cols = (bbox[0] - pad, bbox[0] + bbox[2] + pad)
    marks = z.faint(box, mask)
    faint = unread(marks, cols)
    crop = pad_crop(z.gray(box), bbox, pad)
    x, y, w, h = bbox
    sub = mask[y : y + h, x : x + w]
    allowed = allowed_chars(lay.spec)
    kind = lay.spec.kind

    def finish(decs: list[Decoded]) -> FieldReading:
        d = decs[0]
        if kind.spaced:
            text = _insert_name_spaces(d, sub, crop, pad + min(bbox[0], pad))
        else:
            # Spaces inside an address or a phone number carry no meaning and are read unreliably.
            text = "".join(d.text.split())
        value, reasons = free_value(lay.spec, text)
        if faint:
            reasons.append(FAINT_UNREAD)
        if counted is not None and text and counted != len(text):
            reasons.append(COUNT_MISMATCH)
        if line_ink is not None and (runs := digit_run_doubts(d, line_ink)):
            reasons.append(address_digits_reason(runs))
        # A name goes to a person only when the reading of a variant is in doubt: the model gave a variant
        # real weight, it read a rare or old form, or it has no class for a form the name may be
        # registered in (崎 read: 﨑 could not have been). A common character read confidently passes.
        variant_rivals = [r for r in d.rivals if r[1] in watch_table().get(r[0], "")]
        # In free text and addresses an old or rare form read (黑 for 黒) is doubtful too: people write
        # the common form there, and the recogniser's old-form classes win on a heavy or brushed hand.
        doubtful = (
            variant_doubts(text, variant_rivals, d.unseen)
            if kind.watch is Watch.NAME
            else variant_doubts(text)
            if kind.watch is Watch.WORDS
            else []
        )
        if doubtful:
            reasons.append(
                Reason(
                    "name_variant",
                    f"異体字の読み違いの可能性があります（{'、'.join(doubtful)}）。用紙と同じ字か確認してください",
                    f"variant kanji may be confused ({', '.join(doubtful)}): check against the form",
                )
            )
        confused = lookalikes.doubts(text, d.rivals, name=kind.watch is Watch.NAME) if watch else []
        if confused:
            reasons.append(
                Reason(
                    "lookalike",
                    f"形の似た文字の読み違いの可能性があります（{'、'.join(confused)}）。用紙と同じ字か確認してください",
                    f"look-alike characters may be confused ({', '.join(confused)}): check against the form",
                )
            )
        if kind.person_name and text and FULL_SPACE not in text and len(text) >= 2:
            # Every Japanese name has a family and a given part; if the gap between them was not seen,
            # a person must say where it is rather than the record going out as one word.
            reasons.append(
                Reason(
                    "name_split",
                    "姓と名の区切りが読み取れません（間を空けてください）",
                    "cannot see where the family name ends",
                )
            )
        if d.suppressed > 0.5:
            reasons.append(
                Reason(
                    "unexpected_char",
                    "この欄に使えない文字が書かれている可能性があります",
                    "may contain a character this field does not allow",
                )
            )
        return _reading(lay, value, text, d.confidence, d.char_conf, reasons)

    # Digits are one mark each: if the marks on paper and the characters read disagree, a digit (or a
    # decimal point) was dropped or doubled, which the recogniser's confidence does not show.
    counted = (
        glyph_count(sub) + uncounted(marks, cols, [(a + bbox[0], b + bbox[0]) for a, b in glyph_spans(sub)])
        if kind.count_marks
        else None
    )
    # An address's numbers (1064番地, 201号室) are read as part of a line of kanji, where a dropped
    # digit is not even a low-confidence character: each run of digits is counted on paper as well.
    line_ink = hysteresis_ink(crop, z_min_pixels(z)) if kind.address else None
    # Names watch variant kanji and look-alikes; other writing in words watches look-alikes (ト/卜, リ/り).
    watch = (
        lookalikes.merged_watch(watch_table(), lookalikes.rival_table())
        if kind.watch is Watch.NAME
        else lookalikes.rival_table()
        if kind.watch is not None
        else None
    )
    return Plan([Crop(stretched(crop, allowed), allowed, watch=watch)], finish)


# --- addresses ------------------------------------------------------------------------------------------

#: Characters of a block number as one line reads it: digits and the hyphens between them.
_DIGIT_RUN = frozenset("0123456789-ー")


def z_min_pixels(z: Zones) -> int:
    """The smallest ink component :meth:`Zones.ink` keeps (specks are no strokes)."""
    return max(4, int(z.k * z.k * 0.08))


#: A handwritten digit is about this share of its height wide; a mark twice that wide is two digits
#: written into each other (a hyphen run into the 4 after it).
DIGIT_ASPECT = 0.6


def digit_run_doubts(dec: Decoded, ink: np.ndarray) -> list[str]:
    """Runs of digits (and hyphens) read in a line with fewer characters than marks on paper there.

    The recogniser drops a digit or a hyphen without losing confidence (1064 → 106, 17 → 1, 6-5-4 →
    6-54); the ink does not: each digit or hyphen is one mark (:func:`ocr.imaging.glyph_boxes`), and a
    mark as wide as two digits counts two (``DIGIT_ASPECT`` of the run's digit height each). A run's
    place on paper lies between the midpoints of its neighbours' frames (8 input pixels per frame at
    the recogniser's height of 48). Only more marks than characters is doubted: fewer is what
    touching handwriting looks like. On generated handwriting this saw 89 % of the digits and hyphens
    taken out of correct readings, and doubted none of the correct ones.
    """
    px = 8 * ink.shape[0] / 48
    chars = [(c, s) for c, s in zip(dec.text, dec.spans, strict=False) if not c.isspace()]
    marks = glyph_boxes(ink)
    out = []
    i = 0
    while i < len(chars):
        if chars[i][0] not in _DIGIT_RUN:
            i += 1
            continue
        j = i
        while j < len(chars) and chars[j][0] in _DIGIT_RUN:
            j += 1
        run = "".join(c for c, _ in chars[i:j])
        lo = (chars[i - 1][1][1] + chars[i][1][0] + 1) / 2 * px if i > 0 else -np.inf
        hi = (chars[j - 1][1][1] + chars[j][1][0] + 1) / 2 * px if j < len(chars) else np.inf
        inside = [m for m in marks if lo <= (m[0] + m[1]) / 2 < hi]
        if any(c.isdigit() for c in run) and inside:
            heights = [y1 - y0 for _, _, y0, y1 in inside]
            unit = DIGIT_ASPECT * float(np.median([h for h in heights if h >= 0.5 * max(heights)]))
            counted = sum(max(1, int((x1 - x0) / unit + 0.5)) for x0, x1, _, _ in inside)
            if counted > len(run):
                out.append(run)
        i = j
    return out


def address_digits_reason(runs: list[str]) -> Reason:
    shown = "、".join(runs)
    return Reason(
        "address_digit_count",
        f"住所の数字「{shown}」より用紙に書かれた字の数が多く見えます（数字かハイフンの読み落とし）",
        f"more marks on paper than the address digits {', '.join(runs)} read (a digit or hyphen dropped)",
    )


CELLS_LINE_MISMATCH = Reason(
    "cells_line_mismatch",
    "マスごとの読み取りと、続けて読んだ読み取りが合いません（数字の読み違いの可能性）",
    "the cells read one by one and read as a line disagree (a digit may be misread)",
)


# --- comb cells -----------------------------------------------------------------------------------------


def cell_inside(cell: Box) -> Box:
    """The part of a comb cell the reader looks at: its frame left out."""
    return cell.inset(min(cell.w, cell.h) * CELL_INSET)


def _cell_filled(z: Zones, cell: Box) -> tuple[bool, np.ndarray, tuple[int, int, int, int] | None]:
    inner = cell_inside(cell)
    mask = z.ink(inner)
    bbox = ink_bbox(mask)
    filled = bbox is not None and max(bbox[2], bbox[3]) >= z.k * 1.2 and mask.mean() > 0.004
    return filled, mask, bbox


def _cells_text(
    lay: FieldLayout,
    z: Zones,
    cells: list[Box],
    allowed: frozenset[str],
    on_done: Callable[[str, list[float], list[Reason], list[bool]], FieldReading],
    line_check: bool = False,
) -> Plan:
    """Read comb cells one character per cell; empty cells between characters become spaces.

    Each filled cell is read on its own (one character, so none can be dropped or doubled) and the
    filled cells are read once more as a line, which gives the model the context of the neighbours.
    Where both reads agree the character keeps the better confidence; where they differ the better
    read wins with its confidence halved, so the field goes to review. ``line_check`` (an address's
    block numbers): any disagreement, the line's length included, is also a reason.
    """
    filled = [_cell_filled(z, c) for c in cells]
    flags = [f[0] for f in filled]
    # A cell taken for empty that holds faint writing: a digit left out, or the whole field missed.
    faint = any(
        not ok and unread(z.faint(cell_inside(c), mask), None)
        for c, (ok, mask, _) in zip(cells, filled, strict=True)
    )
    pad = int(z.k * 0.5)
    crops = []
    for cell, ok in zip(cells, flags, strict=True):
        if ok:
            g = z.gray(cell_inside(cell))
            crops.append(Crop(pad_crop(g, (0, 0, g.shape[1], g.shape[0]), pad), allowed, single=True))
    n = len(crops)
    if n >= 2:
        line = np.hstack([c.image for c in crops])
        crops.append(Crop(line, allowed))

    def finish(decs: list[Decoded]) -> FieldReading:
        cell_decs = decs[:n]
        line = decs[n].text.replace(" ", "") if len(decs) > n else ""
        line_conf = decs[n].char_conf if len(decs) > n else []
        chars, confs = [], []
        reasons: list[Reason] = []
        if line_check and n >= 2 and len(line) != n:
            reasons.append(CELLS_LINE_MISMATCH)
        if faint:
            reasons.append(FAINT_UNREAD)
        it = iter(enumerate(cell_decs))
        for ok in flags:
            if not ok:
                chars.append(" ")
                continue
            i, d = next(it)
            ch, conf = (d.text[:1], d.confidence) if d.text else ("?", 0.0)
            if len(line) == n:
                lc = line_conf[i] if i < len(line_conf) else 0.0
                if line[i] == ch:
                    conf = max(conf, lc)
                else:
                    ch, conf = (line[i], lc / 2) if lc > conf else (ch, conf / 2)
                    if line_check and CELLS_LINE_MISMATCH not in reasons:
                        reasons.append(CELLS_LINE_MISMATCH)
            chars.append(ch)
            confs.append(conf)
        return on_done("".join(chars), confs, reasons, flags)

    return Plan(crops, finish)


def plan_comb(lay: FieldLayout, z: Zones) -> Plan:
    kind = lay.spec.kind
    allowed = charsets.DIGITS if kind.value is Value.INTEGER else allowed_chars(lay.spec) - frozenset(" -〒")

    def done(cells_text: str, confs: list[float], reasons: list[Reason], flags: list[bool]) -> FieldReading:
        conf = min(confs) if confs else EMPTY_CONFIDENCE
        stripped = cells_text.strip()
        if not stripped:
            return _reading(lay, None, "", conf, reasons=reasons)
        if kind.value is Value.TEXT and kind.spaced:
            value: object = FULL_SPACE.join(stripped.split())
        elif kind.value is Value.POSTAL:
            digits = cells_text.replace(" ", "")
            value = normalize.postal(digits)
            if len(digits) != 7 or " " in stripped:
                reasons.append(
                    Reason(
                        "postal_incomplete", "郵便番号が7桁そろっていません", "postal code is not 7 digits"
                    )
                )
        elif kind.value is Value.INTEGER:
            digits = stripped.replace(" ", "")
            value = int(digits) if digits.isdigit() else None
        else:
            value = stripped.replace(" ", "")
        if "?" in stripped:
            reasons.append(Reason("unreadable_cell", "読めないマスがあります", "a cell could not be read"))
        return _reading(lay, value, cells_text.rstrip(), conf, confs, reasons)

    return _cells_text(lay, z, lay.cells, allowed, done)


def plan_address_parts(lay: FieldLayout, z: Zones) -> Plan:
    """An address asked for in parts: the town and the building read as free text, 丁目・番地・号 one
    digit a comb cell. The value is one address string (town, numbers with their units, a space, the
    building); the prefecture and city are added from the postal code when the page is checked
    (:func:`validation.routing.complete_addresses`)."""
    import dataclasses

    def free(part: str) -> Plan:
        return plan_text(dataclasses.replace(lay, zone=lay.parts[part][0], cells=[], parts={}, texts=[]), z)

    town, building = free("town"), free("building")
    groups = [(p, u, len(lay.parts[p])) for p, u in (("chome", "丁目"), ("ban", "番地"), ("go", "号"))]
    unit_en = {"丁目": "chome", "番地": "banchi", "号": "go"}
    got: dict[str, object] = {}

    def cells_done(text: str, confs: list[float], reasons: list[Reason], flags: list[bool]) -> FieldReading:
        got.update(text=text, confs=confs, reasons=reasons)
        return _reading(lay, None, text, min(confs) if confs else EMPTY_CONFIDENCE, confs, reasons)

    cells = [c for p, _, _ in groups for c in lay.parts[p]]
    blocks = _cells_text(lay, z, cells, charsets.DIGITS, cells_done, line_check=True)
    plans = [town, blocks, building]
    crops = [c for p in plans for c in p.crops]

    def finish(decs: list[Decoded]) -> FieldReading:
        out, i = [], 0
        for p in plans:
            assert p.finish is not None
            out.append(p.finish(decs[i : i + len(p.crops)]))
            i += len(p.crops)
        t, b, g = out
        reasons = [*t.reasons, *b.reasons, *g.reasons]
        text = str(got.get("text", ""))
        numbers, k = [], 0
        for _, unit, size in groups:
            cell = text[k : k + size]
            k += size
            digits = cell.strip()
            if " " in digits or "?" in digits:
                reasons.append(
                    Reason(
                        "address_cells",
                        f"{unit}のマスの間が空いているか、読めないマスがあります",
                        f"a {unit_en[unit]} ({unit}) cell is empty between digits, or unreadable",
                    )
                )
            numbers.append((digits.replace(" ", ""), unit))
        if numbers[0][0] and numbers[2][0] and not numbers[1][0]:
            reasons.append(
                Reason("address_cells", "丁目と号があって番地がありません", "丁目 and 号 without 番地")
            )
        town_text = str(t.value or "")
        block_text = "".join(f"{digits}{unit}" for digits, unit in numbers if digits)
        joint = "-" if town_text[-1:].isdigit() and block_text else ""
        value = f"{town_text}{joint}{block_text}" + (f" {g.value}" if g.value else "")
        raw = " | ".join(x for x in (t.raw, text.rstrip(), g.raw) if x)
        confs = [r.confidence for r in out]
        chars = [*t.char_confidences, *b.char_confidences, *g.char_confidences]
        unique = list(dict.fromkeys(reasons))
        return _reading(lay, value or None, raw, min(confs), chars, unique)

    return Plan(crops, finish)


# --- dates ----------------------------------------------------------------------------------------------


def _marks_state(lay: FieldLayout, z: Zones, level: float, grow: float) -> list[tuple[str, float]]:
    out = []
    for m in lay.marks:
        out.append((m.value, z.ink_share(m.box.grow(grow))))
    return out


def _circled_era(lay: FieldLayout, z: Zones) -> tuple[str | None, float, list[Reason]]:
    """A legacy form that prints the eras (5.昭和 7.平成 9.令和): the one circled, how sure, and why not."""
    shares = [(m.value, z.circled_share(m.box)) for m in lay.marks]
    circled = [v for v, s in shares if s > CIRCLE_LEVEL]
    conf = min(_conf_from_margin(s, CIRCLE_LEVEL) for _, s in shares)
    if len(circled) > 1:
        reason = Reason("multiple_circles", "元号が複数○で囲まれています", "more than one era circled")
        return None, min(conf, 0.2), [reason]
    return (circled[0] if circled else None), conf, []


def plan_date(lay: FieldLayout, z: Zones) -> Plan:
    spec = lay.spec
    era_conf = 1.0
    era_reasons: list[Reason] = []
    era: str | None
    if len(spec.eras) == 1:
        era = spec.eras[0]
    elif spec.part_boxes:  # a legacy form's comb cells, with the eras printed to circle
        era, era_conf, era_reasons = _circled_era(lay, z)
    else:
        shares = _marks_state(lay, z, TICK_LEVEL, TICK_GROW_MM)
        ticked = [(v, s) for v, s in shares if s > TICK_LEVEL]
        era = ticked[0][0] if len(ticked) == 1 else None
        era_conf = min(_conf_from_margin(s, TICK_LEVEL) for _, s in shares)
        if len(ticked) > 1:
            era_conf = 0.0
    parts = ["year", "month", "day"]
    cells = [c for p in parts for c in lay.parts[p]]

    def done(cells_text: str, confs: list[float], reasons: list[Reason], flags: list[bool]) -> FieldReading:
        y, m, d = (cells_text[i : i + 2].strip() for i in (0, 2, 4))
        reasons = [*era_reasons, *reasons]
        raw = f"{era or '?'}{y}年{m}月{d}日"
        conf = min([era_conf, *confs]) if confs else era_conf
        if not (y or m or d) and era is None:
            return _reading(
                lay,
                None,
                "",
                min(era_conf, EMPTY_CONFIDENCE),
                reasons=[r for r in reasons if r is FAINT_UNREAD],
            )
        if era is None:
            reasons.append(
                Reason(
                    "era_unclear",
                    "元号の✓が読み取れません（なし、または複数）",
                    "era tick unclear (none or several)",
                )
            )
            return _reading(lay, None, raw, min(conf, 0.3), confs, reasons)
        try:
            value = from_wareki(era, int(y), int(m), int(d)).isoformat()
        except (ValueError, WarekiError) as exc:
            ja, en = (
                (exc.ja, exc.en)
                if isinstance(exc, WarekiError)
                else ("日付が読み取れません", "date unreadable")
            )
            reasons.append(Reason("date_invalid", ja, en))
            return _reading(lay, None, raw, min(conf, 0.3), confs, reasons)
        return _reading(lay, value, raw, conf, confs, reasons)

    return _cells_text(lay, z, cells, charsets.DIGITS, done)


_ERA_CHARS = frozenset("".join(e.name for e in ERAS) + "元")
_ERA_RE = re.compile(rf"^({'|'.join(e.name for e in ERAS)})?(元|\d{{1,4}})$")


def parse_year(text: str, default_era: str | None) -> tuple[str | None, int] | None:
    """(era, year) from a year box: 「昭和50」, 「50」 with a default era, or 「1975」 (era None: western)."""
    m = _ERA_RE.match(text)
    if not m:
        return None
    era, num = m.group(1), m.group(2)
    year = 1 if num == "元" else int(num)
    if era:
        return era, year
    if len(num) == 4:
        return None, year
    return (default_era, year) if default_era else None


def plan_date_parts(lay: FieldLayout, z: Zones) -> Plan:
    """A date written into a legacy form's own 「　年　月　日」 boxes."""
    spec = lay.spec
    plans: dict[str, Crop | None] = {}
    counts: dict[str, int] = {}
    faint = False
    for part in ("era", "year", "month", "day") if spec.era_codes else ("year", "month", "day"):
        box = lay.parts[part][0]
        mask = z.ink(box.inset(PART_INSET_MM))
        bbox = ink_bbox(mask)
        pad = int(z.k * 0.6)
        cols = None if bbox is None else (bbox[0] - pad, bbox[0] + bbox[2] + pad)
        marks = z.faint(box.inset(PART_INSET_MM), mask)
        faint = faint or unread(marks, cols)
        if bbox is None:
            plans[part] = None
            continue
        allowed = charsets.DIGITS | (_ERA_CHARS if part == "year" else frozenset())
        image = pad_crop(z.gray(box.inset(PART_INSET_MM)), bbox, pad)
        plans[part] = Crop(stretched(image, allowed), allowed)
        x, y, w, h = bbox
        sub = mask[y : y + h, x : x + w]
        assert cols is not None
        counts[part] = glyph_count(sub) + uncounted(
            marks, cols, [(a + x, b + x) for a, b in glyph_spans(sub)]
        )
    crops = [c for c in plans.values() if c is not None]
    default_era = spec.eras[0] if len(spec.eras) == 1 else None
    era_conf, era_reasons = 1.0, list[Reason]()
    if lay.marks:
        circled, era_conf, era_reasons = _circled_era(lay, z)
        default_era = circled or default_era

    def finish(decs: list[Decoded]) -> FieldReading:
        it = iter(decs)
        texts: dict[str, str] = {}
        confs: list[float] = []
        for part, crop in plans.items():
            if crop is None:
                texts[part] = ""
                continue
            d = next(it)
            texts[part] = "".join(d.text.split())
            confs.append(d.confidence)
        raw = f"{texts['year']}年{texts['month']}月{texts['day']}日"
        conf = min([*confs, era_conf]) if confs else min(EMPTY_CONFIDENCE, era_conf)
        era_of_code = default_era
        if spec.era_codes:  # 「7」 in the era box: 平成
            code = texts.pop("era", "")
            raw = f"{code}:{raw}"
            era_of_code = spec.era_codes.get(code)
            if era_of_code is None and any(texts.values()):
                reason = Reason(
                    "era_code",
                    f"元号の番号「{code}」が様式の番号（{'、'.join(f'{c}:{e}' for c, e in spec.era_codes.items())}）にありません",
                    f"era code {code!r} is none of the form's ({', '.join(spec.era_codes)})",
                )
                return _reading(lay, None, raw, min(conf, 0.3), confs, [reason])
        mismatch = [p for p in ("month", "day") if texts[p] and counts.get(p) != len(texts[p])]
        reasons: list[Reason] = list(era_reasons) + ([FAINT_UNREAD] if faint else [])
        if not any(texts.values()):
            return _reading(lay, None, "", conf, reasons=[FAINT_UNREAD] if faint else None)
        year = parse_year(texts["year"], era_of_code)
        try:
            if year is None:
                raise WarekiError(
                    "年が読み取れません（元号と年を確認してください）", "the year (era) is unclear"
                )
            era, y = year
            m_, d_ = int(texts["month"] or 0), int(texts["day"] or 0)
            value = (dt.date(y, m_, d_) if era is None else from_wareki(era, y, m_, d_)).isoformat()
            if mismatch or (texts["year"].isdigit() and counts.get("year") != len(texts["year"])):
                reasons.append(COUNT_MISMATCH)
        except (ValueError, WarekiError) as exc:
            ja, en = (
                (exc.ja, exc.en)
                if isinstance(exc, WarekiError)
                else ("日付が読み取れません", "date unreadable")
            )
            reasons.append(Reason("date_invalid", ja, en))
            return _reading(lay, None, raw, min(conf, 0.3), confs, reasons)
        return _reading(lay, value, raw, conf, confs, reasons)

    return Plan(crops, finish)


# --- marks ----------------------------------------------------------------------------------------------


def plan_checkboxes(lay: FieldLayout, z: Zones) -> Plan:
    shares = _marks_state(lay, z, TICK_LEVEL, TICK_GROW_MM)
    ticked = [v for v, s in shares if s > TICK_LEVEL]
    conf = min(_conf_from_margin(s, TICK_LEVEL) for _, s in shares)
    raw = ",".join(ticked)
    reasons = []
    value: object
    if lay.spec.kind.shape is Shape.TICK:
        value = bool(ticked)
    elif lay.spec.exclusive:
        value = ticked[0] if len(ticked) == 1 else None
        if len(ticked) > 1:
            reasons.append(
                Reason(
                    "multiple_ticks",
                    "1つだけ選ぶ欄で複数に✓があります",
                    "several boxes ticked where only one is allowed",
                )
            )
            conf = min(conf, 0.2)
    else:
        value = ticked
    return Plan(finish=lambda _: _reading(lay, value, raw, conf, reasons=reasons))


def plan_choice(lay: FieldLayout, z: Zones) -> Plan:
    shares = [(m.value, z.circled_share(m.box)) for m in lay.marks]
    circled = [v for v, s in shares if s > CIRCLE_LEVEL]
    conf = min(_conf_from_margin(s, CIRCLE_LEVEL) for _, s in shares)
    reasons = []
    value = circled[0] if len(circled) == 1 else None
    if len(circled) > 1:
        reasons.append(
            Reason("multiple_circles", "複数の選択肢が○で囲まれています", "more than one option circled")
        )
        conf = min(conf, 0.2)
    return Plan(finish=lambda _: _reading(lay, value, ",".join(circled), conf, reasons=reasons))


def plan_signature(lay: FieldLayout, z: Zones) -> Plan:
    mask = z.ink(lay.zone.inset(LINE_INSET_MM))
    bbox = ink_bbox(mask)
    share = float(mask.mean()) if mask.size else 0.0
    present = share > SIGNATURE_LEVEL and bbox is not None and bbox[2] > z.k * 5
    conf = _conf_from_margin(share, SIGNATURE_LEVEL)
    return Plan(finish=lambda _: _reading(lay, present, "署名あり" if present else "", conf))


def plan_lines(lay: FieldLayout, z: Zones) -> Plan:
    """Free text on several lines, or in pieces between printed separators: each line or piece read
    on its own (:func:`plan_text` on its box), the value them joined (LINE_JOIN, or the field's
    ``joiner``); as sure as its least sure part, with every part's doubts."""
    plans = [plan_text(replace(lay, zone=band), z) for band in line_bands(lay.spec)]

    def finish(decs: list[Decoded]) -> FieldReading:
        readings, at = [], 0
        for p in plans:
            n = len(p.crops)
            assert p.finish is not None
            readings.append(p.finish(decs[at : at + n]))
            at += n
        texts = [r.raw for r in readings]
        while texts and not texts[-1] and not lay.spec.pieces:
            texts.pop()  # lines left empty at the end are no part of the text
        text = (lay.spec.joiner if lay.spec.pieces else LINE_JOIN).join(texts) if any(texts) else ""
        value, reasons = free_value(lay.spec, text) if text else (None, [])
        for r in readings:
            reasons += [x for x in r.reasons if x not in reasons]
        return _reading(lay, value, text, min(r.confidence for r in readings), None, reasons)

    return Plan(crops=[c for p in plans for c in p.crops], finish=finish)


def planner(lay: FieldLayout) -> Callable[[FieldLayout, Zones], Plan]:
    """How a field is read, from its kind's shape (and what its layout gave it: cells, parts)."""
    kind = lay.spec.kind
    shape = kind.shape
    if shape in (Shape.LINE, Shape.COMB):
        if lay.parts and kind.address:
            return plan_address_parts
        if lay.cells:  # a COMB field always has them
            return plan_comb
        return plan_lines if lay.spec.lines or lay.spec.pieces else plan_text
    if shape is Shape.DATE:
        return plan_date_parts if lay.spec.part_boxes and not lay.spec.cells else plan_date
    if shape in (Shape.TICK, Shape.TICKS):
        return plan_checkboxes
    if shape is Shape.CIRCLE:
        return plan_choice
    if shape is Shape.SIGNATURE:
        return plan_signature
    raise ValueError(f"field {lay.spec.name}: no reader for shape {shape}")


# --- zones over the form's own print (legacy forms) -------------------------------------------------------

#: A place to write in (a line's zone, a comb cell, a date's part box: what the reader crops) whose area
#: is this much the form's printed *text* (ruled and dotted lines left out, grown as the reader grows
#: the print it removes) loses what is written there, and a zone drawn over a label reads as empty.
#: Measured at the reader's resolution on the six real forms in shared/forms: of the 389 text boxes
#: people drew there, the 373 on cells to write in are at most 0.07 (a 「〒 -」 printed in a postal
#: box), the 12 drawn over printed options 0.49-0.59 (4 more, over a cell with 「0.無 1.有」 at its
#: right, 0.09); of the printed cells nobody drew a box in (labels: 氏名, 種別, 備考) nine in ten are
#: 0.12 or more. The shipped legacy templates' places to write in are at most 0.01.
PRINT_SHARE_LIMIT = 0.10
#: An option's circle area or a tick box is meant to hold the printed word or □, and the reader looks
#: for the mark in what is left blank (:meth:`Zones.circled_share`); with less blank than this it sees
#: none. The shipped forms' tightest option boxes (「5.男（基金）」, 12 % blank) read right.
MARK_BLANK_MIN = 0.05
#: A reading over print goes to a person whatever its threshold.
ON_PRINT_CONFIDENCE = 0.0


@dataclass(frozen=True)
class PrintCover:
    """The place of a field most covered by the form's print: how much of what the reader looks at
    there is print (0-1), which place (named as the template names it, and its box as drawn), and
    whether it is a mark (an option or tick box) or a place to write."""

    share: float
    where: str
    box: Box
    mark: bool


@dataclass(frozen=True)
class Area:
    """One place the reader looks at: its name in the template, the box drawn there, what is cropped."""

    where: str
    drawn: Box
    crop: Box


def read_areas(lay: FieldLayout) -> tuple[list[Area], list[Area]]:
    """The places the reader looks at for one field, cropped as the planners crop them: places to
    write in, and marks (option and tick boxes)."""
    read = planner(lay)
    kind = lay.spec.kind
    writes: list[Area] = []
    if read in (plan_text, plan_signature):
        writes = [Area("box", lay.zone, lay.zone.inset(LINE_INSET_MM))]
    elif read is plan_comb:
        writes = [Area(f"cells[{i + 1}]", c, cell_inside(c)) for i, c in enumerate(lay.cells)]
    elif read is plan_date_parts:
        writes = [Area(f"part_boxes.{p}", c[0], c[0].inset(PART_INSET_MM)) for p, c in lay.parts.items()]
    else:  # comb cells in parts (a date's, an address's block numbers); an address's free parts
        for p, cells in lay.parts.items():
            if kind.address and p in ("town", "building"):
                writes += [Area(f"part_boxes.{p}", c, c.inset(LINE_INSET_MM)) for c in cells]
            else:
                writes += [Area(f"part_boxes.{p}[{i + 1}]", c, cell_inside(c)) for i, c in enumerate(cells)]
    circled = read is plan_choice or (kind.shape is Shape.DATE and bool(lay.spec.part_boxes))
    marks = [
        Area(f"options[{m.value}]", m.box, m.box if circled else m.box.grow(TICK_GROW_MM)) for m in lay.marks
    ]
    return writes, marks


def print_cover(
    lay: FieldLayout, text: np.ndarray, printed: np.ndarray, px_per_mm: float
) -> PrintCover | None:
    """Where one field's zone covers the form's print too much to be read, or None.

    ``text``: the blank form's printed text (:func:`ocr.imaging.printed_text`); ``printed``: all of its
    print as the reader removes it (:func:`ocr.imaging.printed_mask`), both at ``px_per_mm``.
    """

    def share(mask: np.ndarray, box: Box) -> float:
        x0, y0, x1, y1 = box_px(box, px_per_mm)
        part = mask[y0:y1, x0:x1]
        return float(part.mean()) if part.size else 0.0

    writes, marks = read_areas(lay)
    found = [PrintCover(share(text, a.crop), a.where, a.drawn, False) for a in writes]
    found += [PrintCover(share(printed, a.crop), a.where, a.drawn, True) for a in marks]
    over = [c for c in found if (c.share > 1 - MARK_BLANK_MIN if c.mark else c.share >= PRINT_SHARE_LIMIT)]
    return max(over, key=lambda c: c.share) if over else None


def on_print_reason(cover: PrintCover) -> Reason:
    """Why a reading over the form's print goes to a person (shown to the reviewer)."""
    pct = f"{cover.share:.0%}"
    if cover.mark:
        return Reason(
            "zone_on_print",
            f"選択肢の枠の{pct}が用紙の印刷で、○や✓が見えません。用紙を見て確認してください",
            f"{pct} of an option's box is the form's print, where a circle or tick cannot be seen: check the page",
        )
    return Reason(
        "zone_on_print",
        f"この欄の枠の{pct}に用紙の印刷された文字があり、そこに書かれた字は読み取れません。用紙を見て確認してください",
        f"{pct} of this field's box is the form's printed text, where writing cannot be read: check the page",
    )


def on_print(reading: FieldReading, cover: PrintCover) -> FieldReading:
    """A reading whose zone covers print: never confident, with the reason (in place, and returned)."""
    reading.confidence = min(reading.confidence, ON_PRINT_CONFIDENCE)
    reading.reasons = [*reading.reasons, on_print_reason(cover)]
    return reading
