"""What reading produces: one FieldReading per field, with value, confidence and reasons.

These are plain data shared by the reader, validation, the store and the review UI. The JSON shape is
the stable contract of ``dejiru read --json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.messages import Message
from formkit.model import Box


@dataclass(frozen=True)
class Reason(Message):
    """Why a value is doubtful, in words a reviewer understands (Japanese first).

    A :class:`~core.messages.Message` like every other thing dejiru says to a person: the same
    ``code``/``ja``/``en``, the same stored shape (``as_dict``/``from_dict``) in ``dejiru read --json``
    and in the database. Its own class so that a list of reasons says what it holds."""


@dataclass
class FieldReading:
    name: str
    #: The field's kind name (``formkit.kinds.KINDS``).
    type: str
    value: Any
    raw: str
    confidence: float
    box: Box
    char_confidences: list[float] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    needs_review: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "raw": self.raw,
            "confidence": round(float(self.confidence), 4),
            "char_confidences": [round(float(c), 4) for c in self.char_confidences],
            "needs_review": self.needs_review,
            "reasons": [r.as_dict() for r in self.reasons],
            "box": self.box.as_list(),
            "type": str(self.type),
        }


@dataclass
class PageReading:
    form: str
    version: int
    fields: dict[str, FieldReading]
    rotation: int = 0
    print_match: float = 1.0
    engine: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "version": self.version,
            "fields": {k: v.as_dict() for k, v in self.fields.items()},
            "rotation": self.rotation,
            "print_match": round(self.print_match, 3),
            "engine": self.engine,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
