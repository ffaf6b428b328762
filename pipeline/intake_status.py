"""受付状況: what became of each file dropped in the inbox, in a clerk's words.

Staff who only drop scans (and offices that only use the folder) need to learn a file's fate without
the review UI's search: received, waiting for a person, registered in the business system, or not
accepted — and why, in plain Japanese. Only states, form titles and reasons: never a field value.
Pure: the store's documents and refusals in, rows out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.clock import JST
from records.models import DocStatus, Document, ExceptionItem

#: The four fates a clerk is told (ja, en), and the document states behind each.
FATES: dict[str, tuple[str, str]] = {
    "received": ("受付済み", "Received"),
    "waiting": ("確認待ち", "Waiting for a person"),
    "keyed": ("登録済み", "Registered"),
    "refused": ("受付できません", "Not accepted"),
}
_FATE_OF = {
    DocStatus.RECEIVED: "received",
    DocStatus.READING: "received",
    DocStatus.PAGES: "received",
    DocStatus.APPROVED: "received",
    DocStatus.REVIEW: "waiting",
    DocStatus.DOUBLE_CHECK: "waiting",
    DocStatus.AUDIT: "waiting",
    DocStatus.EXCEPTION: "waiting",
    DocStatus.KEYED: "keyed",
    DocStatus.QUARANTINED: "refused",
    DocStatus.REJECTED: "refused",
}
#: What the clerk reads beside a state that is not the end of the road.
_NOTES = {
    DocStatus.RECEIVED: ("読み取りを待っています", "waiting to be read"),
    DocStatus.READING: ("読み取り中です", "being read"),
    DocStatus.PAGES: ("続きのページを待っています", "waiting for its further pages"),
    DocStatus.APPROVED: ("業務システムへの登録を待っています", "waiting to be registered"),
    DocStatus.REVIEW: ("確認者が値を確かめます", "a reviewer checks its values"),
    DocStatus.DOUBLE_CHECK: ("二人目の確認を待っています", "waiting for a second person's check"),
    DocStatus.AUDIT: ("抜き取り検査を待っています", "waiting for a spot check"),
    DocStatus.EXCEPTION: (
        "登録でエラーがあり、担当者が対応します",
        "registering failed: a person handles it",
    ),
    DocStatus.REJECTED: ("確認者が受け付けないと判断しました", "a reviewer turned it away"),
}


@dataclass(frozen=True)
class FileFate:
    at: dt.datetime
    name: str
    fate: str
    #: The form it was read as (its title), if any.
    form: str | None
    note_ja: str
    note_en: str
    document_id: int | None
    channel: str

    @property
    def day(self) -> str:
        return self.at.astimezone(JST).strftime("%Y-%m-%d")

    @property
    def time(self) -> str:
        return self.at.astimezone(JST).strftime("%H:%M")


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC


def _name(doc: Document) -> str:
    return f"{doc.original_name}（{doc.source_page + 1}ページ目）" if doc.parent_id else doc.original_name


def fates(
    docs: Iterable[Document], refusals: Iterable[ExceptionItem], title: Callable[[str], str | None]
) -> list[FileFate]:
    """One row per document (a page of a file that held several forms is its own) and per refusal of a
    file that became none, newest first. ``title``: a form's title for the screen's language."""
    rows = []
    for d in docs:
        status = DocStatus(d.status)
        fate = _FATE_OF.get(status, "received")
        if status == DocStatus.QUARANTINED:
            note = (d.error_ja or "読み取れませんでした", d.error_en or "could not be read")
        else:
            note = _NOTES.get(status, ("", ""))
        form = title(d.form_id) if d.form_id else None
        rows.append(FileFate(_aware(d.received_at), _name(d), fate, form, *note, d.id, d.channel))
    for e in refusals:
        rows.append(
            FileFate(
                _aware(e.created_at),
                e.source_name or "",
                "refused",
                None,
                e.message_ja,
                e.message_en,
                None,
                "paper",
            )
        )
    return sorted(rows, key=lambda r: r.at, reverse=True)


def counts(rows: Iterable[FileFate]) -> dict[str, int]:
    out = dict.fromkeys(FATES, 0)
    for r in rows:
        out[r.fate] += 1
    return out
