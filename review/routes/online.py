"""The online intake API: an online application service posts its export (and the files sent with
its applications) here, authenticated by a machine token (``review.api_tokens``), not a login.

``POST /api/online/exports`` (multipart: ``export`` = the CSV or JSON, ``attachments`` = files the
export names). The answer is JSON: the documents made, the applications taken before, and each refused
row's line and reasons (never a value). The export goes through exactly what a file dropped in the
inbox goes through (``pipeline.online.take_export``); one that cannot be read at all is quarantined
with its reason and answered 422, so a service's operator sees at once what to fix.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from core.errors import InputError
from intake.files import safe_name
from intake.online import MAX_EXPORT_BYTES
from pipeline import online
from review import api_tokens
from review.web import State

log = logging.getLogger(__name__)
router = APIRouter()
#: Routes a machine calls with a token (see tests/test_review_routes.py: neither public nor a session's).
TOKEN_ROUTES = frozenset({("POST", "/api/online/exports")})
_LIMIT = online.MAX_ATTACHMENT_BYTES


def _refuse(status: int, ja: str, en: str, code: str) -> JSONResponse:
    return JSONResponse({"code": code, "error_ja": ja, "error_en": en}, status_code=status)


class TokenRefused(Exception):
    """Answered 401: no token, or not one of ours."""


def api_client(request: Request, state: State) -> str:
    """The token holder's name; a missing or unknown token is a 401 (checked before the body is read)."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    name = api_tokens.holder(state.ctx.settings, token.strip()) if scheme.lower() == "bearer" else None
    if name is None:
        raise TokenRefused
    return name


ApiClient = Annotated[str, Depends(api_client)]


async def _read(upload: UploadFile, limit: int) -> bytes | None:
    data = await upload.read(limit + 1)
    return None if len(data) > limit else data


@router.post("/api/online/exports")
async def post_export(request: Request, client: ApiClient, state: State) -> JSONResponse:
    length = int(request.headers.get("content-length") or 0)
    most = MAX_EXPORT_BYTES + online.MAX_ATTACHMENTS * _LIMIT + 65536
    if length > most:
        return _refuse(413, "送信が大きすぎます", "the request is too large", "too_large")
    form = await request.form(max_files=online.MAX_ATTACHMENTS + 1, max_fields=10)
    export = form.get("export")
    if not isinstance(export, UploadFile) or not online.is_export(export.filename or ""):
        return _refuse(
            400,
            "export に書き出しファイル（.csv か .json）を付けてください",
            "attach the export (.csv or .json) as the 'export' part",
            "no_export",
        )
    data = await _read(export, MAX_EXPORT_BYTES)
    if data is None:
        return _refuse(413, "書き出しファイルが大きすぎます", "the export is too large", "too_large")
    sent: dict[str, bytes] = {}
    for part in form.getlist("attachments"):
        if not isinstance(part, UploadFile):
            continue
        blob = await _read(part, _LIMIT)
        if blob is None:
            return _refuse(413, "添付ファイルが大きすぎます", "an attachment is too large", "too_large")
        sent[part.filename or "attachment"] = blob
    name = safe_name(export.filename or "export.csv")
    ctx = state.ctx
    try:
        out = online.take_posted(ctx, data, name, sent=sent, by=f"api:{client}")
    except InputError as err:
        return _refuse(422, err.ja, err.en, err.code)
    for doc_id in out.accepted:
        state.approved(doc_id)  # straight through: keyed now, as after a reviewer's approval
    body: dict[str, Any] = {
        "form": out.form_id,
        "service": out.service,
        "accepted": out.accepted,
        "already": out.already,
        "refused": [
            {
                "line": r.line,
                "application_id": r.application_id,
                "reasons_ja": {k or "*": v[0] for k, v in r.problems.items()},
                "reasons_en": {k or "*": v[1] for k, v in r.problems.items()},
            }
            for r in out.refused
        ],
    }
    return JSONResponse(body)
