"""Finding and loading templates: ``form_templates/<id>/template.yaml``.

The directory can be moved with ``DEJIRU_TEMPLATES_DIR`` (a city keeps its own forms outside the
repository). Loading errors name the file and the problem in words a DX leader can fix.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from core.errors import TemplateError
from core.settings import load_settings
from form_templates import TEMPLATES_DIR
from formkit.model import Template, merge_pages, page_chain


def templates_dir() -> Path:
    return load_settings().templates_dir or TEMPLATES_DIR


def template_dir(form_id: str) -> Path:
    return templates_dir() / form_id


def master_path(tpl: Template) -> Path:
    """A legacy form's blank master file, in the template's folder."""
    path = template_dir(tpl.id) / (tpl.master or "")
    if not tpl.master or not path.is_file():
        raise TemplateError(
            f"様式 {tpl.id} の白紙の原本 {tpl.master} がありません",
            f"the blank master {tpl.master} of form {tpl.id} is missing",
            detail=str(path),
        )
    return path


def template_path(form_id: str) -> Path:
    return templates_dir() / form_id / "template.yaml"


def installed_template(form_id: str) -> Path:
    """The ``template.yaml`` of an installed form, by ID; anything else (an unknown ID, ``../``, a link
    out of the templates folder) is :class:`TemplateError`. Every lookup by ID goes through here, so a
    form ID from a URL or a command line can never name a file outside the templates folder."""
    root = templates_dir().resolve()
    path = template_path(form_id)
    real = path.resolve()
    if form_id not in template_ids() or not real.is_relative_to(root) or not real.is_file():
        raise TemplateError(
            f"様式 {form_id} のテンプレートがありません", f"no template for form {form_id}", detail=str(path)
        )
    return path


def parse_template(text: str, source: str = "<text>") -> Template:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError(
            f"テンプレート {source} のYAMLが読めません",
            f"template {source} is not valid YAML",
            detail=str(exc),
        ) from exc
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise TemplateError(
            f"テンプレート {source} に誤りがあります", f"template {source} is invalid", detail=problems
        ) from exc


@cache
def _load(path: Path, mtime: float) -> Template:
    return parse_template(path.read_text(encoding="utf-8"), str(path))


def clear_cache() -> None:
    """Forget every loaded template (after the editor saved one: two saves can share an mtime)."""
    _load.cache_clear()


def load_template(form_id: str) -> Template:
    path = installed_template(form_id)
    return _load(path, path.stat().st_mtime)


def template_ids() -> list[str]:
    root = templates_dir()
    return sorted(p.parent.name for p in root.glob("*/template.yaml"))


def all_templates() -> list[Template]:
    return [load_template(i) for i in template_ids()]


def legacy_templates() -> list[Template]:
    return [t for t in all_templates() if t.legacy]


def by_code(code: int, version: int) -> Template | None:
    """The template printed with this form-ID code and version, if this installation has it."""
    for tpl in all_templates():
        if tpl.code == code and tpl.version == version:
            return tpl
    return None


def application_pages(form_id: str) -> list[Template]:
    """The templates of the application ``form_id`` begins, page by page (one page for most forms)."""
    return page_chain(load_template(form_id), all_templates())


def application_template(form_id: str) -> Template:
    """What a document of form ``form_id`` holds: every page's fields in one template (see
    :func:`formkit.model.merge_pages`), for review, checks and keying."""
    return merge_pages(application_pages(form_id))


def field_pages(form_id: str) -> dict[str, int]:
    """Field name → the application page it is on (0-based)."""
    return {f.name: i for i, t in enumerate(application_pages(form_id)) for f in t.fields}
