"""Labelled readings for calibration: from generated samples with ground truth, or from production."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

from core import progress
from formkit.model import Template
from ocr.reader import read_page
from pipeline.context import Context
from records.demo import is_demo
from records.models import DocStatus
from synth.samples import make_sample
from synth.splits import TUNE, Split
from validation.calibration import Labelled
from validation.routing import validate

CONFIDENCE_ONLY = {"low_confidence"}


def from_samples(
    templates: list[Template],
    pages: int,
    seed: int,
    engine: str | None = None,
    split: Split = TUNE,
) -> Iterator[Labelled]:
    """Read generated scans and label every field against its truth.

    The pages come from the TUNE split (:mod:`synth.splits`): its fonts and stroke writers, its
    scan profiles, its half of the towns and names, seeds from ``seed`` on (which must lie in its
    range); the forms are ``templates`` in turn. HOLDOUT material is never read here, so the bench
    can measure the thresholds on something they were not fitted on."""
    for i in progress.track(range(pages), "較正用の読み取り / reading calibration pages"):
        spec = split.page(i, first_seed=seed)
        tpl = templates[i % len(templates)]
        img, truth = make_sample(
            tpl,
            spec.seed,
            font=spec.font,
            writer=spec.writer,
            profile=spec.profile,
            dpi=spec.dpi,
            population=split.population,
        )
        try:
            reading, _ = read_page(img, engine=engine)
        except Exception:  # refused pages never reach routing
            continue
        validate(tpl, reading)
        for name, want in truth["fields"].items():
            f = reading.fields[name]
            yield Labelled(
                str(f.type),
                f.confidence,
                f.value == want,
                any(r.code not in CONFIDENCE_ONLY for r in f.reasons),
            )


def from_store(ctx: Context) -> Iterator[Labelled]:
    """Labels from production, each used only where it is unbiased and weighted for what it stands for.

    The old way — every field of every document a reviewer approved, "unchanged means read right" —
    was biased: reviewers look at the fields the machine doubted, not at the ones it was sure of, so a
    confident misreading left unchanged counted as right, and the thresholds came out too low.
    Now two sources, each where it can be trusted:

    1. **Audit labels** (抜き取り検査, ``records.models.AuditLabel``): the fields the machine was sure of,
       keyed blind from the paper. Drawn at random among straight-through documents, they stand for
       *all* the fields the reader was sure of (no reason as read), including those in documents that
       went to review for another field: each gets the weight ``accepted fields of its type ÷ audited
       fields of its type`` (post-stratified by field type — it assumes a sure field in a reviewed
       document is as often wrong as one in a straight-through document of the same type).
    2. **Doubtful fields a reviewer decided** (a reason as read, document approved by a person): each
       was shown to the reviewer with its reason, so left unchanged it was read right. Weight 1.

    Sure fields of reviewed documents are not used as labels (nobody was asked to look at them), only
    counted in the weights above. A field type with no audit label yields nothing at all: the errors
    of its sure fields are unknown, and calibrating on its doubtful fields alone would spend an error
    budget that those may already use up.
    """
    audited = ctx.store.audit_labels()
    audited_by_type = Counter(label.type for label in audited)
    accepted = ctx.store.accepted_fields_by_type()
    for label in audited:
        # Never below 1: a label stands at least for itself (fields counted at read time may be gone).
        weight = max(accepted.get(label.type, 0) / audited_by_type[label.type], 1.0)
        blocked = any(r.get("code") not in CONFIDENCE_ONLY for r in json.loads(label.reasons or "[]"))
        yield Labelled(label.type, label.confidence, label.correct, blocked, weight)
    for doc in ctx.store.documents([DocStatus.APPROVED, DocStatus.KEYED], limit=100_000):
        if doc.id is None or not doc.approved_by or doc.approved_by.endswith("(auto)"):
            continue
        if is_demo(doc.sha256):
            continue  # dejiru demo-history: made up, nothing to learn from
        for f in ctx.store.fields(doc.id):
            reasons = json.loads(f.ocr_reasons or "[]")
            if not reasons or f.type not in audited_by_type:
                continue  # a sure field (stood for by the audit labels), or a type never audited
            yield Labelled(
                f.type,
                f.confidence,
                f.value == f.ocr_value and not f.unreadable,
                any(r.get("code") not in CONFIDENCE_ONLY for r in reasons),
            )
