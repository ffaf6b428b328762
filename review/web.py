"""What every route of the review UI shares: the state built once per app, and the dependencies that
decide who may do what.

Access is declared in each route's signature (``me: Reviewer``, ``form: CheckedForm``) rather than
called by hand in its body, so a route cannot forget it and tests/test_review_routes.py can see it:
every route that is not public depends on :func:`signed_in`. The state lives on ``app.state`` (not in
closures), so routes are plain module functions on ``APIRouter``s.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from itsdangerous import URLSafeSerializer

from core.settings import Settings
from pipeline.context import Context
from pipeline.keying import targets_of
from records.models import DocStatus, User
from records.store import Store
from review.auth import AUTHORS, COUNTER, REVIEWERS, STAFF, SUPERVISORS, LoginLimiter, allowed, csrf_ok
from review.i18n import translator

log = logging.getLogger(__name__)

#: A login lasts a working day at most, and ends after an hour without a request.
SESSION_LIFETIME = dt.timedelta(hours=8)
SESSION_IDLE = dt.timedelta(hours=1)
#: Pages a user holding a one-time password may still open (to choose a new one, or leave).
PASSWORD_CHANGE_PATHS = ("/account/password", "/logout")


class Redirect(Exception):
    """Answered with a 303 to ``url`` (the app's handler): a dependency cannot return a response."""

    def __init__(self, url: str) -> None:
        self.url = url


class Forbidden(Exception):
    """Answered with the 403 page, in the user's language."""


@dataclass(frozen=True)
class ReviewState:
    """Built once by ``create_app`` and kept on ``app.state.review``: one app's store, settings, page
    templates and login limiter, so two apps in one process (tests) never share a limiter."""

    ctx: Context
    https: bool
    templates: Jinja2Templates
    limiter: LoginLimiter
    #: Signs the device cookie (who logged in from this browser), see routes/account.py.
    devices: URLSafeSerializer
    #: Called with a document's number and target system once a decision approved it (``dejiru run``
    #: and ``dejiru serve`` pass one that triggers keying); the UI itself knows nothing of keying.
    on_approved: Callable[[int, str | None], None] | None = None

    def approved(self, doc_id: int) -> None:
        """After a decision's commit: if it left the document approved, say so. Never fails the
        request: keying's schedule picks the document up anyway."""
        if self.on_approved is None:
            return
        try:
            if self.store.document(doc_id).status == DocStatus.APPROVED:
                targets: list[str | None] = [*targets_of(self.ctx, doc_id)] or [None]
                for target in targets:
                    self.on_approved(doc_id, target)
        except Exception as exc:
            log.warning("approval of document %s not announced: %s", doc_id, exc)

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def settings(self) -> Settings:
        return self.ctx.settings


def shared(request: Request) -> ReviewState:
    state: ReviewState = request.app.state.review
    return state


def lang(request: Request) -> str:
    return "en" if request.cookies.get("lang") == "en" else "ja"


def tr(request: Request) -> Callable[[str], str]:
    return translator(lang(request))


def current(request: Request) -> User | None:
    """The account behind this request's session, checked against the server on every request:
    a session ended by logout, a password change, a reset or a disabled account is gone."""
    if hasattr(request.state, "account"):
        cached: User | None = request.state.account
        return cached
    token = request.session.get("sid")
    account = shared(request).store.session_user(str(token), SESSION_IDLE) if token else None
    request.state.account = account
    return account


def signed_in(request: Request) -> User:
    """Every page but the public ones: no session is a trip to the login page, a one-time password
    one to the page that replaces it."""
    account = current(request)
    if account is None:
        request.session.clear()
        raise Redirect("/login")
    if account.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise Redirect("/account/password")
    return account


def require(*roles: str) -> Callable[..., User]:
    """A dependency: signed in (as :func:`signed_in`) with one of ``roles`` (admins pass any), else 403."""

    def role(account: Annotated[User, Depends(signed_in)]) -> User:
        if not allowed(account.role, *roles):
            raise Forbidden()
        return account

    role.__name__ = f"role_{'_'.join(roles)}"
    return role


async def checked_form(request: Request, account: Annotated[User, Depends(signed_in)]) -> dict[str, Any]:
    """The posted form, once its CSRF token matches the session's (403 otherwise). Depends on
    :func:`signed_in` so that an anonymous post goes to the login page, never to a 403."""
    form = await request.form()
    given = form.get("csrf") or request.headers.get("X-CSRF-Token")
    if not csrf_ok(request.session.get("csrf"), str(given) if given else None):
        raise Forbidden()
    return {k: form.getlist(k) for k in form}


State = Annotated[ReviewState, Depends(shared)]
Tr = Annotated[Callable[[str], str], Depends(tr)]
SignedIn = Annotated[User, Depends(signed_in)]
Reviewer = Annotated[User, Depends(require(*REVIEWERS))]
Supervisor = Annotated[User, Depends(require(*SUPERVISORS))]
Author = Annotated[User, Depends(require(*AUTHORS))]
Admin = Annotated[User, Depends(require("admin"))]
Counter = Annotated[User, Depends(require(*COUNTER))]
Staff = Annotated[User, Depends(require(*STAFF))]
#: Declared after the role (``me: Reviewer, form: CheckedForm``): a user without the role gets 403
#: before the token is looked at, as a user without a session gets the login page.
CheckedForm = Annotated[dict[str, Any], Depends(checked_form)]


def home(role: str | None) -> str:
    """Where a login lands: authors edit templates and counter staff serve visitors, not documents."""
    return {"author": "/templates", "counter": "/counter", "staff": "/intake"}.get(role or "", "/queue")


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page of the UI, with what every page's frame shows (language, user, role, CSRF token)."""
    return shared(request).templates.TemplateResponse(
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


def not_found(request: Request) -> HTMLResponse:
    return page(request, "message.html", status=404, title=tr(request)("not_found"))
