"""Approved documents → target systems, one browser per worker, a concurrency limit per system."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from functools import cache

from prefect import flow, get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency

from core import progress
from core.errors import SlotBusy, Transient
from core.settings import load_settings
from flows.runs import note_run
from flows.runtime import bot, context
from pipeline.keying import approved_documents, key_document, outage_window, wait_or_give_up


def _retry_transient(task, task_run, state) -> bool:
    """Retry only what may succeed next time; a rejected record will be rejected again."""
    try:
        state.result()
    except Transient:
        return True
    except Exception:
        return False
    return False


#: Browsers typing into one target system at once (legacy systems dislike parallel sessions).
KEYING_CONCURRENCY = 1
LEASE_SECONDS = 60  # the shortest lease Prefect's API accepts
ACQUIRE_TIMEOUT_SECONDS = 180


@cache
def ensure_limit(target: str) -> str:
    """The global concurrency limit for a target system, made on first use (idempotent)."""
    name = f"keying-{target}"
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(name, KEYING_CONCURRENCY)
    return name


def reset_limit(target: str) -> None:
    """Free every slot of a target's limit. Only for a sole worker starting up (``dejiru run``): a
    worker killed while keying leaves its slot taken, and the embedded API never expires leases."""
    from prefect.exceptions import ObjectNotFound

    name = f"keying-{target}"
    with get_client(sync_client=True) as client:
        with suppress(ObjectNotFound):
            client.delete_global_concurrency_limit_by_name(name)
        client.upsert_global_concurrency_limit_by_name(name, KEYING_CONCURRENCY)


def _retry_delays() -> list[float]:
    """Back-off between attempts on a transient failure; ``DEJIRU_KEYING_RETRY_DELAYS=1,2,4`` to change."""
    return list(load_settings().keying_retry_delays)


@contextmanager
def keying_slot(target: str, wait_seconds: float = ACQUIRE_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold one of the target's keying slots (one logged-in browser) for a batch of records.

    Held per batch rather than per record: acquiring a slot costs Prefect's API about two seconds,
    more than keying a record. The lease is short and renewed while held, so a worker killed while
    keying frees its slot within ``LEASE_SECONDS`` instead of Prefect's default five minutes.
    Not free within ``wait_seconds``: :class:`SlotBusy`.
    """
    with ExitStack() as stack:
        try:
            stack.enter_context(
                concurrency(
                    ensure_limit(target),
                    occupy=1,
                    strict=True,
                    lease_duration=LEASE_SECONDS,
                    timeout_seconds=max(wait_seconds, 1),
                )
            )
        except Exception as exc:  # Prefect's acquisition error type is private: match it by name
            if isinstance(exc, TimeoutError) or type(exc).__name__ == "ConcurrencySlotAcquisitionError":
                raise SlotBusy(
                    "入力ロボットの順番待ちが長すぎます",
                    "waited too long for a free keying slot",
                    detail=str(exc)[:200],
                ) from exc
            raise
        yield


@task(
    name="key",
    retries=len(_retry_delays()),
    retry_delay_seconds=_retry_delays(),
    retry_condition_fn=_retry_transient,
)
def key_task(document_id: int, target: str) -> str:
    """Key one document (call inside :func:`keying_slot`)."""
    return str(key_document(context(), document_id, bot(target), target))


def key_documents(
    doc_ids: list[int], target: str, wait_seconds: float = ACQUIRE_TIMEOUT_SECONDS
) -> dict[str, int]:
    """Key these approved documents into ``target`` holding one slot.

    A record the target will not take (rejected, the screen changed) goes to a person. One the target
    could not take after every retry (down, erroring) waits for the next run, within the target's
    outage window (``outage_minutes`` in its bot mapping): the batch stops there, since the records
    behind it would meet the same outage, and they all stay approved, shown as waiting."""
    ctx = context()
    counts: dict[str, int] = {}
    if not doc_ids:
        return counts
    window = outage_window(target)
    with keying_slot(target, wait_seconds):
        for i, doc_id in enumerate(progress.track(doc_ids, f"入力 / keying into {target}")):
            note_run(doc_id, f"key-approved {target}")
            try:
                status = key_task(doc_id, target)
            except Exception as exc:  # retries exhausted
                if wait_or_give_up(ctx, doc_id, exc, window, target=target):
                    counts["waiting"] = counts.get("waiting", 0) + len(doc_ids) - i
                    break
                status = "gave_up"
            counts[status] = counts.get(status, 0) + 1
    return counts


#: Batches one ``key-approved`` run keys before it ends: records approved while it keys are taken in
#: the same run, so a run that finds the slot taken can leave them to the run holding it.
MAX_BATCHES = 20
#: How long a triggered or scheduled run waits for the target's slot before leaving its records to
#: the run that holds it: an approval burst must not park a worker per approval.
TRIGGERED_WAIT_SECONDS = 10


def slot_wait(seconds: int) -> int:
    """``slot_wait_seconds`` comes from whoever can start a run: never long enough to park a worker."""
    return min(max(int(seconds), 0), ACQUIRE_TIMEOUT_SECONDS)


@flow(name="key-approved", log_prints=False)
def key_approved(
    target: str = "demo_legacy", slot_wait_seconds: int = TRIGGERED_WAIT_SECONDS
) -> dict[str, int]:
    """Key every approved document for ``target``, and those approved meanwhile; failures go to the
    exception queue, records meeting an outage wait for the next run. Started by an approval (its
    event), by its schedule, or by ``dejiru key`` (which waits for the slot longer)."""
    wait = slot_wait(slot_wait_seconds)
    counts: dict[str, int] = {}
    tried: set[int] = set()  # a record this run could not key stays approved: not twice in one run
    for _ in range(MAX_BATCHES):
        batch = [i for i in approved_documents(context(), target) if i not in tried]
        if not batch:
            break
        tried.update(batch)
        try:
            done = key_documents(batch, target, wait)
        except SlotBusy:
            get_run_logger().info("another run is keying into %s: it takes these records", target)
            done = {"slot_busy": len(batch)}
        for status, n in done.items():
            counts[status] = counts.get(status, 0) + n
        if "waiting" in done or "slot_busy" in done:
            break
    if counts:
        get_run_logger().info("keying into %s: %s", target, counts)
    return counts
