"""書かない窓口: the counter screen. Staff pick the visitor's procedures, record one identity check,
type the answers with live checks, and print each procedure pre-filled with its signed QR.

Who may: counter staff and supervisors (``Counter``); a visit is its clerk's alone (another's is 404,
see :func:`pipeline.counter_visit.visit_for`). Every post carries the session's CSRF token. Nothing
typed is logged, put in a URL or kept on the server: the values live in the page until they are
printed, and then in the slip's QR; the identity document's number is masked before it is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from core import clock
from core.errors import DejiruError
from formkit.model import FieldSpec, Template
from formkit.readings import Reason
from pipeline.counter_entry import (
    ID_DOCUMENTS,
    Checked,
    CounterInputError,
    carry_key,
    check_entries,
    procedure,
    procedures,
    staff_fields,
    starting_values,
)
from pipeline.counter_visit import Procedure, SlipsRefused, open_visit, print_slips, staff_seconds, visit_for
from records.models import CounterVisit
from records.store import JST
from review.routes.documents import edits_from
from review.web import CheckedForm, Counter, State, lang, not_found, page
from validation.display import for_input
from validation.entry import MAX_INPUT_CHARS

router = APIRouter()

#: An entry shown back on the page after a refused print is cut to this (the field holds far less).
SHOWN_BACK_CHARS = 200
#: At most this many procedures in one visit (a forged post listing every form a thousand times).
MAX_PROCEDURES = 10


def _text(request: Request, msg: Reason | DejiruError) -> str:
    return msg.en if lang(request) == "en" else msg.ja


def _title(request: Request, tpl: Template) -> str:
    return tpl.title_en or tpl.title if lang(request) == "en" else tpl.title


def _entries(tpl: Template, form: dict[str, list[str]]) -> dict[str, Any]:
    """One procedure's entries from a post where its inputs are named ``<form>:<field>``: read as the
    review form reads its own (``edits_from``: tick boxes as lists, a flag as ticked or not)."""
    prefix = f"{tpl.id}:"
    mine = {  # a file posted in place of a field (a forged multipart post) is no entry
        f"f_{k.removeprefix(prefix)}": texts
        for k, v in form.items()
        if k.startswith(prefix) and (texts := [x for x in v if isinstance(x, str)])
    }
    edits, _ = edits_from(tpl, mine)
    return edits


def _inputmode(spec: FieldSpec) -> str | None:
    """The on-screen keyboard a touch device should offer: digits for numbers, a phone pad for phones."""
    v = spec.kind.value.value
    if v in ("digits", "integer", "postal"):
        return "numeric"
    return "tel" if spec.kind.digits_compare else None


def _rows(
    request: Request, tpl: Template, typed: dict[str, Any], reasons: dict[str, list[Reason]]
) -> list[dict[str, Any]]:
    """The procedure's fields in the paper's order, as the entry form shows them."""
    rows = []
    for spec in staff_fields(tpl):
        raw = typed.get(spec.name)
        chosen = raw if isinstance(raw, list) else [raw] if isinstance(raw, str) else []
        text = raw if isinstance(raw, str) and not spec.sensitive else ""
        rows.append(
            {
                "spec": spec,
                "mode": spec.kind.entry(spec),
                "input": text[:SHOWN_BACK_CHARS],
                "chosen": chosen,
                "ticked": raw is True,
                "carry": carry_key(spec),
                "inputmode": _inputmode(spec),
                "reasons": [_text(request, r) for r in reasons.get(spec.name, [])],
            }
        )
    return rows


def _start_page(request: Request, status: int = 200, error: str | None = None, **kept: Any) -> Response:
    return page(
        request,
        "counter.html",
        status=status,
        error=error,
        procedures=[{"id": t.id, "title": _title(request, t)} for t in procedures()],
        documents=ID_DOCUMENTS,
        picked=kept.get("picked", []),
        chosen=kept.get("chosen", ""),
    )


@router.get("/counter", response_class=HTMLResponse)
def start(request: Request, me: Counter) -> Response:
    return _start_page(request)


@router.post("/counter/visits")
async def new_visit(request: Request, me: Counter, form: CheckedForm, state: State) -> Response:
    picked = [p for p in dict.fromkeys(form.get("procedure", [])) if isinstance(p, str)][:MAX_PROCEDURES]
    document = str((form.get("id_document") or [""])[0])
    kept = {"picked": picked, "chosen": document if document in ID_DOCUMENTS else ""}
    try:
        forms = [procedure(p).id for p in picked]
        if not forms:
            raise CounterInputError("手続きを1つ以上選んでください", "choose at least one procedure")
        visit = open_visit(state.ctx, me.username, document, str((form.get("id_number") or [""])[0]))
    except CounterInputError as exc:
        return _start_page(request, 422, _text(request, exc), **kept)
    query = "&".join(f"p={f}" for f in forms)
    return RedirectResponse(f"/counter/visits/{visit.id}?{query}", status_code=303)


def _procedures_of(p: list[str]) -> list[Template]:
    """The procedures a visit page names (``?p=``), each once, printable ones only."""
    return [procedure(f) for f in list(dict.fromkeys(p))[:MAX_PROCEDURES]]


def _visit_page(
    request: Request,
    visit: CounterVisit,
    tpls: list[Template],
    *,
    typed: dict[str, dict[str, Any]] | None = None,
    checked: dict[str, Checked] | None = None,
    seconds: dict[str, float | None] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    typed, checked, seconds = typed or {}, checked or {}, seconds or {}
    procs = [
        {
            "tpl": tpl,
            "title": _title(request, tpl),
            "rows": _rows(
                request, tpl, typed.get(tpl.id, {}), checked[tpl.id].reasons if tpl.id in checked else {}
            ),
            "seconds": seconds.get(tpl.id) or 0.0,
        }
        for tpl in tpls
    ]
    return page(
        request,
        "counter_visit.html",
        status=status,
        visit=visit,
        checked_at=visit.checked_at.astimezone(JST).strftime("%H:%M") if visit.checked_at.tzinfo else "",
        procs=procs,
        error=error,
        max_chars=MAX_INPUT_CHARS,
    )


@router.get("/counter/visits/{visit_id}", response_class=HTMLResponse)
def visit_view(
    visit_id: int, request: Request, me: Counter, state: State, p: list[str] = Query(default=[])
) -> Response:
    try:
        visit = visit_for(state.ctx, visit_id, me.username)
        tpls = _procedures_of(p)
    except (KeyError, CounterInputError):
        return not_found(request)
    if not tpls:
        return RedirectResponse("/counter", status_code=303)
    return _visit_page(request, visit, tpls, typed={t.id: starting_values(t, clock.today()) for t in tpls})


@router.post("/counter/check")
async def check(request: Request, me: Counter, form: CheckedForm) -> Response:
    """Live checks for one procedure's entries: the reasons per field in the user's language, how
    each value was understood (a 和暦 date as 令和8年11月24日), and the address a postal code says."""
    try:
        tpl = procedure(str((form.get("form") or [""])[0]))
    except CounterInputError as exc:
        return JSONResponse({"error": _text(request, exc)}, status_code=404)
    checked = check_entries(tpl, _entries(tpl, form))
    fields = {
        spec.name: {
            "reasons": [_text(request, r) for r in checked.reasons.get(spec.name, [])],
            "shown": str(for_input(spec, checked.values.get(spec.name)))[:SHOWN_BACK_CHARS]
            if spec.kind.entry(spec) == "text"
            else "",
        }
        for spec in staff_fields(tpl)
    }
    return JSONResponse({"fields": fields, "fill": checked.fill})


@router.post("/counter/visits/{visit_id}/print")
async def print_visit(
    visit_id: int, request: Request, me: Counter, form: CheckedForm, state: State
) -> Response:
    """One PDF, a page per procedure, each with its own slip and signed QR; refused whole (422, the
    page with the reasons under each field) while any value fails its checks."""
    try:
        visit = visit_for(state.ctx, visit_id, me.username)
        tpls = _procedures_of([str(v) for v in form.get("procedure", [])])
    except (KeyError, CounterInputError):
        return not_found(request)
    if not tpls:
        return not_found(request)
    typed = {tpl.id: _entries(tpl, form) for tpl in tpls}
    checked = {tpl.id: check_entries(tpl, typed[tpl.id]) for tpl in tpls}
    seconds = {tpl.id: staff_seconds(str((form.get(f"seconds:{tpl.id}") or [""])[0])) for tpl in tpls}
    procs = [Procedure(tpl, checked[tpl.id], seconds[tpl.id]) for tpl in tpls]
    try:
        pdf = print_slips(state.ctx, visit, me.username, procs)
    except SlipsRefused as exc:
        return _visit_page(
            request,
            visit,
            tpls,
            typed=typed,
            checked=checked,
            seconds=seconds,
            error=_text(request, exc),
            status=422,
        )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="counter-{visit.id}.pdf"'},
    )
