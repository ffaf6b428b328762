"""Administration: the list of accounts (admins only; accounts are added and changed with
``dejiru user``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from review.web import Admin, State, page

router = APIRouter()


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, me: Admin, state: State) -> Response:
    return page(request, "users.html", users=state.store.users())
