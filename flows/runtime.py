"""Per-process resources the tasks share: the store context and one browser per keying thread."""

from __future__ import annotations

import threading
from functools import cache

from bots.files.layout import is_file_target
from bots.mapping import load_mapping
from bots.runner import BotSession
from bots.targets import file_keyer
from pipeline.context import Context
from pipeline.keying import Keyer

_local = threading.local()


@cache
def context() -> Context:
    return Context.create()


def bot(target: str) -> Keyer:
    """This thread's logged-in browser for ``target`` (Playwright's sync API is bound to its thread),
    or, for a system that takes import files, its file keyer (it holds nothing: made each time)."""
    if is_file_target(target):
        return file_keyer(target, context().settings.exchange(target))
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
