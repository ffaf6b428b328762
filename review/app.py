"""The review UI: reviewers see the scan beside each doubtful value, fix it from the keyboard, approve.

FastAPI + Jinja2 + htmx, no JavaScript build step. Nothing but the login page (and a health check)
is reachable without a session; every POST needs the session's CSRF token; every document view and
every change is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.middleware.sessions import SessionMiddleware

from formkit.layout import layout_field
from formkit.model import FieldSpec, FieldType, Template
from formkit.registry import all_templates, load_template
from ocr.align import PX_PER_MM
from pipeline.context import Context
from pipeline.review import (
    BlindEntryErrors,
    EditConflict,
    ReviewError,
    approve,
    audit_check,
    double_check,
    reject,
    save_edits,
)
from records.models import DocStatus, User, now
from records.store import JST, loads
from review.auth import (
    REVIEWERS,
    SUPERVISORS,
    LoginLimiter,
    WeakPassword,
    allowed,
    check_password,
    csrf_ok,
    hash_password,
    new_csrf_token,
    verify_password,
)
from review.i18n import translator
from review.security import EvidenceUnavailable, download, security_headers
from validation.calibration import wilson_interval
from validation.checks import mask_mynumber
from validation.wareki import format_wareki

HERE = Path(__file__).parent


def _day(text: str | None) -> dt.datetime | None:
    """A date from a filter box (YYYY-MM-DD), as the start of that day in Japan."""
    if not text:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=JST)
    except ValueError:
        return None


def bar_chart(per_day: dict[str, int], width: int = 640, height: int = 160) -> dict[str, Any]:
    """Bars for a server-rendered SVG chart (no JavaScript): x, y, w, h and a label per day."""
    if not per_day:
        return {"bars": [], "width": width, "height": height}
    top = max(per_day.values()) or 1
    bw = width / max(len(per_day), 14)  # a fortnight wide even when few days have data
    bars = []
    for i, (day, n) in enumerate(per_day.items()):
        h = (height - 30) * n / top
        bars.append(
            {"x": i * bw + 2, "y": height - 20 - h, "w": max(bw - 4, 1), "h": h, "n": n, "day": day[5:]}
        )
    return {"bars": bars, "width": width, "height": height}


def crop_style(
    tpl: Template, spec: FieldSpec, max_w: float = 360.0, max_h: float = 80.0, margin: float = 2.0
) -> str:
    """CSS that shows a field's zone of the page image (a sprite): the browser loads the page once and
    every crop is a window onto it, so a document view costs the server one image, not twenty."""
    b = spec.box
    w, h = b.w + 2 * margin, b.h + 2 * margin
    k = min(max_w / w, max_h / h)
    return (
        f"width:{w * k:.0f}px;height:{h * k:.0f}px;background-size:{tpl.page.width_mm * k:.1f}px "
        f"{tpl.page.height_mm * k:.1f}px;background-position:{-(b.x - margin) * k:.1f}px {-(b.y - margin) * k:.1f}px"
    )


#: Below this many documents audited, a silent-error figure is shown with a note that it says nothing yet.
TOO_FEW_AUDITED_DOCUMENTS = 10
#: ... or when its 95 % interval still reaches this high.
TOO_WIDE_UPPER = 0.05


def silent_figures(counts: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The measured silent-error rate with its 95 % Wilson interval, per form, per field type and
    overall, from the 抜き取り検査 counts; ``too_few`` marks a figure that says nothing yet."""
    out: dict[str, list[dict[str, Any]]] = {}
    for key, rows in counts.items():
        out[key] = []
        for r in rows:
            low, high = wilson_interval(r["errors"], r["fields"])
            too_few = r["documents"] < TOO_FEW_AUDITED_DOCUMENTS or high > TOO_WIDE_UPPER
            out[key].append(
                r | {"rate": r["errors"] / r["fields"], "low": low, "high": high, "too_few": too_few}
            )
    return out


class Redirect(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


class Forbidden(Exception):
    pass


def display_value(spec: FieldSpec, value: Any) -> Any:
    """A stored value as the reviewer should see it (和暦 dates, masked 個人番号)."""
    if value is None:
        return ""
    if spec.type is FieldType.DATE:
        try:
            return format_wareki(dt.date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if spec.sensitive:
        return mask_mynumber(str(value))
    return value


#: A login lasts a working day at most, and ends after an hour without a request.
SESSION_LIFETIME = dt.timedelta(hours=8)
SESSION_IDLE = dt.timedelta(hours=1)
#: Who may download which evidence: the scan and the screenshot are what a reviewer works the
#: exception from; the legacy page's HTML and the Playwright trace (every keyed value) are for the
#: people who fix bots and templates.
EVIDENCE_ROLES: dict[str, tuple[str, ...]] = {
    "quarantine": REVIEWERS,
    "reason": REVIEWERS,
    "screenshot": REVIEWERS,
    "html": ("supervisor", "author"),
    "trace": ("supervisor", "author"),
}
#: Pages a user holding a one-time password may still open (to choose a new one, or leave).
PASSWORD_CHANGE_PATHS = ("/account/password", "/logout")


def create_app(ctx: Context, *, https: bool = False) -> FastAPI:
    """The review UI. ``https``: served over TLS (``dejiru serve --cert/--key``): cookies are Secure
    and browsers are told to use HTTPS from then on (HSTS)."""
    cfg, store = ctx.settings, ctx.store
    app = FastAPI(title="dejiru review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        SessionMiddleware,
        secret_key=cfg.secret_key(),
        session_cookie="dejiru_session",
        max_age=int(SESSION_LIFETIME.total_seconds()),
        same_site="strict",
        https_only=https,
    )
    devices = URLSafeSerializer(cfg.secret_key(), salt="dejiru-device")
    headers = security_headers(https)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    limiter = LoginLimiter()

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, exc: Redirect) -> Response:
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return page(request, "message.html", status=403, title=tr(request)("forbidden"))

    @app.exception_handler(KeyError)
    async def _unknown(request: Request, exc: KeyError) -> Response:
        # The store raises KeyError for an ID that does not exist: a wrong link, not a server fault.
        return page(request, "message.html", status=404, title=tr(request)("not_found"))

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in headers.items():
            response.headers.setdefault(k, v)
        return response

    def lang(request: Request) -> str:
        return "en" if request.cookies.get("lang") == "en" else "ja"

    def tr(request: Request):
        return translator(lang(request))

    def current(request: Request) -> User | None:
        """The account behind this request's session, checked against the server on every request:
        a session ended by logout, a password change, a reset or a disabled account is gone."""
        if hasattr(request.state, "account"):
            cached: User | None = request.state.account
            return cached
        token = request.session.get("sid")
        account = store.session_user(str(token), SESSION_IDLE) if token else None
        request.state.account = account
        return account

    def user(request: Request, *roles: str) -> str:
        account = current(request)
        if account is None:
            request.session.clear()
            raise Redirect("/login")
        if account.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
            raise Redirect("/account/password")
        if roles and not allowed(account.role, *roles):
            raise Forbidden()
        return account.username

    def role_of(request: Request) -> str | None:
        account = current(request)
        return account.role if account else None

    async def check_csrf(request: Request) -> dict[str, Any]:
        form = await request.form()
        given = form.get("csrf") or request.headers.get("X-CSRF-Token")
        if not csrf_ok(request.session.get("csrf"), str(given) if given else None):
            raise Forbidden()
        return {k: form.getlist(k) for k in form}

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            name,
            {
                "t": tr(request),
                "lang": lang(request),
                "user": account.username if (account := current(request)) else None,
                "role": account.role if account else None,
                "csrf": request.session.get("csrf", ""),
                **context,
            },
            status_code=status,
        )

    # --- login -----------------------------------------------------------------------------------------

    @app.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"ok": True})

    def login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
        # A token bound to this browser before anyone is logged in: a login posted from another site
        # (logging a reviewer into the attacker's account) is refused.
        request.session.setdefault("login_csrf", new_csrf_token())
        return page(
            request, "login.html", status=status, error=error, login_csrf=request.session["login_csrf"]
        )

    def device(request: Request) -> dict[str, Any]:
        """This browser's device cookie: a random id and the user names that logged in from it
        (signed, so it cannot be made up). The login limiter counts a known device's failures apart
        from everyone else's."""
        try:
            found = devices.loads(request.cookies.get("dejiru_device", ""))
        except BadSignature:
            found = None
        if (
            isinstance(found, dict)
            and isinstance(found.get("id"), str)
            and isinstance(found.get("names"), list)
        ):
            return {"id": found["id"], "names": [str(n) for n in found["names"]]}
        return {"id": new_csrf_token(), "names": []}

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        return login_page(request)

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await request.form()
        t = tr(request)
        given = form.get("csrf")
        if not csrf_ok(request.session.get("login_csrf"), str(given) if given else None):
            request.session.pop("login_csrf", None)
            return login_page(request, status=403, error=t("login_expired"))
        name = str(form.get("username", "")).strip()[:100]
        password = str(form.get("password", ""))[:1000]
        client = request.client.host if request.client else "?"
        dev = device(request)
        known_device = dev["id"] if name in dev["names"] else None
        if limiter.blocked(name, client, known_device):
            store.audit(name or "?", "login.blocked", detail=client)
            return login_page(request, status=429, error=t("login_locked"))
        account = store.user(name)
        if not verify_password(account.password_hash if account else None, password) or account is None:
            limiter.failed(name, client, known_device)
            store.audit(name or "?", "login.failed", detail=client)
            return login_page(request, status=401, error=t("login_failed"))
        limiter.succeeded(name, client, known_device)
        request.session.clear()
        token = store.start_session(account.username, SESSION_LIFETIME, client)
        request.session.update({"sid": token, "csrf": new_csrf_token()})
        store.audit(account.username, "login", detail=client)
        target = "/account/password" if account.must_change_password else home(account.role)
        resp = RedirectResponse(target, status_code=303)
        names = [*[n for n in dev["names"] if n != account.username][-9:], account.username]
        resp.set_cookie(
            "dejiru_device",
            devices.dumps({"id": dev["id"], "names": names}),
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="strict",
            secure=https,
        )
        return resp

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        name = user(request)
        await check_csrf(request)
        store.end_session(str(request.session.get("sid")))
        store.audit(name, "logout")
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/account/password", response_class=HTMLResponse)
    def password_form(request: Request) -> Response:
        user(request)
        account = current(request)
        return page(request, "password.html", forced=bool(account and account.must_change_password))

    @app.post("/account/password", response_class=HTMLResponse)
    async def change_password(request: Request) -> Response:
        name = user(request)
        form = await check_csrf(request)
        t = tr(request)
        account = current(request)
        old, new, again = (str((form.get(k) or [""])[0]) for k in ("current", "new", "again"))
        forced = bool(account and account.must_change_password)

        def refuse(message: str) -> Response:
            return page(request, "password.html", status=422, error=message, forced=forced)

        if account is None or not verify_password(account.password_hash, old):
            store.audit(name, "password.change_failed")
            return refuse(t("password_wrong"))
        if new != again:
            return refuse(t("password_mismatch"))
        if new == old:
            return refuse(t("password_same"))
        try:
            check_password(new, name)
        except WeakPassword as exc:
            return refuse(exc.en if lang(request) == "en" else exc.ja)
        store.set_password(name, hash_password(new), keep_session=str(request.session.get("sid")))
        store.audit(name, "password.changed")
        return RedirectResponse(home(account.role), status_code=303)

    @app.get("/lang/{code}")
    def set_lang(code: str, request: Request) -> Response:
        back = request.headers.get("referer") or "/queue"
        resp = RedirectResponse(back if back.startswith(str(request.base_url)) else "/queue", status_code=303)
        resp.set_cookie("lang", "en" if code == "en" else "ja", samesite="strict", httponly=True)
        return resp

    # --- queues ----------------------------------------------------------------------------------------

    def home(role: str | None) -> str:
        return "/templates" if role == "author" else "/queue"  # authors edit templates, not documents

    @app.get("/")
    def root(request: Request) -> Response:
        user(request)
        return RedirectResponse(home(role_of(request)), status_code=303)

    @app.get("/queue", response_class=HTMLResponse)
    def queue(
        request: Request, form: str | None = None, since: str | None = None, until: str | None = None
    ) -> Response:
        user(request, *REVIEWERS)
        start, end = _day(since), _day(until)
        docs = store.documents(
            [DocStatus.REVIEW, DocStatus.DOUBLE_CHECK, DocStatus.AUDIT],
            form_id=form or None,
            since=start,
            until=end + dt.timedelta(days=1) if end else None,
        )
        to_review = store.fields_to_review([d.id for d in docs if d.id is not None])
        rows = [{"doc": d, "review": to_review.get(d.id or 0, [])} for d in docs]
        keyed = store.documents([DocStatus.KEYED, DocStatus.APPROVED], limit=20, newest_first=True)
        receipts = {j.document_id: j.receipt for j in store.keying_jobs() if j.receipt}
        return page(
            request,
            "queue.html",
            rows=rows,
            keyed=keyed,
            receipts=receipts,
            counts=store.count_by_status(),
            forms=[t.id for t in all_templates()],
            form=form or "",
            since=since or "",
            until=until or "",
        )

    @app.get("/search", response_class=HTMLResponse)
    def search(request: Request, q: str = "") -> Response:
        user(request, *REVIEWERS)
        docs = store.find(q) if q.strip() else []
        receipts = {j.document_id: j.receipt for j in store.keying_jobs() if j.receipt}
        return page(request, "search.html", q=q, docs=docs, receipts=receipts)

    @app.get("/kpi", response_class=HTMLResponse)
    def kpi(request: Request, days: int = 14) -> Response:
        user(request, *SUPERVISORS)
        k = store.kpis(max(1, min(days, 365)))
        since = now() - dt.timedelta(days=k["days"])
        en = lang(request) == "en"
        return page(
            request,
            "kpi.html",
            k=k,
            chart=bar_chart(k["per_day"]),
            silent=silent_figures(store.silent_errors(since)),
            forms={t.id: (t.title_en or t.title) if en else t.title for t in all_templates()},
        )

    @app.get("/exceptions", response_class=HTMLResponse)
    def exceptions(request: Request) -> Response:
        user(request, *REVIEWERS)
        role = role_of(request)
        visible = {k for k, roles in EVIDENCE_ROLES.items() if allowed(role, *roles)}
        items = [(e, [k for k in loads(e.evidence) or {} if k in visible]) for e in store.exceptions()]
        return page(request, "exceptions.html", items=items)

    @app.post("/exceptions/{item_id}/resolve")
    async def resolve(item_id: int, request: Request) -> Response:
        name = user(request, *REVIEWERS)
        await check_csrf(request)
        store.resolve_exception(item_id, name)
        return RedirectResponse("/exceptions", status_code=303)

    @app.get("/exceptions/{item_id}/evidence/{kind}")
    def evidence(item_id: int, kind: str, request: Request) -> Response:
        if kind not in EVIDENCE_ROLES:
            user(request)
            return page(request, "message.html", status=404, title=tr(request)("not_found"))
        name = user(request, *EVIDENCE_ROLES[kind])
        item = store.exception(item_id)
        paths = loads(item.evidence) if item else {}
        path = Path(paths.get(kind, "")) if paths and paths.get(kind) else None
        roots = [cfg.evidence.resolve(), cfg.quarantine.resolve(), cfg.archive.resolve()]
        if path is None or not any(path.resolve().is_relative_to(r) for r in roots):
            return page(request, "message.html", status=404, title=tr(request)("not_found"))
        try:
            response = download(path, f"evidence-{item_id}-{kind}", text_ok=kind == "reason", https=https)
        except EvidenceUnavailable:
            return page(request, "message.html", status=404, title=tr(request)("not_found"))
        store.audit(name, "evidence.view", item.document_id if item else None, detail=f"{item_id}:{kind}")
        return response

    # --- documents -------------------------------------------------------------------------------------

    def blind_row(row: dict[str, Any], typed: Any) -> dict[str, Any]:
        chosen = typed if isinstance(typed, list) else [typed] if isinstance(typed, str) else []
        return {
            "spec": row["spec"],
            "crop": row["crop"],
            "box": row["box"],
            "input": typed if isinstance(typed, str) else "",
            "chosen": chosen,
            "ticked": typed is True,
            "doubt": False,
        }

    def field_rows(tpl: Template, doc_id: int, typed: dict[str, Any]) -> list[dict[str, Any]]:
        """The fields as the review form shows them; ``typed``: entries that could not be read, shown
        again as the reviewer typed them (a sensitive one masked) so nothing needs typing twice."""
        rows = []
        for f in store.fields(doc_id):
            spec = tpl.field(f.name)
            value = loads(f.value)
            display = display_value(spec, value)
            rows.append(
                {
                    "f": f,
                    "doubt": f.needs_review,
                    "spec": spec,
                    "value": value,
                    "display": display,
                    "input": typed.get(f.name, display)
                    if isinstance(typed.get(f.name, ""), str)
                    else display,
                    "ocr_display": display_value(spec, loads(f.ocr_value)),
                    "reasons": json.loads(f.reasons),
                    "box": loads(f.box),
                    "chosen": value if isinstance(value, list) else [value],
                    "crop": crop_style(tpl, spec),
                }
            )
        return rows

    def doc_page(
        request: Request,
        doc_id: int,
        message: str | None = None,
        error: str | None = None,
        status: int = 200,
        typed: dict[str, Any] | None = None,
        field_errors: dict[str, ReviewError] | None = None,
    ) -> Response:
        """The document screen. A blind check (ダブルチェック, 抜き取り検査) shows empty inputs and no
        value read; ``typed`` and ``field_errors`` put entries that could not be read back on the
        screen with their reason under the field."""
        doc = store.document(doc_id)
        if doc.form_id is None:
            return page(request, "message.html", status=404, title=tr(request)("not_found"))
        tpl = load_template(doc.form_id)
        typed = typed or {}
        rows = field_rows(tpl, doc_id, typed)
        jobs = store.keying_jobs(doc_id)
        audit_blind = doc.status == DocStatus.AUDIT
        double = doc.status == DocStatus.DOUBLE_CHECK or audit_blind
        if double:
            # Blind: nothing the OCR or the first reviewer entered reaches this page, only what this
            # person typed in a try that could not be read.
            rows = [
                blind_row(r, typed.get(r["spec"].name)) for r in rows if audit_blind or r["spec"].double_entry
            ]
        lang_en = lang(request) == "en"
        errors = {k: e.en if lang_en else e.ja for k, e in (field_errors or {}).items()}
        task = store.review_task(doc_id)
        return page(
            request,
            "document.html",
            status=status,
            doc=doc,
            tpl=tpl,
            rows=rows,
            double=double,
            audit_blind=audit_blind,
            field_errors=errors,
            first_reviewer=task.first_reviewer if task else None,
            message=message,
            error=error,
            jobs=jobs,
            FieldType=FieldType,
            exceptions=store.exceptions(document_id=doc_id),
            editable=doc.status == DocStatus.REVIEW,
        )

    @app.get("/documents/{doc_id}", response_class=HTMLResponse)
    def document(doc_id: int, request: Request) -> Response:
        name = user(request, *REVIEWERS)
        try:
            store.document(doc_id)
        except KeyError:
            return page(request, "message.html", status=404, title=tr(request)("not_found"))
        store.open_review(doc_id, name)
        return doc_page(request, doc_id)

    def edits_from(tpl: Template, form: dict[str, list[str]]) -> tuple[dict[str, Any], set[str]]:
        edits: dict[str, Any] = {}
        for spec in tpl.fields:
            key = f"f_{spec.name}"
            if spec.type is FieldType.CHECKBOXES and not spec.exclusive:
                edits[spec.name] = form.get(key, [])
            elif spec.type in (FieldType.CHECKBOX, FieldType.SIGNATURE):
                edits[spec.name] = bool(form.get(key))
            elif key in form:
                if spec.sensitive and form[key][0].startswith("****"):
                    continue  # the masked display was not changed
                edits[spec.name] = form[key][0]
            elif spec.type in (FieldType.CHECKBOXES, FieldType.CHOICE):
                edits[spec.name] = None
        unreadable = {spec.name for spec in tpl.fields if form.get(f"unreadable_{spec.name}")}
        return edits, unreadable

    @app.post("/documents/{doc_id}/save")
    async def save(doc_id: int, request: Request) -> Response:
        name = user(request, *REVIEWERS)
        form = await check_csrf(request)
        doc = store.document(doc_id)
        t = tr(request)
        if doc.status != DocStatus.REVIEW or doc.form_id is None:
            return doc_page(request, doc_id, error=t("forbidden"), status=409)
        tpl = load_template(doc.form_id)
        edits, unreadable = edits_from(tpl, form)
        try:
            revision = int((form.get("revision") or ["-1"])[0])
        except ValueError:
            revision = -1
        try:
            saved = save_edits(ctx, doc_id, edits, name, unreadable, revision=revision)
            if saved.errors:
                # Nothing approved; every other field was saved; the entries are shown as typed,
                # but a sensitive one (個人番号) shows its stored value masked, as always: left so, it
                # means "unchanged", so it must be the stored one, and the reason asks to type it again.
                typed = {k: str(edits[k])[:200] for k in saved.errors if not tpl.field(k).sensitive}
                return doc_page(request, doc_id, error=t("input_errors"), status=422, typed=typed)
            if form.get("action", [""])[0] == "approve":
                approve(ctx, doc_id, name)
                return RedirectResponse(f"/queue?done={doc_id}", status_code=303)
        except ReviewError as exc:
            status = 409 if isinstance(exc, EditConflict) else 422
            return doc_page(request, doc_id, error=exc.en if lang(request) == "en" else exc.ja, status=status)
        return doc_page(request, doc_id, message=t("saved"))

    def blind_entries(tpl: Template, form: dict[str, list[str]]) -> dict[str, Any]:
        """A blind form's entries per field, in the shape a review form's are (lists for boxes)."""
        entries: dict[str, Any] = {}
        for spec in tpl.fields:
            key = f"f_{spec.name}"
            if spec.type is FieldType.CHECKBOXES and not spec.exclusive:
                entries[spec.name] = form.get(key, [])
            elif spec.type in (FieldType.CHECKBOX, FieldType.SIGNATURE):
                entries[spec.name] = bool(form.get(key))
            elif form.get(key):
                entries[spec.name] = form[key][0]
        return entries

    @app.post("/documents/{doc_id}/double-check")
    async def double_check_doc(doc_id: int, request: Request) -> Response:
        name = user(request, *REVIEWERS)
        form = await check_csrf(request)
        doc = store.document(doc_id)
        audit = doc.status == DocStatus.AUDIT
        entries = blind_entries(load_template(doc.form_id), form) if doc.form_id else {}
        try:
            differing = (audit_check if audit else double_check)(ctx, doc_id, name, entries)
        except BlindEntryErrors as exc:
            assert doc.form_id is not None
            tpl = load_template(doc.form_id)
            # The person's own entries back (not a sensitive one: typed again rather than shown).
            typed = {
                k: v[:200] if isinstance(v, str) else v
                for k, v in entries.items()
                if not tpl.field(k).sensitive
            }
            return doc_page(
                request,
                doc_id,
                error=exc.en if lang(request) == "en" else exc.ja,
                status=422,
                typed=typed,
                field_errors=exc.errors,
            )
        except ReviewError as exc:
            return doc_page(request, doc_id, error=exc.en if lang(request) == "en" else exc.ja, status=409)
        if differing:
            return doc_page(
                request,
                doc_id,
                error=tr(request)("audit_mismatch" if audit else "double_mismatch")
                + "："
                + "、".join(differing),
                status=422,
            )
        return RedirectResponse(f"/queue?done={doc_id}", status_code=303)

    @app.post("/documents/{doc_id}/reject")
    async def reject_doc(doc_id: int, request: Request) -> Response:
        name = user(request, *REVIEWERS)
        form = await check_csrf(request)
        reason = (form.get("reason") or [""])[0].strip() or "-"
        try:
            reject(ctx, doc_id, name, reason)
        except ReviewError as exc:
            return doc_page(request, doc_id, error=exc.en if lang(request) == "en" else exc.ja, status=409)
        return RedirectResponse("/queue", status_code=303)

    @lru_cache(maxsize=8)
    def _page_image(path: str, mtime: float):
        return cv2.imread(path, cv2.IMREAD_COLOR)

    def load_page_image(doc_id: int):
        pages = store.pages(doc_id)
        if not pages or not Path(pages[0].image_path).exists():
            return None, None
        p = Path(pages[0].image_path)
        return _page_image(str(p), p.stat().st_mtime), p

    @app.get("/documents/{doc_id}/page.jpg")
    def page_image(doc_id: int, request: Request) -> Response:
        name = user(request, *REVIEWERS)
        _, path = load_page_image(doc_id)
        if path is None:
            return Response(status_code=404)
        store.audit(name, "page.view", doc_id)  # a scan is personal data: nobody pulls it unseen
        return FileResponse(path, media_type="image/jpeg")

    @app.get("/documents/{doc_id}/crop/{field_name}.png")
    def crop(doc_id: int, field_name: str, request: Request) -> Response:
        name = user(request, *REVIEWERS)
        img, _ = load_page_image(doc_id)
        doc = store.document(doc_id)
        if img is None or doc.form_id is None:
            return Response(status_code=404)
        try:
            spec = load_template(doc.form_id).field(field_name)
        except KeyError:
            return Response(status_code=404)
        store.audit(name, "crop.view", doc_id, detail=spec.name)
        lay = layout_field(spec)
        b, k, m = lay.zone, PX_PER_MM, 2.0
        y0, y1 = max(int((b.y - m) * k), 0), int((b.y2 + m) * k)
        x0, x1 = max(int((b.x - m) * k), 0), int((b.x2 + m) * k)
        ok, buf = cv2.imencode(".png", img[y0:y1, x0:x1])
        return Response(buf.tobytes() if ok else b"", media_type="image/png")

    def blind_values(events: list[Any]) -> list[Any]:
        """Audit events as a supervisor may see them while a ダブルチェック is open: the values typed
        (or read) for the double-entry fields stay hidden until the second person has keyed them."""
        hidden: dict[int, set[str]] = {}
        for d in store.documents([DocStatus.DOUBLE_CHECK, DocStatus.AUDIT], limit=10_000):
            if d.id is not None and d.form_id:
                every = d.status == DocStatus.AUDIT  # 抜き取り検査: every field is keyed blind
                hidden[d.id] = {f.name for f in load_template(d.form_id).fields if every or f.double_entry}
        out = []
        for e in events:
            if e.document_id in hidden and e.field in hidden[e.document_id]:
                e = e.model_copy(update={"old_value": "***", "new_value": "***"})
            out.append(e)
        return out

    @app.get("/documents/{doc_id}/audit", response_class=HTMLResponse)
    def doc_audit(doc_id: int, request: Request) -> Response:
        user(request, *SUPERVISORS)
        store.document(doc_id)  # an unknown ID is a 404, not an empty log
        events = blind_values(store.audit_events(doc_id))
        return page(request, "audit.html", events=events, doc_id=doc_id)

    @app.get("/audit", response_class=HTMLResponse)
    def audit(request: Request) -> Response:
        user(request, *SUPERVISORS)
        return page(request, "audit.html", events=blind_values(store.audit_events()), doc_id=None)

    @app.get("/admin/users", response_class=HTMLResponse)
    def users(request: Request) -> Response:
        user(request, "admin")
        return page(request, "users.html", users=store.users())

    from review.editor import add_editor_routes  # /templates: the template editor for authors

    add_editor_routes(app, ctx, user=user, page=page, tr=tr, lang=lang)

    return app
