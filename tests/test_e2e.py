"""End to end, as a user runs it: `dejiru run`, a scan dropped in the inbox, a reviewer approves in the
browser, the bot keys it into the demo legacy system — and the keyed record equals the ground truth."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from records.models import DocStatus
from records.store import Store
from tests.conftest import REPO, free_port
from tests.legacy_rows import expected_row, pick, rows
from validation.wareki import format_wareki

pytestmark = pytest.mark.slow
PASSWORD = "kakunin-2026"


def wait_for(what, timeout: float, proc=None, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"dejiru run exited early ({proc.returncode})")
        time.sleep(step)
    raise AssertionError("timed out")


def shown(spec, value) -> str:
    """How a reviewer types a value from the paper (dates in 和暦, as on the form)."""
    import datetime as dt

    if spec.type == "date":
        return format_wareki(dt.date.fromisoformat(value))
    return "" if value is None else str(value)


def test_scan_to_keyed_record(tmp_path, sample, browser, tpl) -> None:
    home, inbox = tmp_path / "var", tmp_path / "inbox"
    review_port, legacy_port = free_port(), free_port()
    env = os.environ | {
        "DEJIRU_HOME": str(home),
        "DEJIRU_INBOX": str(inbox),
        "DEJIRU_REVIEW_PORT": str(review_port),
        "DEJIRU_LEGACY_PORT": str(legacy_port),
        "DEJIRU_REVIEW_ALL": "1",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    env.pop("DEJIRU_LEGACY_URL", None)
    dejiru = [sys.executable, "-m", "dejiru.cli"]
    subprocess.run(
        [*dejiru, "user", "add", "hanako", "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen(
        [*dejiru, "run", "--no-prefect-server", "--until-keyed", "1", "--timeout", "500"],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        review = f"http://127.0.0.1:{review_port}"
        wait_for(lambda: _up(f"{review}/health"), 120, proc)

        img, truth = sample(401, font="klee", dpi=300)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "PDF", resolution=300)
        (inbox / ".scan.pdf.tmp").write_bytes(buf.getvalue())  # scanners write, then rename
        (inbox / ".scan.pdf.tmp").rename(inbox / "住民票 請求書.pdf")

        store = Store(f"sqlite:///{home / 'dejiru.db'}")
        doc = wait_for(lambda: next(iter(store.documents([DocStatus.REVIEW])), None), 240, proc)

        page = browser.new_page()
        page.goto(f"{review}/login")
        page.fill("input[name=username]", "hanako")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login")
        page.goto(f"{review}/documents/{doc.id}")
        # DEJIRU_REVIEW_ALL (全件確認) puts every field before the reviewer, who compares each with the
        # paper and types what is written there. Whether unflagged readings were right is the reading
        # benchmark's question (its silent-error rate), not this test's: a single silent misread would
        # otherwise make this test depend on the day's sample.
        for f in store.fields(doc.id):
            spec = tpl.field(f.name)
            want = truth["fields"][f.name]
            if spec.type in ("checkboxes", "choice"):
                for opt in spec.options:
                    box = page.locator(f"input[name=f_{f.name}][value='{opt.value}']")
                    chosen = opt.value == want or (isinstance(want, list) and opt.value in want)
                    box.check() if chosen else (
                        box.uncheck() if spec.type == "checkboxes" and not spec.exclusive else None
                    )
            elif spec.type in ("checkbox", "signature"):
                page.locator(f"input[name=f_{f.name}]").set_checked(bool(want))
            else:
                page.fill(f"input[name=f_{f.name}]", shown(spec, want))
        page.click("#approve")
        page.wait_for_url("**/queue**")
        page.close()

        assert proc.wait(timeout=240) == 0, (tmp_path / "run.log").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=60)
        log.close()

    keyed = rows(home / "legacy" / "legacy.db")
    assert len(keyed) == 1
    assert pick(keyed[0]) == expected_row(truth["fields"])
    assert store.document(doc.id).status == DocStatus.KEYED
    job = store.keying_jobs(doc.id)[0]
    assert job.receipt == keyed[0]["receipt"] and job.attempts == 1
    archived = Path(store.document(doc.id).archive_path)
    assert archived.read_bytes() == buf.getvalue()  # the original, untouched
    assert not any(inbox.iterdir())
    # The flow runs that took it in and keyed it are noted (the admin menu links them to the Prefect UI).
    steps = {
        e.detail.split(" ")[0] for e in store.audit_events(doc.id) if e.action == "flow.run" and e.detail
    }
    assert {"process-file", "key-approved"} <= steps


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
