"""Crash points for fault-injection tests: ``DEJIRU_FAILPOINT=<name>`` kills the process right there.

The process is killed with SIGKILL, exactly as ``kill -9`` or a power cut would, so tests can prove
that a restart neither loses nor duplicates a document or a keyed record. Unset, a failpoint costs
one dictionary lookup.

The points marked "in one unit" lie between two writes of a step that are committed together
(``records.store.Store.unit``): a kill there must leave neither write behind.
"""

from __future__ import annotations

import os
import signal

POINTS = {
    "intake.document_added": "in one unit: the document is added, its intake event not",
    "intake.after_record": "the document is recorded, the inbox file not yet removed",
    "read.before_save": "the page is read, nothing of it stored",
    "read.reading_saved": "in one unit: the reading and pages are saved, the routing's approval and event not",
    "read.after_save": "the reading and the routing decision are stored",
    "online.row_saved": "in one unit: an online application's document and values are saved, its approval not",
    "review.labels_saved": "in one unit: a blind check's audit labels are saved, the document not yet approved or sent back",
    "review.labels_settled": "in one unit: an approval settled the audit labels, the document is not yet approved",
    "review.fields_marked": "in one unit: a blind check marked the differing fields, the document is not yet back in review",
    "key.before_target": "the keying job is marked running, the bot has not typed",
    "key.after_target": "the target system saved the record, its receipt is not yet stored",
    "key.job_done": "in one unit: the keying job is done with its receipt, the document is not yet KEYED",
    "key.record_done": "one record of a document keyed as several (each: a group) is done, the next not typed",
}


def hit(name: str) -> None:
    if os.environ.get("DEJIRU_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
