"""Labelled readings for calibration: from generated samples with ground truth, or from reviewers."""

from __future__ import annotations

import json
from collections.abc import Iterator

from formkit.model import Template
from formkit.samples import make_sample
from ocr.reader import read_page
from pipeline.context import Context
from records.models import DocStatus
from validation.calibration import Labelled
from validation.routing import validate

CONFIDENCE_ONLY = {"low_confidence"}


def from_samples(
    templates: list[Template],
    pages: int,
    seed: int,
    engine: str | None = None,
    profiles: tuple[str, ...] = ("office", "harsh"),
) -> Iterator[Labelled]:
    """Read generated scans (all fonts, given profiles) and label every field against its truth."""
    from formkit.fonts import FONTS

    fonts = sorted(FONTS)
    for i in range(pages):
        tpl = templates[i % len(templates)]
        img, truth = make_sample(
            tpl,
            seed + i,
            font=fonts[(i // len(templates)) % len(fonts)],
            profile=profiles[(i // (len(templates) * len(fonts))) % len(profiles)],
            dpi=(300, 200)[i % 2],
        )
        try:
            reading, _ = read_page(img, engine=engine)
        except Exception:  # refused pages never reach routing
            continue
        validate(tpl, reading)
        for name, want in truth["fields"].items():
            f = reading.fields[name]
            yield Labelled(
                f.type.value,
                f.confidence,
                f.value == want,
                any(r.code not in CONFIDENCE_ONLY for r in f.reasons),
            )


def from_store(ctx: Context) -> Iterator[Labelled]:
    """Fields of documents a reviewer approved: unchanged means the machine read them right."""
    for doc in ctx.store.documents([DocStatus.APPROVED, DocStatus.KEYED], limit=100_000):
        if doc.id is None or not doc.approved_by or doc.approved_by.endswith("(auto)"):
            continue
        for f in ctx.store.fields(doc.id):
            reasons = json.loads(f.ocr_reasons or "[]")
            yield Labelled(
                f.type,
                f.confidence,
                f.value == f.ocr_value and not f.unreadable,
                any(r.get("code") not in CONFIDENCE_ONLY for r in reasons),
            )
