"""Crash points for fault-injection tests: ``DEJIRU_FAILPOINT=<name>`` kills the process right there.

The process is killed with SIGKILL, exactly as ``kill -9`` or a power cut would, so tests can prove
that a restart neither loses nor duplicates a document or a keyed record. Unset, a failpoint costs
one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = {
    "intake.after_record": "the document is recorded, the inbox file not yet removed",
    "read.before_save": "the page is read, nothing of it stored",
    "read.after_save": "the reading and the routing decision are stored",
    "key.before_target": "the keying job is marked running, the bot has not typed",
    "key.after_target": "the target system saved the record, its receipt is not yet stored",
}


def hit(name: str) -> None:
    if os.environ.get("DEJIRU_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
