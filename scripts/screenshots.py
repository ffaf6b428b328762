"""Regenerate the pictures in README.md and docs/: a read overlay and the review screens.

    .venv/bin/python scripts/screenshots.py

Runs the real pipeline on fresh sample scans in a temporary home and photographs the review UI
in Debian's Chromium.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "docs" / "img"


def main() -> None:
    from playwright.sync_api import sync_playwright

    from bots.browser import launch_kwargs
    from formkit.registry import load_template
    from ocr.overlay import render_overlay
    from ocr.reader import read_page
    from pipeline.context import Context
    from pipeline.intake import intake_file
    from pipeline.reading import read_document
    from review.app import create_app
    from review.auth import hash_password
    from synth.samples import make_sample
    from tests.conftest import ServerThread, free_port, make_settings
    from validation.routing import validate

    OUT.mkdir(parents=True, exist_ok=True)
    tpl = load_template("juminhyo_request")
    img, _ = make_sample(tpl, 20261124, font="kiloji", profile="office")
    reading, aligned = read_page(img)
    validate(tpl, reading)
    over = Image.fromarray(render_overlay(aligned, reading))
    over.crop((0, 250, 2100, 1450)).resize((1050, 600)).save(OUT / "read-overlay.png", optimize=True)

    home = Path(tempfile.mkdtemp(prefix="dejiru-shots-"))
    ctx = Context.create(make_settings(home, review_all=True))
    ctx.store.add_user("hanako", hash_password("screenshots"), "reviewer")
    ctx.store.add_user("kacho", hash_password("screenshots"), "supervisor")
    ctx.store.add_user("aki", hash_password("screenshots"), "author")
    for seed in (20261125, 20261126):
        img, _ = make_sample(tpl, seed, font="klee")
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=88)
        p = ctx.settings.inbox / f"申請書_{seed}.jpg"
        ctx.settings.inbox.mkdir(parents=True, exist_ok=True)
        p.write_bytes(buf.getvalue())
        read_document(intake_file(p, ctx).document_id, ctx)
    with ServerThread(create_app(ctx), free_port()) as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_kwargs())
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="ja-JP")
        page.goto(f"{srv.url}/login")
        page.fill("input[name=username]", "hanako")
        page.fill("input[name=password]", "screenshots")
        page.click("#login")
        page.screenshot(path=str(OUT / "review-queue.png"))
        page.goto(f"{srv.url}/documents/1")
        page.screenshot(path=str(OUT / "review-document.png"))
        for user, path, shot in (
            ("kacho", "/kpi", "review-kpi.png"),
            ("aki", "/templates/inkan_request/edit", "template-editor.png"),
        ):
            other = browser.new_page(viewport={"width": 1400, "height": 900}, locale="ja-JP")
            other.goto(f"{srv.url}/login")
            other.fill("input[name=username]", user)
            other.fill("input[name=password]", "screenshots")
            other.click("#login")
            other.goto(f"{srv.url}{path}")
            other.wait_for_load_state("networkidle")
            other.screenshot(path=str(OUT / shot))
        browser.close()
    print("written:", *sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
