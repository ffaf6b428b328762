"""A reviewer's PC in the many-PC test: approves what waits for a person, as the review UI does.

Run as ``python -m tests.many_pcs_reviewer STOP_FILE``: until ``STOP_FILE`` exists, every document
waiting for review (or a blind check) is approved in the shared database and the approval is told to
Prefect with the same event the review UI sends (``flows.events.announce_approved``), which triggers
``key-approved`` on a worker.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from core.settings import settings
from flows.events import announce_approved
from formkit.registry import load_template
from records.models import DocStatus
from records.store import Store

WAITING = [DocStatus.REVIEW, DocStatus.DOUBLE_CHECK, DocStatus.AUDIT]


def main(stop: Path) -> None:
    store = Store(settings().database_url)
    while not stop.exists():
        try:
            docs = store.documents(WAITING)
        except Exception:  # the first worker has not made the tables yet
            docs = []
        for doc in docs:
            assert doc.id is not None and doc.form_id is not None
            store.close_review(doc.id, "reviewer", "approved", DocStatus.APPROVED)
            announce_approved(doc.id, load_template(doc.form_id).target)
            print(f"approved {doc.id}", flush=True)
        time.sleep(2)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
