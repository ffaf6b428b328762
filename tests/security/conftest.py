"""A review server with real documents read from real scans, and the people who use it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import ServerThread, free_port, http_login, make_settings

PASSWORD = "kakunin-2026"
USERS = {"hanako": "reviewer", "taro": "reviewer", "boss": "supervisor", "aki": "author", "root": "admin"}


class Client(httpx.Client):
    """An httpx client that may be used in a ``with`` block after it was already used (logged in)."""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Site:
    url: str
    ctx: Any
    home: Path

    def client(self, user: str | None = None, password: str = PASSWORD) -> Client:
        """An HTTP client holding its own cookies, logged in as ``user`` (None: anonymous)."""
        c = Client(base_url=self.url, follow_redirects=False, timeout=30)
        if user is not None:
            r = http_login(c, self.url, user, password)
            assert r.status_code == 303, (user, r.status_code)
        return c

    def drop(self, name: str, data: bytes) -> Any:
        """A file dropped into the inbox and taken by the real intake."""
        from pipeline.intake import intake_file

        inbox = self.ctx.settings.inbox
        inbox.mkdir(parents=True, exist_ok=True)
        path = inbox / name
        path.write_bytes(data)
        return intake_file(path, self.ctx)

    def scan(self, form: str, seed: int, name: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        """A filled sample scan of ``form`` dropped and read; returns the document and its truth."""
        from formkit.registry import load_template
        from formkit.samples import make_sample
        from pipeline.reading import read_document

        img, truth = make_sample(load_template(form), seed, **({"font": "ipag", "dpi": 200} | kw))
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=90)
        doc_id = self.drop(name, buf.getvalue()).document_id
        read_document(doc_id, self.ctx)
        return doc_id, truth


def start_site(home: Path, **settings: Any) -> Iterator[Site]:
    from pipeline.context import Context
    from review.app import create_app
    from review.auth import hash_password

    ctx = Context.create(make_settings(home, **settings))
    hashed = hash_password(PASSWORD)
    for name, role in USERS.items():
        ctx.store.add_user(name, hashed, role)
    with ServerThread(create_app(ctx), free_port()) as srv:
        yield Site(srv.url, ctx, home)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A fresh review server (every document goes to review) with one account per role."""
    yield from start_site(tmp_path / "home", review_all=True)


def login_page(browser: Any, url: str, user: str, password: str = PASSWORD) -> Any:
    page = browser.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("#login")
    return page
