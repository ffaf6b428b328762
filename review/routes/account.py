"""Getting in and out: the health check, login, logout, the password change, the language switch.

The only public routes of the UI live here (``PUBLIC``); tests/test_review_routes.py holds every
other route to a session.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature

from review.auth import (
    WeakPassword,
    check_password,
    csrf_ok,
    hash_password,
    new_csrf_token,
    verify_password,
)
from review.web import SESSION_LIFETIME, CheckedForm, SignedIn, State, Tr, home, lang, page

router = APIRouter()

#: (method, path) of the routes anyone may open without a session; the three for monitoring are
#: review/routes/health.py's (why /metrics is among them: see there).
PUBLIC = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/lang/{code}"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
    }
)


@router.get("/health")
def health() -> JSONResponse:
    return JSONResponse({"ok": True})


def login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    # A token bound to this browser before anyone is logged in: a login posted from another site
    # (logging a reviewer into the attacker's account) is refused.
    request.session.setdefault("login_csrf", new_csrf_token())
    return page(request, "login.html", status=status, error=error, login_csrf=request.session["login_csrf"])


def device(request: Request, state: State) -> dict[str, Any]:
    """This browser's device cookie: a random id and the user names that logged in from it
    (signed, so it cannot be made up). The login limiter counts a known device's failures apart
    from everyone else's."""
    try:
        found = state.devices.loads(request.cookies.get("dejiru_device", ""))
    except BadSignature:
        found = None
    if isinstance(found, dict) and isinstance(found.get("id"), str) and isinstance(found.get("names"), list):
        return {"id": found["id"], "names": [str(n) for n in found["names"]]}
    return {"id": new_csrf_token(), "names": []}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return login_page(request)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, state: State, t: Tr) -> Response:
    store, limiter = state.store, state.limiter
    form = await request.form()
    given = form.get("csrf")
    if not csrf_ok(request.session.get("login_csrf"), str(given) if given else None):
        request.session.pop("login_csrf", None)
        return login_page(request, status=403, error=t("login_expired"))
    name = str(form.get("username", "")).strip()[:100]
    password = str(form.get("password", ""))[:1000]
    client = request.client.host if request.client else "?"
    dev = device(request, state)
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
    with store.unit() as uow:  # no session that the audit trail does not show
        token = uow.start_session(account.username, SESSION_LIFETIME, client)
        uow.audit(account.username, "login", detail=client)
    request.session.update({"sid": token, "csrf": new_csrf_token()})
    target = "/account/password" if account.must_change_password else home(account.role)
    resp = RedirectResponse(target, status_code=303)
    names = [*[n for n in dev["names"] if n != account.username][-9:], account.username]
    resp.set_cookie(
        "dejiru_device",
        state.devices.dumps({"id": dev["id"], "names": names}),
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="strict",
        secure=state.https,
    )
    return resp


@router.post("/logout")
async def logout(request: Request, me: SignedIn, _csrf: CheckedForm, state: State) -> Response:
    with state.store.unit() as uow:
        uow.end_session(str(request.session.get("sid")))
        uow.audit(me.username, "logout")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, me: SignedIn) -> Response:
    return page(request, "password.html", forced=me.must_change_password)


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(request: Request, me: SignedIn, form: CheckedForm, state: State, t: Tr) -> Response:
    store, name = state.store, me.username
    old, new, again = (str((form.get(k) or [""])[0]) for k in ("current", "new", "again"))
    forced = me.must_change_password

    def refuse(message: str) -> Response:
        return page(request, "password.html", status=422, error=message, forced=forced)

    if not verify_password(me.password_hash, old):
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
    with store.unit() as uow:
        uow.set_password(name, hash_password(new), keep_session=str(request.session.get("sid")))
        uow.audit(name, "password.changed")
    return RedirectResponse(home(me.role), status_code=303)


@router.get("/lang/{code}")
def set_lang(code: str, request: Request) -> Response:
    back = request.headers.get("referer") or "/queue"
    resp = RedirectResponse(back if back.startswith(str(request.base_url)) else "/queue", status_code=303)
    resp.set_cookie("lang", "en" if code == "en" else "ja", samesite="strict", httponly=True)
    return resp


@router.get("/")
def root(me: SignedIn) -> Response:
    return RedirectResponse(home(me.role), status_code=303)
