"""抜き取り検査 (audit sampling): production truth about what the machine lets through unchecked.

Reviewers only look where the machine doubted, so their corrections say nothing about the fields it
was sure of: the silent errors, keyed into the target system with nobody looking. To measure those, a
share (``DEJIRU_AUDIT_SHARE``, default 2 %) of the documents that would go straight through is drawn
for a blind check instead: a person keys every field from the paper without seeing what was read
(``pipeline.review.audit_check``), and each field's outcome becomes an ``AuditLabel``.

The draw is an HMAC of the document's SHA-256 under the installation's secret key: the same document
is drawn the same way however often it is read (a re-read does not draw again), tests pick the share
0 or 1 to know the outcome, and nobody without the key can tell which scan will be checked — a
clerk cannot make a document skip the check by re-scanning it until it is not drawn, because a
re-scan has another hash that is as unpredictable as the first.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from formkit.model import FieldSpec, Template
from pipeline.context import Context, in_one_unit
from records.store import loads
from validation import normalize

#: Keeps these draws apart from any other use of the secret key.
_DRAW_CONTEXT = b"dejiru audit sampling\x00"


def sampled(secret: str, sha256: str, share: float) -> bool:
    """Whether the document with this content hash is drawn for a blind check (share in [0, 1])."""
    if share <= 0.0:
        return False
    if share >= 1.0:
        return True
    digest = hmac.new(secret.encode(), _DRAW_CONTEXT + sha256.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


_SPACES = re.compile(r"\s+")


def same_value(spec: FieldSpec, keyed: Any, read: Any) -> bool:
    """Whether a person's entry and the OCR's value say the same thing, both already normalised.

    Only differences that change what is keyed count: spacing in a name or an address, the hyphens
    of a phone number or the order of ticked boxes are how a person types, not what the paper says.
    """
    if _empty(keyed) or _empty(read):
        return _empty(keyed) and _empty(read)
    if isinstance(keyed, list) and isinstance(read, list):
        return sorted(map(str, keyed)) == sorted(map(str, read))
    if spec.kind.digits_compare:
        return normalize.digits_only(str(keyed)) == normalize.digits_only(str(read))
    if isinstance(keyed, str) and isinstance(read, str):
        return _SPACES.sub("", keyed) == _SPACES.sub("", read)
    return type(keyed) is type(read) and bool(keyed == read)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list) and len(value) == 0)


@in_one_unit
def settle_labels(ctx: Context, tpl: Template, doc_id: int, user: str) -> None:
    """After a review of a document whose blind check differed: the value the reviewer approved says
    whether the OCR or the blind entry was wrong, for every field still in doubt."""
    pending = [label for label in ctx.store.audit_labels(doc_id) if not label.settled]
    if not pending:
        return
    fields = {f.name: f for f in ctx.store.fields(doc_id)}
    outcome = {}
    for label in pending:
        f = fields.get(label.field)
        if f is None:
            continue
        spec = tpl.field(label.field)
        outcome[label.field] = not f.unreadable and same_value(spec, loads(f.value), loads(f.ocr_value))
    ctx.store.settle_audit_labels(doc_id, outcome)
    wrong = sorted(name for name, ok in outcome.items() if not ok)
    ctx.store.audit(user, "audit.settled", doc_id, detail="ocr wrong: " + (",".join(wrong) or "-"))
