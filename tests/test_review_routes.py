"""Every route of the review UI, walked from ``app.routes``: all but the few public ones depend on a
session and send an anonymous request to the login page. A new router or route that forgets the
dependency fails here, not in front of a city hall's network."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.testclient import TestClient

from review.app import create_app
from review.routes.account import PUBLIC
from review.routes.online import TOKEN_ROUTES, api_client
from review.web import signed_in
from tests.conftest import make_settings

#: A value for each path parameter that the route would accept from a real link.
SAMPLE = {"kind": "quarantine", "field_name": "name", "form_id": "juminhyo_request", "code": "en"}


def depends_on(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from depends_on(sub)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from pipeline.context import Context

    return create_app(Context.create(make_settings(tmp_path_factory.mktemp("routes") / "home")))


def routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, path, dependant) of every endpoint. ``app.routes`` holds one entry per included
    router (FastAPI >= 0.137), so the endpoints are reached through ``iter_route_contexts``; the
    dependant is the effective one, with any dependencies given at ``include_router`` time."""
    found = []
    for rc in iter_route_contexts(app.routes):
        if isinstance(rc.original_route, APIRoute):
            found += [(m, str(rc.path), rc.dependant) for m in sorted(rc.methods or ())]
    return found


def test_the_public_routes_exist_and_need_no_session(app: Any) -> None:
    """The list of public routes names routes that exist, none of which asks for a session."""
    assert {(m, p) for m, p, _ in routes(app)} >= PUBLIC
    for method, path, dependant in routes(app):
        if (method, path) in PUBLIC:
            assert signed_in not in set(depends_on(dependant)), (method, path)


def test_every_other_route_needs_a_session(app: Any) -> None:
    """Anonymous access: every non-public route depends on signed_in and answers 303 to /login."""
    protected = [(m, p, r) for m, p, r in routes(app) if (m, p) not in PUBLIC | TOKEN_ROUTES]
    assert len(protected) >= 20
    with TestClient(app, follow_redirects=False) as client:
        for method, path, dependant in protected:
            assert signed_in in set(depends_on(dependant)), f"{method} {path} has no session dependency"
            url = re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "1"), path)
            r = client.request(method, url)
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), (method, url)


def test_the_machine_routes_need_a_token_and_no_session(app: Any) -> None:
    """The online services' API: a token, never a login (a session cookie gets nothing there)."""
    found = {(m, p): r for m, p, r in routes(app)}
    assert set(found) >= TOKEN_ROUTES
    with TestClient(app, follow_redirects=False) as client:
        for method, path in TOKEN_ROUTES:
            assert api_client in set(depends_on(found[(method, path)])), (method, path)
            r = client.request(method, path)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", (method, path)
