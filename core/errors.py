"""One flat tree of typed errors, grouped by cause (modelled on httpx's exception module).

Every error carries a message a clerk can act on, in Japanese first and English second, and a
stable ``code`` that the quarantine reason file, the exception queue and the logs use. Lower
libraries' errors (OpenCV, pdfium, Paddle, Playwright, SQLAlchemy) are mapped to these at the edge
of the package that calls them, so nothing above that edge needs to know the lower library.

    DejiruError
    ├── InputError            the file itself cannot be used
    │   ├── UnreadableFile    corrupt, truncated, empty, not an image/PDF
    │   ├── UnsupportedFileType
    │   ├── EncryptedPdf
    │   ├── TooLarge          too many pages, too many pixels, too many bytes
    │   ├── BlankPage
    │   ├── NotARegularFile   a symbolic link, FIFO, socket or device in the inbox: never followed
    │   └── DuplicateFile     content already received as another document: kept aside, not deleted
    ├── RecognitionError      the page is readable but not understood
    │   ├── UnknownForm
    │   ├── AlignmentFailed
    │   └── EngineUnavailable the OCR model is missing or broken (an install problem)
    ├── TemplateError         a form template is wrong (an authoring problem)
    ├── FieldInvalid          a value breaks a rule
    └── KeyingError           typing a record into a target system failed
        ├── Transient         worth retrying (timeout, HTTP 5xx)
        ├── SessionExpired    log in again and retry
        ├── BusinessRuleRejected  the target system said no: a person must look
        └── TargetScreenChanged   the screen is not what the mapping expects: stop the bot
    OutsideInbox              a path to take in that is not a file in the inbox: refused untouched
"""

from __future__ import annotations

from typing import ClassVar


class DejiruError(Exception):
    """Base of every error dejiru raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(self, ja: str, en: str | None = None, *, detail: str | None = None) -> None:
        self.ja = ja
        self.en = en or ja
        self.detail = detail
        super().__init__(self.__str__())

    def message(self, lang: str = "ja") -> str:
        """The clerk-facing message in one language (Japanese unless English is asked for)."""
        return self.en if lang == "en" else self.ja

    def __str__(self) -> str:
        text = self.ja if self.en == self.ja else f"{self.ja} / {self.en}"
        return f"{text} ({self.detail})" if self.detail else text

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "ja": self.ja, "en": self.en, "detail": self.detail}


class InputError(DejiruError):
    code = "input"


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


class RecognitionError(DejiruError):
    code = "recognition"


class UnknownForm(RecognitionError):
    code = "unknown_form"


class AlignmentFailed(RecognitionError):
    code = "alignment_failed"


class EngineUnavailable(RecognitionError):
    code = "engine_unavailable"


class TemplateError(DejiruError):
    code = "template"


class FieldInvalid(DejiruError):
    code = "field_invalid"


class KeyingError(DejiruError):
    code = "keying"


class Transient(KeyingError):
    code = "keying_transient"


class SessionExpired(KeyingError):
    code = "keying_session_expired"


class BusinessRuleRejected(KeyingError):
    code = "keying_rejected"


class TargetScreenChanged(KeyingError):
    code = "keying_screen_changed"


class OutsideInbox(DejiruError):
    """A path handed to intake that does not name an entry inside the configured inbox: outside it
    (``..`` included), or reached through a symbolic link.

    Whoever can start the ``process-file`` flow chooses the path, so intake itself refuses anything
    else and touches nothing: no move, copy, hash or delete. The flow run fails with this message.
    """

    code = "outside_inbox"
