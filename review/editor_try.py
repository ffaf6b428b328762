"""The template editor's sample read: one of the form's own sample scans (``form_templates/<id>/samples``)
read with the template as it stands in the editor, saved or not, so an author sees at once what a moved
zone reads (the same reader and checks as ``dejiru template try``, authoring/trial.py).

The values are personal data even on a sample (a sample may be a real, consented form): only the
editor's author role reads them, a 個人番号 leaves the server masked, and no value is logged (the log
and the audit trail say which sample was read, never what it said).
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

from core.errors import DejiruError
from core.personal import mask_mynumber, mask_text
from formkit.model import Template
from review.editor import EditRefused, template_file

log = logging.getLogger(__name__)

#: The scans a sample may be (what ``dejiru template try`` reads).
SAMPLE_TYPES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf")
#: A sample's file name as the editor offers it: no path, no hidden file, nothing a shell or a page
#: would read as markup.
SAMPLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_SAMPLES = 100
#: One read at a time: the OCR engine is one per process, and a read takes seconds of every core.
_read_lock = threading.Lock()


def samples_dir(form_id: str) -> Path:
    """``form_templates/<id>/samples``, for an installed template only (KeyError otherwise)."""
    return template_file(form_id).parent / "samples"


def sample_names(form_id: str) -> list[str]:
    """The sample scans the editor offers: plain files (no links) of a scan's type directly in the
    form's samples folder, by name."""
    folder = samples_dir(form_id)
    if not folder.is_dir():
        return []
    found = [
        p.name
        for p in folder.iterdir()
        if p.suffix.lower() in SAMPLE_TYPES
        and SAMPLE_NAME.fullmatch(p.name)
        and not p.is_symlink()
        and p.is_file()
    ]
    return sorted(found)[:MAX_SAMPLES]


def sample_file(form_id: str, name: Any) -> Path:
    """The sample called ``name``: only one the folder's listing offers, so no path (``../``, an
    absolute path, a link) can reach a file outside the form's samples folder."""
    folder = samples_dir(form_id).resolve()
    if isinstance(name, str) and name in sample_names(form_id):
        path = (folder / name).resolve()
        if path.parent == folder and path.is_file():
            return path
    raise EditRefused(
        "見本は、この様式の samples フォルダーにある画像だけを選べます",
        "only a scan in this form's samples folder can be read",
        status=400,
    )


def _reasons(reasons: list[Any], lang: str) -> list[str]:
    """A doubt's reasons in the screen's language, with any 個人番号-like run of digits masked (a
    reason may quote what was read)."""
    return [mask_text(r.en if lang == "en" else r.ja) for r in reasons]


def _value(tpl: Template, name: str, value: Any, lang: str) -> str:
    """A read value as the editor shows it on its zone: option words, dates with their 和暦, a
    sensitive value masked (validation.display.described)."""
    from validation.display import described

    if value is None or value == "" or value == []:
        return "(empty)" if lang == "en" else "（空欄）"
    try:
        spec = tpl.field(name)
    except KeyError:
        return mask_text(str(value))
    if spec.sensitive:
        return mask_mynumber(str(value))
    return described(spec, value)


def read_sample(tpl: Template, path: Path, lang: str, engine: str | None = None) -> dict[str, Any]:
    """The first page of the sample read and checked with ``tpl``: per field its value as shown,
    confidence (0-1), whether it needs review and why. A page that cannot be read (another form, a
    broken file) is an answer with its reason, as in ``dejiru template try``."""
    from ocr.pages import iter_pages
    from ocr.reader import read_page
    from validation.routing import validate

    try:
        with _read_lock:
            page = next(iter(iter_pages(path)), None)
            if page is None:
                raise EditRefused("見本にページがありません", "the sample has no page")
            reading, _ = read_page(page.image, form_id=tpl.id, engine=engine, templates=[tpl])
            validate(tpl, reading)
    except DejiruError as err:
        message = err.en if lang == "en" else err.ja
        detail = f"（{mask_text(err.detail)}）" if err.detail else ""
        return {"ok": False, "error": message + detail}
    except Exception as exc:  # a template under construction may break the reader: say so
        log.warning("sample read of %s with %s failed: %s", path.name, tpl.id, type(exc).__name__)
        log.debug("sample read failed", exc_info=True)
        ja, en = "予期しないエラーで読み取れませんでした", "unexpected error while reading"
        return {"ok": False, "error": en if lang == "en" else ja}
    fields = {
        name: {
            "value": _value(tpl, name, f.value, lang),
            "confidence": round(float(f.confidence), 3),
            "review": bool(f.needs_review),
            "reasons": _reasons(f.reasons, lang),
        }
        for name, f in reading.fields.items()
    }
    doubtful = sum(1 for f in fields.values() if f["review"])
    # Counts only: the values are personal data and stay out of the log.
    log.info("sample %s read with %s: %d fields, %d to review", path.name, tpl.key, len(fields), doubtful)
    return {
        "ok": True,
        "fields": fields,
        "engine": reading.engine,
        "rotation": reading.rotation,
        "print_match": round(float(reading.print_match), 3),
    }
