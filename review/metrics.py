"""``/metrics``: the pipeline's health (``pipeline.health``) in Prometheus' text exposition format
(version 0.0.4), for a city's monitoring (Prometheus, Zabbix's HTTP agent, Grafana Agent).

Counts, ages and times only. Label values come from closed sets: document states, target system names
(the installation's own bot mappings), error and problem codes. No document id, file name, path,
user, value or error text, so the page may be read without a login (see ``review/routes/health.py``).
Every series a monitoring rule may alert on is present even when it is zero (an empty queue's age is
0), so that "absent" never has to mean "fine".
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.health import Health
from records.health_queries import QUEUES
from records.models import DocStatus, KeyStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, help_: str, samples: Iterable[tuple[dict[str, str], float]], kind: str = "gauge"
    ) -> None:
        self.lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
        self.lines += [f"{name}{_labels(labels)} {_number(v)}" for labels, v in samples]


def exposition(h: Health) -> str:
    """The text a scraper reads; times are Unix seconds, ages seconds at the moment of the scrape."""
    out = _Out()
    at = h.at
    out.family(
        "dejiru_healthy",
        "1 when dejiru status finds nothing to fix (the workers are not judged here: see dejiru status).",
        [({}, 0 if h.problems else 1)],
    )
    problems: dict[str, int] = {}
    for p in h.problems:
        problems[p.code] = problems.get(p.code, 0) + 1
    out.family(
        "dejiru_problems",
        "Problems found, per code.",
        [({"code": c}, n) for c, n in sorted(problems.items())],
    )
    f = h.facts
    out.family("dejiru_database_up", "1 when the database answered.", [({}, 1 if f is not None else 0)])
    if f is not None:
        out.family(
            "dejiru_documents",
            "Documents in each state.",
            [({"state": s.value}, f.by_state.get(s.value, 0)) for s in DocStatus],
        )
        oldest = {q.state: q for q in f.queues}
        out.family(
            "dejiru_queue_oldest_age_seconds",
            "How long the document waiting longest in a queue has waited there (0: the queue is empty).",
            [
                ({"state": s}, int((at - q.oldest_since).total_seconds()) if q.oldest_since else 0)
                for s in QUEUES
                for q in [oldest[s]]
            ],
        )
        out.family(
            "dejiru_documents_read",
            "Documents read and routed, straight through or to review.",
            [({"route": r}, n) for r, n in sorted(f.reads.items())],
        )
        out.family(
            "dejiru_exceptions_open",
            "Exception items nobody has resolved yet, per code.",
            [({"code": e.code}, e.count) for e in f.open_exceptions],
        )
        out.family(
            "dejiru_exceptions_last_24h",
            "Exception items created in the last 24 hours, per code.",
            [({"code": c}, n) for c, n in sorted(f.recent_exceptions.items())],
        )
    out.family(
        "dejiru_keying_records",
        "Records in the keying ledger per target system and status.",
        [
            ({"target": t.target, "status": s.value}, t.keying.records.get(s.value, 0))
            for t in h.targets
            for s in KeyStatus
        ],
    )
    out.family(
        "dejiru_keying_last_success_timestamp_seconds",
        "When a record was last keyed into the target system (Unix time).",
        [
            ({"target": t.target}, t.keying.last_done_at.timestamp())
            for t in h.targets
            if t.keying.last_done_at
        ],
    )
    out.family(
        "dejiru_keying_target_down",
        "1 while records wait because the target system does not answer.",
        [({"target": t.target}, 1 if t.down_since else 0) for t in h.targets],
    )
    out.family(
        "dejiru_keying_down_since_timestamp_seconds",
        "Since when records have waited for the target system (Unix time; only while it is down).",
        [({"target": t.target}, t.down_since.timestamp()) for t in h.targets if t.down_since],
    )
    out.family(
        "dejiru_keying_to_key_documents",
        "Approved documents whose records are still to go into the target system.",
        [({"target": t.target}, t.to_key) for t in h.targets],
    )
    out.family(
        "dejiru_inbox_present", "1 when the inbox folder is there.", [({}, 1 if h.inbox.present else 0)]
    )
    out.family(
        "dejiru_inbox_files", "Files waiting in the inbox (counted up to 10000).", [({}, h.inbox.files)]
    )
    out.family(
        "dejiru_inbox_oldest_age_seconds",
        "How long the oldest file has waited in the inbox (0: none).",
        [({}, int((at - h.inbox.oldest).total_seconds()) if h.inbox.oldest else 0)],
    )
    if h.disk is not None:
        out.family("dejiru_disk_free_bytes", "Free space on the disk of DEJIRU_HOME.", [({}, h.disk.free)])
        out.family("dejiru_disk_total_bytes", "Size of the disk of DEJIRU_HOME.", [({}, h.disk.total)])
    return "\n".join(out.lines) + "\n"
