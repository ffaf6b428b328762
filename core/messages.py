"""One bilingual message type: a stable code, Japanese for the clerk, English for the rest.

Errors (``core.errors``), the reasons a value goes to review (``formkit.readings.Reason``) and the
template checker's findings (``authoring.lint.Finding``) all say something to a person. They say it
with this one type, so the CLI, the review UI, the reason files and the exception queue show every
message the same way (Japanese first) and store it in the same shape (``{"code", "ja", "en"}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Self

Lang = Literal["ja", "en"]
#: The languages a message is written in, the default first: city staff read Japanese.
LANGS: tuple[Lang, ...] = ("ja", "en")


def pick_lang(wanted: str | None) -> Lang:
    """The language to show for a request (a cookie, an ``Accept-Language`` tag, an option).

    English only when it is asked for (``en``, ``en-US``…); anything else, missing or unknown, is
    Japanese, so a clerk never gets a message in a language nobody chose."""
    return "en" if wanted and wanted.strip().lower()[:2] == "en" else "ja"


@dataclass(frozen=True)
class Message:
    """Something said to a person: ``code`` for machines (logs, folders, tests), ``ja`` and ``en``
    for people. Frozen: a message is a value, passed around and stored, never edited in place."""

    code: str
    ja: str
    en: str

    def text(self, lang: str | None = "ja") -> str:
        """The message in one language: English when asked for, Japanese otherwise."""
        return self.en if pick_lang(lang) == "en" else self.ja

    def both(self) -> str:
        """Japanese, then English (once when both are the same): for logs and terminals."""
        return self.ja if self.en == self.ja else f"{self.ja} / {self.en}"

    def as_dict(self) -> dict[str, str]:
        """The stored shape (JSON, database columns), the same for every kind of message."""
        return {"code": self.code, "ja": self.ja, "en": self.en}

    @classmethod
    def from_dict(cls, d: Mapping[str, str]) -> Self:
        return cls(d["code"], d["ja"], d["en"])
