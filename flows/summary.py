"""A daily summary for the DX office: what came in, what went through, what waits for people."""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.runtime import context


@flow(name="daily-summary")
def daily_summary() -> dict[str, int]:
    ctx = context()
    counts = ctx.store.count_by_status()
    counts["open_exceptions"] = len(ctx.store.exceptions())
    get_run_logger().info("dejiru daily summary: %s", counts)
    return counts
