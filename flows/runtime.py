"""Per-process resources the tasks share: the store context and one browser per keying thread."""

from __future__ import annotations

import threading
from functools import cache

from bots.mapping import load_mapping
from bots.runner import BotSession
from pipeline.context import Context

_local = threading.local()


@cache
def context() -> Context:
    return Context.create()


def bot(target: str) -> BotSession:
    """This thread's logged-in browser for ``target`` (Playwright's sync API is bound to its thread)."""
    sessions: dict[str, BotSession] = getattr(_local, "bots", None) or {}
    _local.bots = sessions
    mapping = load_mapping(target)
    if target in sessions and sessions[target].m is not mapping:  # the mapping file was edited
        sessions.pop(target).__exit__(None, None, None)
    if target not in sessions:
        session = BotSession(mapping, context().settings.evidence)
        session.__enter__()
        sessions[target] = session
    return sessions[target]


def close_bots() -> None:
    for session in (getattr(_local, "bots", None) or {}).values():
        session.__exit__(None, None, None)
    _local.bots = {}
