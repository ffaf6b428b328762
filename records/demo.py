"""How demo data is marked, so that it is shown as such and removed exactly.

``dejiru demo-history`` seeds weeks of made-up applications so that a new installation's KPI page
has something to show. Every row it writes can be told from a real one without a flag column (no
migration needed): a demo document's ``sha256`` starts with ``demo:`` (a real one is 64 hex digits,
or ``<hex>#p<n>`` for a further page: never this), its original name with 「デモ履歴」, and a demo
counter slip's nonce with ``demo-`` (a real nonce is hex). Everything else a demo document has
(fields, reviews, keying jobs, exceptions, events, its counter slip and visit) hangs off it by
``document_id``, which is how ``Store.remove_demo_history`` finds it.
"""

from __future__ import annotations

DEMO_SHA_PREFIX = "demo:"
DEMO_NAME = "デモ履歴"
DEMO_NONCE_PREFIX = "demo-"
#: Who the demo's people are, in reviews, keying and counter visits.
DEMO_USER = "デモ職員"


def is_demo(sha256: str) -> bool:
    return sha256.startswith(DEMO_SHA_PREFIX)
