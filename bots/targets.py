"""What a target system is: screens a bot keys into (a mapping, :mod:`bots.mapping`) or import files
an importer reads (a layout, :mod:`bots.files.layout`). Keying asks both the same things (a form's
``each``, the ``outage_minutes``) and gets its keyer here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bots.files.layout import Layout, is_file_target, load_layout
from bots.mapping import Mapping, load_mapping


def target_spec(system: str) -> Mapping | Layout:
    """The system's file layout if it has one (``bots/files/layouts/<system>.yaml``), else its mapping."""
    return load_layout(system) if is_file_target(system) else load_mapping(system)


def file_keyer(system: str, exchange: Path) -> Any:
    """The keyer of a system that takes files, exchanging them in ``exchange`` (``DEJIRU_EXCHANGE_DIR``)."""
    from bots.files.target import FileTarget

    return FileTarget(load_layout(system), exchange)
