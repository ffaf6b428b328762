"""書かない窓口: a visit (one identity check for all its procedures) and its printed, sealed slips.

Each procedure of a visit is printed as its form, pre-filled with the values staff typed and checked,
with a signed QR (:mod:`formkit.seal`) that carries those values and a random nonce; the citizen
checks the sheet and signs it, and the signed paper comes back through the inbox, where the QR says
which slip it is and what it holds. So a slip is stored (``CounterSlip``, with its nonce) in the same
unit as its audit event, and the PDF is handed out only after that unit committed: no paper exists
whose nonce the store does not know.

Who may touch a visit: only the clerk who opened it, for a working day (``VISIT_LIFETIME``); any other
visit is "not found", never "forbidden", so visit numbers tell a stranger nothing.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pypdfium2 as pdfium

from core import clock
from formkit import seal
from formkit.model import Template
from formkit.readings import Reason
from pipeline.context import Context
from pipeline.counter_entry import Checked, CounterInputError, id_document, mask_id_number
from records.models import CounterVisit, now
from synth.fill import prefilled_pdf

#: A visit is open for the working day of the clerk who opened it.
VISIT_LIFETIME = dt.timedelta(hours=8)
#: Staff seconds beyond this are no measurement (a page left open overnight): not stored.
MAX_STAFF_SECONDS = VISIT_LIFETIME.total_seconds()


class SlipsRefused(CounterInputError):
    """Some values of the visit's procedures fail their checks: nothing was printed. ``reasons``: form
    → field → reasons, for the screen to show under each field."""

    code = "counter_refused"

    def __init__(self, reasons: dict[str, dict[str, list[Reason]]]) -> None:
        super().__init__(
            "確認が必要な項目があります。赤字の項目を直してから印刷してください（何も印刷していません）",
            "some fields need attention: correct the ones marked in red, then print (nothing was printed)",
        )
        self.reasons = reasons


@dataclass(frozen=True)
class Procedure:
    """One procedure of a visit as staff finished it: its form, its checked entries, and the staff
    seconds from its first keystroke to the print (None: not measured)."""

    tpl: Template
    checked: Checked
    staff_seconds: float | None = None


def open_visit(ctx: Context, staff: str, document: str, number: str) -> CounterVisit:
    """A new visit with its identity check, made by ``staff`` now; the number is masked before
    anything stores it. Raises :class:`CounterInputError` for a document not on the list or a
    number that is none."""
    kind, masked = id_document(document), mask_id_number(number)
    with ctx.unit() as c:
        visit = c.store.open_visit(staff, kind, masked)
        c.store.audit(staff, "counter.visit_opened", detail=f"visit {visit.id}")
        # The kind of document only: its number, even masked, is not for the audit trail.
        c.store.audit(staff, "counter.identity_checked", detail=f"visit {visit.id}: {kind}")
    return visit


def visit_for(ctx: Context, visit_id: int, user: str) -> CounterVisit:
    """The visit, if ``user`` opened it and it is still open; else KeyError (answered as 404)."""
    visit = ctx.store.counter_visit(visit_id)
    started = visit.started_at if visit.started_at.tzinfo else visit.started_at.replace(tzinfo=dt.UTC)
    if visit.staff != user or now() - started > VISIT_LIFETIME:
        raise KeyError(f"counter visit {visit_id}")
    return visit


def staff_seconds(text: str | None) -> float | None:
    """The seconds the page measured, if they are a measurement at all (a forged post sends anything)."""
    try:
        value = float(text or "")
    except ValueError:
        return None
    if not 0.0 <= value <= MAX_STAFF_SECONDS:  # NaN fails both comparisons, so it is refused too
        return None
    return round(value, 1)


def join_pdfs(pages: list[bytes]) -> bytes:
    """One PDF of the given ones' pages, in order (one print job for the whole visit)."""
    out = pdfium.PdfDocument.new()
    try:
        for data in pages:
            src = pdfium.PdfDocument(data)
            try:
                out.import_pages(src)
            finally:
                src.close()
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()
    finally:
        out.close()


def print_slips(ctx: Context, visit: CounterVisit, user: str, procedures: list[Procedure]) -> bytes:
    """The visit's procedures as one PDF, a page each, each page sealed with its own nonce. Refused
    whole (:class:`SlipsRefused`) while any procedure's values fail a check. The slips and their
    audit events are committed in one unit before the PDF is returned."""
    refused = {p.tpl.id: {k: v for k, v in p.checked.reasons.items() if v} for p in procedures}
    if any(refused.values()):
        raise SlipsRefused({k: v for k, v in refused.items() if v})
    assert visit.id is not None
    key = seal.seal_key(ctx.settings.secret_key())
    issued = clock.today().isoformat()
    nonces = [seal.new_nonce() for _ in procedures]
    pages = []
    for p, nonce in zip(procedures, nonces, strict=True):
        values = seal.counter_values(p.tpl, p.checked.values)
        text = seal.seal_text(seal.Seal(nonce, p.tpl.id, p.tpl.version, values, issued), key, tpl=p.tpl)
        pages.append(prefilled_pdf(p.tpl, values, text))
    pdf = join_pdfs(pages)
    with ctx.unit() as c:  # rendering stays outside: a unit holds the write lock
        for p, nonce in zip(procedures, nonces, strict=True):
            slip = c.store.add_counter_slip(visit.id, nonce, p.tpl.id, p.tpl.version, user, p.staff_seconds)
            c.store.audit(
                user,
                "counter.slip_printed",
                detail=f"visit {visit.id}: slip {slip.id} {p.tpl.id} v{p.tpl.version}",
            )
    return pdf
