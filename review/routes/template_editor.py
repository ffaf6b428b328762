"""The template editor's routes (authors): the list of forms, the editor page, the blank form as its
background, the save, and a sample read with the unsaved template. What an edit may do, and how it is written, is review/editor.py's."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import DejiruError
from formkit.kinds import KINDS
from formkit.registry import load_template, template_ids
from review.auth import csrf_ok
from review.editor import (
    ERA_NAMES,
    MAX_BODY,
    MAX_CELLS,
    PX_PER_MM,
    EditRefused,
    blank_png,
    digest,
    edited_template,
    editor_fields,
    editor_groups,
    editor_kinds,
    print_warnings,
    save_fields,
    snap_lines,
    template_file,
)
from review.editor_try import read_sample, sample_file, sample_names
from review.web import Author, State, Tr, lang, not_found, page

router = APIRouter()

#: The screen texts the editor's script shows (review/i18n.py).
SCRIPT_MESSAGES = (
    "tpl_new_label",
    "tpl_save_failed",
    "tpl_unsaved",
    "tpl_saving",
    "tpl_opt_value",
    "tpl_opt_label",
    "tpl_opt_remove",
    "tpl_split_refused",
    "tpl_split_outside",
    "tpl_split_cells",
    "tpl_on_print",
    "tpl_on_print_detail",
    "tpl_on_print_mark",
    "tpl_part_year",
    "tpl_part_month",
    "tpl_part_day",
    "tpl_part_era",
    "tpl_group_copy",
    "tpl_group_base",
    "tpl_multi",
    "tpl_group_of",
    "tpl_group_new_name",
    "tpl_group_bad",
    "tpl_group_taken",
    "tpl_try_reading",
    "tpl_try_failed",
    "tpl_try_done",
    "tpl_try_review",
    "tpl_try_conf",
)


@router.get("/templates", response_class=HTMLResponse)
def template_list(request: Request, me: Author) -> Response:
    rows: list[dict[str, Any]] = []
    for form_id in template_ids():
        try:
            rows.append({"id": form_id, "tpl": load_template(form_id), "error": None})
        except DejiruError as err:
            rows.append({"id": form_id, "tpl": None, "error": err.message(lang(request))})
    return page(request, "templates.html", rows=rows)


@router.get("/templates/{form_id}/edit", response_class=HTMLResponse)
def template_edit(form_id: str, request: Request, me: Author, t: Tr) -> Response:
    try:
        path = template_file(form_id)
        tpl = load_template(form_id)
    except KeyError:
        return not_found(request)
    except DejiruError as err:
        return page(request, "message.html", status=422, title=err.message(lang(request)))
    data = {
        "id": tpl.id,
        "page": {"w": tpl.page.width_mm, "h": tpl.page.height_mm},
        "fields": editor_fields(tpl, path.read_text(encoding="utf-8")),
        "groups": editor_groups(tpl),
        "types": list(KINDS),
        "kinds": editor_kinds(),
        "eras": list(ERA_NAMES),
        "legacy": tpl.legacy,
        "px_per_mm": PX_PER_MM,
        "max_cells": MAX_CELLS,
        "lines": snap_lines(tpl),
        "covers": print_warnings(tpl),
        "base": digest(path),
        "save_url": f"/templates/{tpl.id}/save",
        "try_url": f"/templates/{tpl.id}/try",
        "samples": sample_names(tpl.id),
        "image_url": f"/templates/{tpl.id}/blank.png",
        "csrf": request.session.get("csrf", ""),
        "messages": {k: t(k) for k in SCRIPT_MESSAGES},
    }
    return page(
        request,
        "template_editor.html",
        tpl=tpl,
        data=data,
        types=data["types"],
        eras=ERA_NAMES,
        width_px=round(tpl.page.width_mm * PX_PER_MM),
        height_px=round(tpl.page.height_mm * PX_PER_MM),
    )


@router.get("/templates/{form_id}/blank.png")
def template_image(form_id: str, me: Author) -> Response:
    try:
        template_file(form_id)
        png = blank_png(load_template(form_id))
    except (KeyError, DejiruError):
        return Response(status_code=404)
    return Response(png, media_type="image/png")


async def _posted(form_id: str, request: Request, t: Any) -> dict[str, Any] | JSONResponse:
    """What the editor's script posts: JSON with the CSRF token in a header (not the CheckedForm
    dependency), for an installed form, one object of bounded size; else the refusal, as JSON too."""
    if not csrf_ok(request.session.get("csrf"), request.headers.get("X-CSRF-Token")):
        return JSONResponse({"ok": False, "error": t("csrf")}, status_code=403)
    body = await request.body()
    try:
        template_file(form_id)
    except KeyError:
        return JSONResponse({"ok": False, "error": t("not_found")}, status_code=404)
    try:
        if len(body) > MAX_BODY:
            raise ValueError("too large")
        sent = json.loads(body)
        if not isinstance(sent, dict):
            raise ValueError("not an object")
    except ValueError:
        return JSONResponse({"ok": False, "error": t("tpl_bad_request")}, status_code=400)
    return sent


@router.post("/templates/{form_id}/save")
async def template_save(form_id: str, request: Request, me: Author, state: State, t: Tr) -> Response:
    sent = await _posted(form_id, request, t)
    if isinstance(sent, JSONResponse):
        return sent
    store, name = state.store, me.username
    try:
        # No "groups" (an older page, a script): the file's groups stay as they are.
        tpl, backup = save_fields(form_id, sent.get("fields"), sent.get("base"), sent.get("groups"))
    except EditRefused as err:
        store.audit(name, "template.refused", detail=f"{form_id}: {err.en}"[:500])
        message = err.message(lang(request)) + (f"（{err.detail}）" if err.detail else "")
        return JSONResponse({"ok": False, "error": message}, status_code=err.status)
    path = template_file(form_id)
    backup_note = f"backup {backup.name}" if backup else "unchanged"
    store.audit(name, "template.saved", detail=f"{form_id} ({len(tpl.fields)} fields, {backup_note})")
    return JSONResponse(
        {
            "ok": True,
            "message": t("tpl_saved"),
            "base": digest(path),
            "fields": editor_fields(tpl, path.read_text(encoding="utf-8")),
            "groups": editor_groups(tpl),
            "covers": print_warnings(tpl),
        }
    )


@router.post("/templates/{form_id}/try")
async def template_try(form_id: str, request: Request, me: Author, state: State, t: Tr) -> Response:
    """Read one of the form's samples with the template as the editor has it (unsaved changes
    included): the same login, role and CSRF token as a save, nothing written. The answer holds the
    sample's values (masked 個人番号): personal data, never logged (review/editor_try.py)."""
    sent = await _posted(form_id, request, t)
    if isinstance(sent, JSONResponse):
        return sent
    store, name, path = state.store, me.username, template_file(form_id)
    try:
        sample = sample_file(form_id, sent.get("sample"))
        tpl, _ = edited_template(
            path, path.read_text(encoding="utf-8"), sent.get("fields"), sent.get("groups")
        )
    except EditRefused as err:
        store.audit(name, "template.try_refused", detail=f"{form_id}: {err.en}"[:500])
        message = err.message(lang(request)) + (f"（{err.detail}）" if err.detail else "")
        message = message.replace("保存しませんでした", "読み取りませんでした").replace(
            "not saved", "not read"
        )
        return JSONResponse({"ok": False, "error": message}, status_code=err.status)
    result = await run_in_threadpool(read_sample, tpl, sample, lang(request), state.settings.engine)
    store.audit(name, "template.tried", detail=f"{form_id}: {sample.name}")  # which sample, no values
    return JSONResponse(result)
