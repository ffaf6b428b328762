"""One flat tree of typed errors, grouped by cause (modelled on httpx's exception module).

Every error carries a message a clerk can act on, in Japanese first and English second, and a
stable ``code`` that the quarantine reason file, the exception queue and the logs use. Lower
libraries' errors (OpenCV, pdfium, Paddle, Playwright, SQLAlchemy) are mapped to these at the edge
of the package that calls them, so nothing above that edge needs to know the lower library.

Each group declares the ``exit_code`` the ``dejiru`` command ends with when an error of the group
stops it. The codes stay clear of the two that Click (under typer) already uses: 1 for an unexpected
failure (a traceback) and 2 for a command line it could not parse, so a script or a scheduler can
tell "the scan is bad" from "the template is bad" from "the machine is not set up" without reading
the message.

    DejiruError                         (1: only ever raised as one of the groups below)
    ├── InputError                  3   the file itself cannot be used
    │   ├── UnreadableFile              corrupt, truncated, empty, not an image/PDF
    │   ├── UnsupportedFileType
    │   ├── EncryptedPdf
    │   ├── TooLarge                    too many pages, too many pixels, too many bytes
    │   ├── BlankPage
    │   ├── NotARegularFile             a symbolic link, FIFO, socket or device in the inbox: never followed
    │   ├── DuplicateFile               content already received as another document: kept aside, not deleted
    │   └── SealError                   the signed QR of a counter slip (書かない窓口) cannot be trusted
    │       ├── SealNotOurs             a QR that is not a dejiru seal (a URL, another system's code)
    │       ├── SealForged              our format, but not this city hall's signature (edited, copied, forged)
    │       └── SealMalformed           our prefix, but cut short or undecodable
    ├── OutsideInbox                3   a path to take in that is not a file in the inbox: refused untouched
    ├── RecognitionError            4   the page is readable but not understood
    │   ├── UnknownForm
    │   ├── AlignmentFailed
    │   └── EngineUnavailable           the OCR model is missing or broken (an install problem)
    ├── TemplateError               5   a form template is wrong (an authoring problem)
    ├── ValidationError             6   a value a person or the reader gave breaks a rule
    │   ├── FieldInvalid                a field's value (``template fill`` data, a checked value)
    │   ├── WarekiError                 a date that does not exist (also a ValueError)
    │   ├── ReviewError                 a reviewer's entry that cannot be accepted (also a ValueError)
    │   │   ├── EditConflict            two reviewers saved the same document
    │   │   └── BlindEntryErrors        entries of a blind check that cannot be read
    │   ├── WeakPassword                a password the rules refuse (also a ValueError)
    │   └── FlowNameError               a flow name, form or target ``dejiru flow new`` refuses (also a ValueError)
    ├── KeyingError                 7   typing a record into a target system failed (carries ``evidence``)
    │   ├── Transient                   worth retrying (timeout, HTTP 5xx)
    │   ├── SessionExpired              log in again and retry
    │   ├── BusinessRuleRejected        the target system said no: a person must look
    │   └── TargetScreenChanged         the screen is not what the mapping expects: stop the bot
    └── ConfigurationError          8   this machine or its settings are not set up for the task
        ├── ClockSettingError           ``DEJIRU_TODAY`` is not a date (also a ValueError)
        ├── UnsafePrefectServer         a Prefect server reachable from the network without an auth string
        └── StartupFailed               a part of ``dejiru run`` could not start (a busy port)

``OutsideInbox`` sits beside ``InputError``, not below it: every ``InputError`` puts the file in
quarantine, while a path outside the inbox must be refused without touching anything.

The classes that are also a ``ValueError`` were ``ValueError`` subclasses before they joined the tree,
and code that parses values still catches them as such. ``EditConflict`` and ``BlindEntryErrors``
keep their names importable from ``pipeline.review``, ``ReviewError`` too, ``WarekiError`` from
``validation.wareki``, ``WeakPassword`` from ``review.auth``, ``FlowNameError`` from
``dejiru.cli_flow``, ``ClockSettingError`` from ``core.clock``, ``UnsafePrefectServer`` from
``dejiru.prefect_env`` and ``StartupFailed`` from ``dejiru.runner``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar, Self

from core.messages import Message

#: Exit codes of the ``dejiru`` command that are not a group's (Click's own).
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2


class DejiruError(Exception):
    """Base of every error dejiru raises on purpose.

    The message is a :class:`~core.messages.Message` (``msg``), the same type as a review reason and
    a template finding, with the class's ``code``; ``ja`` and ``en`` read it. ``detail`` is for the
    technically minded (a library's own words, a path) and is shown after the message."""

    code: ClassVar[str] = "error"
    #: What ``dejiru`` exits with when this error stops a command; every group sets its own.
    exit_code: ClassVar[int] = EXIT_UNEXPECTED

    def __init__(self, ja: str | Message, en: str | None = None, *, detail: str | None = None) -> None:
        if isinstance(ja, Message):
            en = en or ja.en
            ja = ja.ja
        self.msg = Message(self.code, ja, en or ja)
        self.detail = detail
        super().__init__(self.__str__())

    @property
    def ja(self) -> str:
        return self.msg.ja

    @property
    def en(self) -> str:
        return self.msg.en

    def message(self, lang: str | None = "ja") -> str:
        """The clerk-facing message in one language (Japanese unless English is asked for)."""
        return self.msg.text(lang)

    def reword(self, rewrite: Callable[[str], str]) -> None:
        """Pass the messages and the detail through ``rewrite``: the keying bot scrubs secrets out
        of them before they reach the exception queue (a Playwright error quotes what it typed)."""
        self.msg = Message(self.code, rewrite(self.ja), rewrite(self.en))
        if self.detail:
            self.detail = rewrite(self.detail)
        self.args = (self.__str__(),)

    def __str__(self) -> str:
        text = self.msg.both()
        return f"{text} ({self.detail})" if self.detail else text

    def as_dict(self) -> dict[str, str | None]:
        return {**self.msg.as_dict(), "detail": self.detail}


# --- input: the file itself -------------------------------------------------------------------------


class InputError(DejiruError):
    code = "input"
    exit_code = 3


class UnreadableFile(InputError):
    code = "unreadable_file"


class UnsupportedFileType(InputError):
    code = "unsupported_file_type"


class EncryptedPdf(InputError):
    code = "encrypted_pdf"


class TooLarge(InputError):
    code = "too_large"


class BlankPage(InputError):
    code = "blank_page"


class NotARegularFile(InputError):
    """A symbolic link, FIFO, socket or device node in the inbox.

    Following a link would archive (and show reviewers) whatever it points at, anywhere on the
    machine; opening a FIFO blocks a worker for ever. Such an entry is taken out of the inbox and
    described in a reason file; its target is never opened.
    """

    code = "not_regular_file"


class DuplicateFile(InputError):
    """The same bytes were already received as a document (and that document is not waiting for a
    retry): the new copy is kept in quarantine with a reason, never deleted silently."""

    code = "duplicate"


class SealError(InputError):
    """The signed QR printed on a counter slip (書かない窓口, :mod:`formkit.seal`) cannot be trusted, so
    none of its values may be taken from it."""

    code = "seal"


class SealNotOurs(SealError):
    """A QR code that is not a dejiru seal at all: a URL, another system's code, a ticket number."""

    code = "seal_not_ours"


class SealForged(SealError):
    """A seal in dejiru's format whose signature does not match this installation's key: its values
    were edited, it was made by someone without the key, or it was printed by another city hall."""

    code = "seal_forged"


class SealMalformed(SealError):
    """A seal in dejiru's format that cannot be decoded: cut short, misread, or oversized."""

    code = "seal_malformed"


class OutsideInbox(DejiruError):
    """A path handed to intake that does not name an entry inside the configured inbox: outside it
    (``..`` included), or reached through a symbolic link.

    Whoever can start the ``process-file`` flow chooses the path, so intake itself refuses anything
    else and touches nothing: no move, copy, hash or delete. The flow run fails with this message.
    Not an :class:`InputError` (those are quarantined), but it exits like one: the input was wrong.
    """

    code = "outside_inbox"
    exit_code = InputError.exit_code


# --- recognition: the page is readable but not understood ---------------------------------------------


class RecognitionError(DejiruError):
    code = "recognition"
    exit_code = 4


class UnknownForm(RecognitionError):
    code = "unknown_form"


class AlignmentFailed(RecognitionError):
    code = "alignment_failed"


class EngineUnavailable(RecognitionError):
    code = "engine_unavailable"


# --- template: an authoring problem -------------------------------------------------------------------


class TemplateError(DejiruError):
    code = "template"
    exit_code = 5


# --- validation: a value breaks a rule ----------------------------------------------------------------


class ValidationError(DejiruError):
    """A value breaks a rule: what a person typed or gave (a reviewer's entry, a password, a flow
    name, the data for a pre-filled form) or what the reader made of the paper (a date that never
    existed)."""

    code = "validation"
    exit_code = 6


class FieldInvalid(ValidationError):
    code = "field_invalid"


class WarekiError(ValidationError, ValueError):
    """A date that does not exist, with Japanese and English reasons.

    Also a ``ValueError``: the parsers around it catch whatever the calendar refuses in one clause."""

    code = "date_invalid"


class ReviewError(ValidationError, ValueError):
    """A reviewer's input that cannot be accepted, with a Japanese and an English message."""

    code = "review_input"


class EditConflict(ReviewError):
    """Two reviewers saved the same document: the later save is refused."""

    code = "edit_conflict"


class BlindEntryErrors(ReviewError):
    """Some entries of a blind check (ダブルチェック, 抜き取り検査) cannot be read: nothing was compared,
    and the screen shows each reason under its field."""

    code = "blind_entry_unreadable"

    def __init__(self, errors: dict[str, ReviewError]) -> None:
        self.errors = errors
        super().__init__(
            "読めない入力があります。赤字の項目を直してください（まだ照合していません）",
            "some entries cannot be read: correct the fields marked in red (nothing was compared yet)",
        )


class WeakPassword(ValidationError, ValueError):
    """A password the rules refuse, with the reason in Japanese and English."""

    code = "weak_password"


class FlowNameError(ValidationError, ValueError):
    """``dejiru flow new`` refuses the name, form or target it was given (nothing is written)."""

    code = "flow_name"


# --- keying: typing a record into a target system -----------------------------------------------------


class KeyingError(DejiruError):
    """Typing a record into a target system failed.

    ``evidence`` names the files that show the moment it failed (``screenshot``, ``html``,
    ``trace``: path), scrubbed of secrets; it goes with the error to the exception queue, where a
    person looks before anything is retried. Empty until the bot has saved it."""

    code = "keying"
    exit_code = 7

    def __init__(
        self,
        ja: str | Message,
        en: str | None = None,
        *,
        detail: str | None = None,
        evidence: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(ja, en, detail=detail)
        self.evidence: dict[str, str] = dict(evidence or {})

    def with_evidence(self, evidence: Mapping[str, str]) -> Self:
        """This error, now carrying ``evidence`` (saved after the error was raised)."""
        self.evidence = dict(evidence)
        return self


class Transient(KeyingError):
    code = "keying_transient"


class SlotBusy(Transient):
    """Another run holds the target system's keying slot, and keys the waiting records itself."""

    code = "keying_slot_busy"


class SessionExpired(KeyingError):
    code = "keying_session_expired"


class BusinessRuleRejected(KeyingError):
    code = "keying_rejected"


class TargetScreenChanged(KeyingError):
    code = "keying_screen_changed"


class ReadBackMismatch(KeyingError):
    """An input did not keep the value typed into it (the screen's maximum length cut it, a widget
    reformatted it, the page reset it): stopped before saving, for a person."""

    code = "keying_read_back"


class SavedValueDiffers(KeyingError):
    """The record is saved, but opened again it shows a value other than the one meant: a person puts
    it right in the target (keying again finds it by its reference and takes its receipt)."""

    code = "keying_saved_value_differs"


class GaveUp(KeyingError):
    """Every retry failed (or the outage window passed): the record goes to a person."""

    code = "keying_gave_up"


class NothingToKey(KeyingError):
    """An approved document whose mapping keys each repeated block on its own, with every block blank:
    no record to type, so a person decides (a form sent in empty, or a block read as blank)."""

    code = "keying_nothing_to_key"


# --- configuration: this machine or its settings ------------------------------------------------------


class ConfigurationError(DejiruError):
    """This machine or its settings are not set up for what was asked (an environment variable, a
    busy port, no desktop for a browser window): someone sets the machine up, then tries again."""

    code = "configuration"
    exit_code = 8


class ClockSettingError(ConfigurationError, ValueError):
    """``DEJIRU_TODAY`` holds something that is not a date."""

    code = "clock_setting"


class UnsafePrefectServer(ConfigurationError):
    """A Prefect server that would be reachable from the network without (a usable) auth string."""

    code = "prefect_unsafe"


class DeploymentsError(ConfigurationError):
    """``prefect.yaml`` cannot be read, or one of its deployments names a flow that cannot be loaded."""

    code = "deployments"


class StartupFailed(ConfigurationError):
    """A part of ``dejiru run`` could not start (a busy port, most often); nothing is left running."""

    code = "startup"


class DatabaseUnavailable(ConfigurationError):
    """The database does not answer (down, unreachable, the file gone): ``dejiru status`` and the
    review server's ``/readyz`` say so instead of failing with a driver's traceback."""

    code = "database_unavailable"
