"""What every step needs: the settings and the store."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings, restrict_umask, settings
from records.store import Store


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
