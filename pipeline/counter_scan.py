"""A counter slip scanned back (書かない窓口): its signed QR gives the values exactly, the paper says
whether they still stand.

A slip is the form printed at the counter with the values staff typed and a QR sealing them
(:mod:`formkit.seal`, signed with this installation's key). Once the visitor has checked and signed it,
it is scanned through the inbox like any paper, and read like any paper; then, when the page carries a
seal:

* the seal must be ours and intact (:class:`~core.errors.SealForged`, ``SealNotOurs``, ``SealMalformed``
  otherwise), of the form the page is, for a slip this city hall printed (:class:`SlipUnknown`), and
  not scanned before (:class:`SlipUsed`);
* the page is compared with the print the seal's values make (:func:`ocr.print_check.check_print`):
  a field whose print is largely absent means the paper does not say what the seal says
  (:class:`SealMismatch`: the whole slip goes to a person with the reason); a field with ink beyond its
  print was corrected by hand: it goes to review with what the reader saw there;
* every other field takes the seal's value, exactly (the reader's reading of clean print is not needed,
  nor doubted); the signature is the reader's (ink in its zone), required as on any paper.

Every refusal is an :class:`~core.errors.InputError`: the reading pipeline quarantines the document with
the reason and an exception item, the scan kept. Pure except :func:`inspect`, which asks the store for
the slip.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Any

from core.errors import SealError, SealNotOurs
from formkit.kinds import Shape, Value
from formkit.layout import seal_box
from formkit.model import Box, Template
from formkit.readings import PageReading, Reason
from formkit.seal import PREFIX, Seal, read_seal, seal_key
from ocr.align import PX_PER_MM, Aligned
from ocr.print_check import PrintCheck, check_print
from ocr.qr import find_seal_texts, seal_region, source_seal_region
from pipeline.context import Context
from records.models import Channel, CounterSlip, DocStatus, Document, now
from synth.fill import expected_print

log = logging.getLogger(__name__)


class SealMismatch(SealError):
    """The paper does not show what its seal says: printed values missing or different."""

    code = "seal_mismatch"


class SlipUnknown(SealError):
    """A seal signed with our key for a slip this installation has no record of."""

    code = "seal_slip_unknown"


class SlipUsed(SealError):
    """The same slip scanned a second time (a copy, or the same paper again)."""

    code = "seal_slip_used"


#: Share of the seal's square a QR darkens at the least (its modules are about half dark, a blank
#: form prints nothing there): below it, the page carries no seal and the QR search is skipped.
MIN_SEAL_INK = 0.1


@dataclass(frozen=True)
class SlipScan:
    seal: Seal
    slip: CounterSlip
    checks: dict[str, PrintCheck]


@functools.lru_cache(maxsize=64)
def _seal_box_of(tpl_key: str, tpl_json: str) -> Box:
    return seal_box(Template.model_validate_json(tpl_json))


def _seal_ink(aligned: Aligned) -> float:
    """Share of dark pixels in the seal's own square (free of any print on a blank form)."""
    tpl = aligned.template
    box, k = _seal_box_of(tpl.key, tpl.model_dump_json()), PX_PER_MM
    y0, y1 = max(int(box.y * k), 0), int(box.y2 * k)
    x0, x1 = max(int(box.x * k), 0), int(box.x2 * k)
    square = aligned.image[y0:y1, x0:x1]
    return float((square.min(axis=2) < 128).mean()) if square.size else 0.0


def seal_on_page(aligned: Aligned) -> str | None:
    """The QR text in the page's seal area (a redesigned form's only place for one), ``""`` when
    something is printed there that no QR search can read (a fax of a slip), or None (no seal)."""
    tpl = aligned.template
    if tpl.legacy or tpl.code is None:
        return None
    if _seal_ink(aligned) < MIN_SEAL_INK:
        return None  # nothing printed there: ordinary paper (most pages), no QR search
    texts: list[str] = []
    if aligned.source is not None:  # the scan's own pixels first: a warp blurs a fax's modules
        crop, ppm = source_seal_region(aligned.source, tpl, aligned.homography)
        if crop.size:
            texts = find_seal_texts(crop, px_per_mm=ppm)
    if not any(t.startswith(PREFIX) for t in texts):
        texts = find_seal_texts(seal_region(aligned.image, tpl, PX_PER_MM), px_per_mm=PX_PER_MM) or texts
    return texts[0] if texts else ""


UNREADABLE = Reason(
    "seal_unreadable",
    "窓口で印刷した申請書ですが、QRコードが読めませんでした（FAXなど）。手書きの訂正がないか用紙と見比べてください",
    "a counter slip whose QR code could not be read (a fax?): compare every value with the paper for hand corrections",
)


def unreadable(reading: PageReading) -> None:
    """A slip whose seal cannot be read is read as any paper, but nothing tells its print from a hand's
    correction: every field goes before a person (in place)."""
    for f in reading.fields.values():
        f.reasons = [*f.reasons, UNREADABLE]


def inspect(ctx: Context, doc: Document, aligned: Aligned, text: str) -> SlipScan:
    """The slip whose seal ``text`` the page carries (:func:`seal_on_page`), checked. Raises a
    :class:`~core.errors.SealError` for a seal that cannot be trusted or a slip that cannot be taken."""
    tpl = aligned.template
    if not text.startswith(PREFIX):
        raise SealNotOurs(
            "申請書の窓口QRの位置に、dejiru のものではないQRコードがあります",
            "a QR code that is not a dejiru seal is where a counter slip's seal goes",
        )
    seal = read_seal(text, seal_key(ctx.settings.secret_key()), tpl=tpl)
    if seal.form_id != tpl.id:
        raise SealMismatch(
            f"QRは別の様式（{seal.form_id}）のものです。用紙とQRが一致しません",
            f"the seal is of another form ({seal.form_id}) than the page",
        )
    slip = ctx.store.counter_slip(seal.nonce)
    if slip is None:
        raise SlipUnknown(
            "この窓口申請書の記録がありません（別の窓口・別の環境で印刷されたものかもしれません）",
            "no record of this counter slip here (printed elsewhere?)",
            detail=seal.nonce,
        )
    if slip.document_id is not None and slip.document_id != doc.id:
        raise SlipUsed(
            f"この窓口申請書は受付済みです（文書番号 #{slip.document_id}）。二重には登録しません",
            f"this counter slip was received before (document #{slip.document_id}); not registered twice",
            detail=f"#{slip.document_id}",
        )
    checks = check_print(aligned.image, expected_print(tpl, seal.values, PX_PER_MM), tpl, PX_PER_MM)
    return SlipScan(seal, slip, checks)


CORRECTED = Reason(
    "counter_corrected",
    "窓口で印字した値に手書きの訂正があります。用紙を見て、申請者の訂正どおりに入力してください",
    "the value printed at the counter was corrected by hand: type it as the applicant corrected it",
)


def apply(tpl: Template, reading: PageReading, scan: SlipScan) -> None:
    """The seal's values into the reading (in place), field by field; raises :class:`SealMismatch` when
    the print of any field is not what the seal says. Run before the checks (``validation.validate``)."""
    absent = [name for name, c in scan.checks.items() if c.verdict == "not_as_printed"]
    if absent:
        labels = "、".join(tpl.field(n).label for n in absent[:5])
        raise SealMismatch(
            f"QRの内容と用紙の印字が一致しません（{labels}）。改ざんや別の用紙の可能性があります",
            f"the seal's values and the printed values differ ({', '.join(absent[:5])})",
            detail=", ".join(absent),
        )
    for spec in tpl.fields:
        f = reading.fields.get(spec.name)
        if f is None or spec.kind.shape is Shape.SIGNATURE:
            continue  # the signature: the reader's (ink in its zone), required as on any paper
        check = scan.checks.get(spec.name)
        if check is not None and check.verdict == "corrected":
            f.reasons = [*f.reasons, CORRECTED]
            continue
        f.value = scan.seal.values.get(spec.name)
        f.confidence = 1.0
        f.char_confidences = []
        f.reasons = []


#: How far back a scan of the same slip is looked for (a slip is signed and scanned within days).
TWIN_DAYS = 60
#: Traits beside the name (kana, address, postal code, phone) alike that make two readings one applicant's.
TWIN_TRAITS = 2
_DONE = (DocStatus.QUARANTINED, DocStatus.REJECTED, DocStatus.BOUND)


def _names(tpl: Template, values: dict[str, Any]) -> tuple[str, ...]:
    """The applicant's names on the form, spacing ignored: what two scans of one slip share however
    the rest was read."""
    return tuple("".join(str(values.get(f.name) or "").split()) for f in tpl.fields if f.kind.person_name)


def _traits(tpl: Template, values: dict[str, Any]) -> dict[str, str]:
    """What else says who the applicant is (kana, address, postal code, phone), spacing and
    punctuation ignored, blanks left out."""
    out = {}
    for f in tpl.fields:
        k = f.kind
        if k.person_name or not (k.spaced or k.address or k.digits_compare or k.value is Value.POSTAL):
            continue
        text = "".join(str(values.get(f.name) or "").split())
        if k.digits_compare or k.value is Value.POSTAL:
            text = "".join(c for c in text if c.isdigit())
        if text:
            out[f.name] = text
    return out


def _same_applicant(tpl: Template, mine: dict[str, Any], theirs: dict[str, Any]) -> bool:
    """Whether two readings may be one applicant's: the same names, or (a scan read as paper may have
    its name misread, the fax that made its QR unreadable blurs kanji first) two more traits alike.
    A family sharing address and phone is flagged too: a person then looks, which is the safe way."""
    names = _names(tpl, mine)
    if any(names) and names == _names(tpl, theirs):
        return True
    a, b = _traits(tpl, mine), _traits(tpl, theirs)
    return sum(1 for k, v in a.items() if b.get(k) == v) >= TWIN_TRAITS


def twin(ctx: Context, doc: Document, tpl: Template, values: dict[str, Any], counter: bool) -> int | None:
    """Another scan of what may be the same slip: a slip whose QR could not be read is paper to the
    pipeline, so its later scan with a readable QR (or the other way round) would be a second
    application. ``counter``: this scan is a slip read by its seal (look among unreadable ones), else
    an unreadable one (look among slips read by their seal). Same form, same applicant
    (:func:`_same_applicant`), recent."""
    if not any(_names(tpl, values)) and len(_traits(tpl, values)) < TWIN_TRAITS:
        return None
    since = now() - dt.timedelta(days=TWIN_DAYS)
    if counter:  # slips read as paper because their QR could not be read
        ids = ctx.store.documents_with_reason(
            tpl.id, UNREADABLE.code, channel=Channel.PAPER, since=since, exclude=_DONE
        )
    else:
        docs = ctx.store.documents(
            form_id=tpl.id, since=since, limit=2000, newest_first=True, channel=Channel.COUNTER
        )
        ids = [d.id for d in docs if d.id is not None and d.status not in _DONE]
    ids = [i for i in ids if i != doc.id]
    others = ctx.store.values_of(ids)
    return next((i for i in ids if _same_applicant(tpl, values, others[i])), None)


def flag_twin(tpl: Template, reading: PageReading, other: int) -> None:
    """The scan goes before a person, who decides whether it is the same application (in place)."""
    reason = Reason(
        "possible_duplicate",
        f"同じ窓口申請書を二度スキャンしたものかもしれません（文書番号 #{other} と同じ様式・申請者）。二重登録にならないよう確かめてください",
        f"possibly the same counter slip scanned twice (document #{other}: same form and applicant): make sure it is"
        " not registered twice",
    )
    first = next((f for f in tpl.fields if f.kind.person_name), tpl.fields[0])
    f = reading.fields[first.name]
    f.reasons = [*f.reasons, reason]
