"""The review UI: reviewers see the scan beside each doubtful value, fix it from the keyboard, approve.

FastAPI + Jinja2 + htmx, no JavaScript build step. Nothing but the login page (and the health checks
and counts-only metrics for monitoring, routes/health.py) is reachable without a session; every POST needs the session's CSRF token; every document view and
every change is written to the audit log. The routes are in review/routes/, one router per part of
the work; who may call each is in its signature (review/web.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import URLSafeSerializer
from starlette.middleware.sessions import SessionMiddleware

from pipeline.context import Context
from review.auth import LoginLimiter
from review.routes import ROUTERS
from review.routes.online import TokenRefused
from review.security import security_headers
from review.web import SESSION_LIFETIME, Forbidden, Redirect, ReviewState, not_found, page, tr

HERE = Path(__file__).parent


async def _redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Redirect)
    return RedirectResponse(exc.url, status_code=303)


async def _token_refused(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {
            "code": "token_refused",
            "error_ja": "APIトークンがないか、正しくありません",
            "error_en": "missing or unknown API token",
        },
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _forbidden(request: Request, exc: Exception) -> Response:
    return page(request, "message.html", status=403, title=tr(request)("forbidden"))


async def _unknown(request: Request, exc: Exception) -> Response:
    # The store raises KeyError for an ID that does not exist: a wrong link, not a server fault.
    return not_found(request)


def create_app(
    ctx: Context,
    *,
    https: bool = False,
    on_approved: Callable[[int, str | None], None] | None = None,
) -> FastAPI:
    """The review UI. ``https``: served over TLS (``dejiru serve --cert/--key``): cookies are Secure
    and browsers are told to use HTTPS from then on (HSTS). ``on_approved``: see
    :attr:`review.web.ReviewState.on_approved`."""
    cfg = ctx.settings
    app = FastAPI(title="dejiru review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.review = ReviewState(
        ctx=ctx,
        https=https,
        templates=Jinja2Templates(directory=HERE / "templates"),
        limiter=LoginLimiter(),
        devices=URLSafeSerializer(cfg.secret_key(), salt="dejiru-device"),
        on_approved=on_approved,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=cfg.secret_key(),
        session_cookie="dejiru_session",
        max_age=int(SESSION_LIFETIME.total_seconds()),
        same_site="strict",
        https_only=https,
    )
    headers = security_headers(https)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for k, v in headers.items():
            response.headers.setdefault(k, v)
        return response

    app.add_exception_handler(TokenRefused, _token_refused)
    app.add_exception_handler(Redirect, _redirect)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(KeyError, _unknown)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
