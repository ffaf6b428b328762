"""Filled, scan-degraded sample scans with their ground truth, for the demo, tests and benchmarks.

Values come from a made-up applicant (:mod:`synth.persons`) and follow the form's own logic (an
``X_other`` text is written only when option ``other`` of ``X`` is ticked). The ground truth JSON uses
the same value shapes as ``dejiru read --json``, so a reading and its truth compare directly.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image
from reportlab.pdfgen.canvas import Canvas

from core import clock, progress
from formkit.fonts import FONTS, FORM_FONT, SAMPLE_FONTS
from formkit.kinds import Shape, Value
from formkit.layout import layout
from formkit.model import FieldSpec, Template
from formkit.render import draw_example_stamp, master_image, rasterize_pdf, render_pdf
from synth.fill import INKS, Hand, fill_canvas, filled_pdf, make_hand
from synth.persons import Person, Population, address_as_written, random_person
from synth.scan import PROFILES, ScanProfile, degrade
from validation.checks import mynumber_valid
from validation.wareki import ERAS, era_end, to_wareki

OTHER_TEXTS = ["自動車の登録", "銀行口座の開設", "不動産登記", "ビザ申請", "携帯電話の契約", "奨学金の申請"]
FORMATS = ("pdf", "png", "jpg")


def _range_rule(spec: FieldSpec) -> tuple[int, int]:
    for rule in spec.rules:
        if rule.startswith("range:"):
            lo, hi = rule.removeprefix("range:").split("-")
            return int(lo), int(hi)
    return 1, 9


def _mynumber(rng: random.Random) -> str:
    """A made-up 個人番号 with a valid check digit (so the sample passes the ``mynumber`` rule)."""
    body = "".join(str(rng.randint(0, 9)) for _ in range(11))
    return next(body + c for c in "0123456789" if mynumber_valid(body + c))


def _in_eras(iso: str, eras: list[str], rng: random.Random, today: dt.date) -> str:
    """A date the field can hold: one outside its eras (a 昭和 birth date on a form offering only 平成
    and 令和, say, a pet's) is drawn again within them, at least a month before today."""
    date = dt.date.fromisoformat(iso)
    if not eras or to_wareki(date)[0] in eras:
        return iso
    latest = today - dt.timedelta(days=30)
    spans = [(e.start, min(era_end(e) or latest, latest)) for e in ERAS if e.name in eras]
    spans = [(lo, hi) for lo, hi in spans if lo <= hi] or [(latest, latest)]
    lo, hi = rng.choice(spans)
    return (lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))).isoformat()


@dataclass(frozen=True)
class Applicant:
    """What a sampler draws from: the made-up applicant, the values' random stream, today, and the
    population someone else on the form (a doctor, an agent) comes from."""

    person: Person
    rng: random.Random
    today: dt.date
    population: Population | None


#: How a made-up applicant fills a field of a kind, by the kind's ``sample``. Each draws from
#: ``a.rng`` in a fixed order: samples are the same for the same seed.
Sampler = Callable[[FieldSpec, Applicant], Any]


def _sample_name(f: FieldSpec, a: Applicant) -> Any:
    if f.name == "name":
        return a.person.name
    return random_person(a.rng, a.today, a.population).name  # a doctor, an agent: someone else


def _sample_date(f: FieldSpec, a: Applicant) -> Any:
    if "birth" in f.name:
        return _in_eras(a.person.birth_date.isoformat(), f.eras, a.rng, a.today)
    return (a.today - dt.timedelta(days=a.rng.randint(0, 20))).isoformat()


def _sample_address(f: FieldSpec, a: Applicant) -> Any:
    if f.name == "address":
        return a.person.address
    return random_person(a.rng, a.today, a.population).address


def _sample_count(f: FieldSpec, a: Applicant) -> Any:
    lo, hi = _range_rule(f)
    return min(hi, max(lo, a.rng.choice([1, 1, 1, 2, 2, 3, 10])))


def _sample_digits(f: FieldSpec, a: Applicant) -> Any:
    if "mynumber" in f.rules:
        return _mynumber(a.rng)
    return "".join(str(a.rng.randint(0, 9)) for _ in range(f.cells or 1))


def _sample_checkboxes(f: FieldSpec, a: Applicant) -> Any:
    if f.exclusive:
        return a.rng.choice(f.options).value
    k = a.rng.choice([1, 1, 2])
    chosen = a.rng.sample([o.value for o in f.options], k)
    return [o.value for o in f.options if o.value in chosen]


def _sample_signature(f: FieldSpec, a: Applicant) -> Any:
    return a.rng.random() < 0.95 if not f.required else True


def _sample_nothing(f: FieldSpec, a: Applicant) -> Any:
    return None


SAMPLERS: dict[str, Sampler] = {
    "name": _sample_name,
    "text": _sample_nothing,  # free text only from the template's ``examples``
    "kana": lambda f, a: a.person.kana,
    "date": _sample_date,
    "postal": lambda f, a: a.person.town.postal_code,
    "phone": lambda f, a: a.person.phone,
    "address": _sample_address,
    "amount": lambda f, a: a.rng.choice([300, 350, 450, 1200, 3000, 12500]),
    "count": _sample_count,
    "digits": _sample_digits,
    "choice": lambda f, a: a.rng.choice(f.options).value,
    "checkboxes": _sample_checkboxes,
    "checkbox": lambda f, a: a.rng.random() < 0.5,
    "signature": _sample_signature,
    "none": _sample_nothing,
}
#: Samplers that win over a template's ``examples``: a person's name is always the applicant's.
OVER_EXAMPLES = frozenset({"name"})


def sampler_of(f: FieldSpec) -> Sampler:
    """The sampler a field's kind names; a KeyError names the samplers there are."""
    try:
        return SAMPLERS[f.kind.sample]
    except KeyError:
        raise KeyError(
            f"field {f.name}: unknown sampler {f.kind.sample!r} (one of: {', '.join(SAMPLERS)})"
        ) from None


def _sample_example(f: FieldSpec, rng: random.Random) -> Any:
    """A value from the template's own ``examples`` or ``example_range``."""
    if f.examples:
        return rng.choice(f.examples)
    assert f.example_range is not None
    lo, hi, decimals = f.example_range
    x = rng.uniform(lo, hi)
    if f.kind.value is Value.INTEGER:
        return round(x)  # read back as a whole number
    return f"{x:.{int(decimals)}f}" if decimals else str(round(x))


def sample_values(
    tpl: Template, rng: random.Random, today: dt.date, population: Population | None = None
) -> tuple[dict[str, Any], Person]:
    """Ground-truth values for every field of a template, for one made-up applicant (from the
    classic population unless another is given)."""
    p = random_person(rng, today, population)
    a = Applicant(p, rng, today, population)
    values: dict[str, Any] = {}
    for f in tpl.fields:
        sampler = sampler_of(f)
        if f.kind.sample not in OVER_EXAMPLES and (f.examples or f.example_range is not None):
            values[f.name] = _sample_example(f, rng)
        else:
            values[f.name] = sampler(f, a)
    for f in tpl.fields:
        # An age written as a number (digits and points, kept as text), worked out from the birth date.
        numeric = f.kind.value is Value.TEXT and f.kind.count_marks
        if f.name == "age" and numeric and "birth_date" in values:
            born = dt.date.fromisoformat(values["birth_date"])
            at = dt.date.fromisoformat(
                next(
                    (
                        values[g.name]
                        for g in tpl.fields
                        if g.kind.value is Value.DATE and g.name != "birth_date"
                    ),
                    today.isoformat(),
                )
            )
            values["age"] = str(at.year - born.year - ((at.month, at.day) < (born.month, born.day)))
    for f in tpl.fields:
        for rule in f.rules:
            name, _, cond = rule.partition(":")
            if name != "required_if":
                continue
            field_name, _, wanted = cond.partition("=")
            have = values.get(field_name)
            if not (have == wanted or (isinstance(have, list) and wanted in have)):
                values[f.name] = None  # written only when the form asks for it
            elif f.name.endswith("_other"):
                values[f.name] = rng.choice(OTHER_TEXTS)
    return values, p


@dataclass(frozen=True)
class Sample:
    path: Path
    truth_path: Path
    truth: dict[str, Any]


def render_filled(
    tpl: Template, values: dict[str, Any], hand: Hand, ink_values: dict[str, Any] | None = None
) -> bytes:
    ink = dict(values) | (ink_values or {})

    def overlay(canvas: Canvas) -> None:
        fill_canvas(canvas, tpl, ink, hand)

    return render_pdf(tpl, overlay=overlay)


def ink_values(tpl: Template, values: dict[str, Any], person: Person, seed: int) -> dict[str, Any]:
    """What the applicant writes where it differs from the stored value: their name as a signature,
    the address spelt as people spell it."""
    ink: dict[str, Any] = {
        f.name: person.name for f in tpl.fields if f.kind.shape is Shape.SIGNATURE and values.get(f.name)
    }
    for f in tpl.fields:
        if f.kind.address and values.get(f.name):
            ink[f.name] = address_as_written(values[f.name], random.Random(f"{seed}:address:{f.name}"))
    return ink


def make_sample(
    tpl: Template,
    seed: int,
    *,
    font: str | None = None,
    profile: ScanProfile | str = "office",
    dpi: int = 300,
    today: dt.date | None = None,
    writer: int | None = None,
    population: Population | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One filled, degraded page as an RGB array, and its ground truth.

    ``writer`` writes it with a KanjiVG stroke writer instead of a font; ``population`` draws the
    applicant from wider lists (:mod:`synth.splits` uses both)."""
    # Separate random streams, so a change to one (say, how addresses are written) leaves the values,
    # the hand and the scan defects of every other sample as they were.
    rng = random.Random(f"{seed}:values")
    hand_rng = random.Random(f"{seed}:hand")
    scan_rng = random.Random(f"{seed}:scan")
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    today = today or clock.today()
    values, person = sample_values(tpl, rng, today, population)
    if writer is None:
        font = font or hand_rng.choice(sorted(SAMPLE_FONTS))
    hand = make_hand(hand_rng, font=font, writer=writer, strikeout=prof.defect_prob("strikeout"))
    group = "kanjivg" if writer is not None else FONTS[hand.font].group
    pdf = render_filled(tpl, values, hand, ink_values(tpl, values, person, seed))
    px_per_mm = dpi / 25.4
    if tpl.legacy:
        # The writing, on a transparent page, laid over the form as published.
        ink = rasterize_pdf(pdf, px_per_mm, tpl.page.width_mm, transparent=True).astype(np.float32)
        base = master_image(tpl, px_per_mm).astype(np.float32)
        if base.shape[:2] != ink.shape[:2]:
            ink = cv2.resize(ink, (base.shape[1], base.shape[0]))
        alpha = ink[..., 3:4] / 255.0
        clean = (base * (1 - alpha) + ink[..., :3] * alpha).astype(np.uint8)
    else:
        clean = rasterize_pdf(pdf, px_per_mm, tpl.page.width_mm)
    seals = [  # where a seal may be pressed: over a name
        (
            round(z.x * px_per_mm),
            round(z.y * px_per_mm),
            round((z.x + z.w) * px_per_mm),
            round((z.y + z.h) * px_per_mm),
        )
        for z in (
            lay.zone
            for lay in layout(tpl)
            if (lay.spec.kind.person_name or lay.spec.kind.shape is Shape.SIGNATURE)
            and values.get(lay.spec.name)
        )
    ]
    img, info = degrade(clean, scan_rng, prof, px_per_mm, seal_boxes=seals, seal_text=person.surname[:1])
    meta: dict[str, Any] = {"seed": seed, "font": hand.kind, "font_group": group, "dpi": dpi, "scan": info}
    if population is not None:
        meta["population"] = population.name
    if hand.fallbacks:  # characters the hand could not write itself, written in a font instead
        meta["font_fallback"] = "".join(sorted(hand.fallbacks))
    if hand.struck:  # values written with a character crossed out (二重線) and written again
        meta["struck"] = list(hand.struck)
    truth = {"form": tpl.id, "version": tpl.version, "fields": values, "meta": meta}
    return img, truth


def save_scan(img: np.ndarray, path: Path, dpi: int) -> None:
    """Save as a scanner would: PNG, JPEG, or an image-only PDF."""
    pil = Image.fromarray(img)
    if path.suffix == ".pdf":
        pil.save(path, "PDF", resolution=dpi)
    elif path.suffix in (".jpg", ".jpeg"):
        pil.save(path, "JPEG", quality=90, dpi=(dpi, dpi))
    else:
        pil.save(path, "PNG", dpi=(dpi, dpi))


def write_samples(
    tpl: Template,
    out: Path,
    count: int,
    *,
    seed: int = 1,
    fmt: str = "mixed",
    font: str | None = None,
    profile: str = "office",
    dpi: int = 300,
) -> list[Sample]:
    out.mkdir(parents=True, exist_ok=True)
    samples = []
    for i in progress.track(range(count), "サンプル作成 / making samples"):
        s = seed * 100_000 + i
        img, truth = make_sample(tpl, s, font=font, profile=profile, dpi=dpi)
        ext = FORMATS[i % len(FORMATS)] if fmt == "mixed" else fmt
        stem = f"{tpl.id}_{seed:03d}_{i:04d}"
        path = out / f"{stem}.{ext}"
        save_scan(img, path, dpi)
        truth_path = out / f"{stem}.json"
        truth["file"] = path.name
        truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")
        samples.append(Sample(path, truth_path, truth))
    return samples


#: The made-up applicant on every 記入例 sheet (same seed, same person, every time it is printed).
EXAMPLE_SEED = 7


def example_pdf(tpl: Template, *, seed: int = EXAMPLE_SEED, today: dt.date | None = None) -> bytes:
    """The 記入例 sheet: the form filled in by a made-up applicant, in a pen-like hand, with a red
    「記入例」 stamp, for staff to put on the counter."""
    values, person = sample_values(tpl, random.Random(f"{seed}:values"), today or clock.today())
    font = "klee" if FONTS["klee"].path.exists() else FORM_FONT
    hand = Hand(font=font, ink=INKS["blue"], jitter=0.15, rng=random.Random(f"{seed}:hand"))
    ink = values | ink_values(tpl, values, person, seed)
    return filled_pdf(tpl, ink, hand, decorate=lambda canvas: draw_example_stamp(canvas, tpl))
