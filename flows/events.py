"""Prefect events dejiru emits, and what they trigger (``triggers:`` in prefect.yaml).

``dejiru.document.approved`` — a document became approved (a reviewer's approval, a blind check that
matched, or a reading confident enough to go straight through). ``key-approved`` is triggered by it,
so a record is keyed seconds after its approval instead of at the next scheduled run; the schedule
stays as the safety net for an event lost on the way (the API down for a moment, a killed process).

The event carries the document's number and target system only, never a field's value: Prefect's
event store is read by whoever can reach its API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

APPROVED = "dejiru.document.approved"

#: In-process listeners (``dejiru run`` starts its keying with one): called with the event's name.
_listeners: list[Callable[[str], None]] = []


def listen(listener: Callable[[str], None]) -> Callable[[], None]:
    """Call ``listener`` on every event emitted in this process; returns what removes it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def announce_approved(doc_id: int, target: str | None) -> None:
    """Tell Prefect that ``doc_id`` waits to be keyed into ``target``. Never raises: keying does not
    depend on the event (its schedule picks the document up), so a failure to emit is only logged."""
    try:
        from prefect.events import emit_event

        emit_event(
            event=APPROVED,
            resource={"prefect.resource.id": f"dejiru.document.{doc_id}", "dejiru.target": target or ""},
        )
    except Exception as exc:  # the events client is best effort by design
        log.warning("could not emit %s for document %s: %s", APPROVED, doc_id, exc)
    for listener in list(_listeners):
        listener(APPROVED)
