"""What every step needs: the settings and the store."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Concatenate, ParamSpec, TypeVar

from core.settings import Settings, restrict_umask, settings
from records.store import Store

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Context:
    settings: Settings
    store: Store

    @classmethod
    def create(cls, cfg: Settings | None = None, migrate: bool = True) -> Context:
        restrict_umask()  # before anything is written, the database included (ensure_dirs does it too)
        cfg = cfg or settings()
        cfg.ensure_dirs()
        store = Store(cfg.database_url)
        if migrate:
            store.init()
        return cls(cfg, store)

    @contextmanager
    def unit(self) -> Iterator[Context]:
        """This context with its store bound to one unit of work (``records.store.Store.unit``): every
        write a step makes through it is committed once, at the end, or not at all. Inside a unit
        already, the same unit. Shadow the name (``with ctx.unit() as ctx:``) so that no write of the
        step can slip past the unit through the unbound store."""
        with self.store.unit() as store:
            yield replace(self, store=store)


def in_one_unit(step: Callable[Concatenate[Context, P], R]) -> Callable[Concatenate[Context, P], R]:
    """Run a step (a function whose first argument is the context) in one unit of work: whatever it
    writes is committed once when it returns, and nothing of it if it raises (a refusal such as a
    ``ReviewError`` after a first write included). Called inside a unit, it joins that unit."""

    @functools.wraps(step)
    def run(ctx: Context, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with ctx.unit() as bound:
            return step(bound, *args, **kwargs)

    return run
