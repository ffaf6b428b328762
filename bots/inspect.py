"""``dejiru bot inspect``: list a screen's inputs (in every frame) and draft a mapping from them.

Writing a mapping for a system nobody here has seen starts with knowing its inputs: their names,
what the screen calls them, how long a value they take. ``dejiru bot record`` shows that in a browser
window; this reads the same from a headless Chromium (no desktop needed) and prints it, and drafts the
``create`` steps of a mapping (:func:`skeleton`).

The page is a stranger's, possibly hostile: only http(s) addresses are opened (:func:`checked_url`),
and everything read from it is re-checked here in Python (types, lengths, how many), whatever the
page's scripts did to the DOM or to JavaScript's own functions, and stripped of control characters
(:func:`clean`) before it reaches a terminal or a YAML file.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from core.errors import InputError, Transient

#: At most this many elements are listed (all frames together): a page of 10,000 inputs is an attack
#: or a report, not a data-entry screen.
MAX_ELEMENTS = 500
#: Labels, values and option texts are cut to this many characters.
MAX_TEXT = 80
#: Options listed per select.
MAX_OPTIONS = 100
#: Name, id and value longer than this are not used in a selector (the CSS path is, instead).
MAX_ATTR = 100

SCHEMES = ("http", "https")

#: ANSI / VT escape sequences (CSI, OSC, and two-character ESC sequences), removed whole.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]"
)
#: Bidirectional overrides and isolates: they reorder what a terminal shows (the "Trojan Source" trick).
_BIDI = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def clean(text: object, limit: int = MAX_TEXT) -> str:
    """``text`` safe to print and to put in a YAML comment: escape sequences and control, format and
    line-separator characters gone (whitespace runs become one space), at most ``limit`` characters.

    A label is page text: ``\\x1b[2J`` in it would clear the clerk's terminal, a newline in it would
    end a YAML comment and start a line of mapping."""
    s = _ESCAPES.sub("", str(text)).translate(_BIDI)
    s = "".join(
        " " if ch.isspace() else ch
        for ch in s
        if unicodedata.category(ch) not in ("Cc", "Cf") or ch.isspace()
    )
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def checked_url(url: str, base: str | None = None) -> str:
    """The address to open: ``url`` (or a path joined to ``base``, the mapping's system), refused
    unless it is http or https. A person types it: ``file:`` would show this machine's files,
    ``javascript:``/``data:`` run what the link says, ``chrome:`` the browser's own pages."""
    text = url.strip()
    if base and text.startswith("/") and not text.startswith("//"):
        text = urljoin(base.rstrip("/") + "/", text.lstrip("/"))
    parts = urlsplit(text)
    if parts.scheme.lower() not in SCHEMES or not parts.netloc:
        raise InputError(
            "http:// または https:// で始まる業務システムのアドレスを指定してください"
            f"（{clean(parts.scheme, 20) or 'スキームなし'}: は開きません）",
            f"give the system's http:// or https:// address ({clean(parts.scheme, 20) or 'no scheme'}: "
            "is not opened)",
            detail=clean(url, 200),
        )
    return text


# --- reading the page ------------------------------------------------------------------------------

#: Runs in each frame; returns plain data, re-checked by :func:`_control` (the page may have changed
#: any of the functions used here). Labels: ``<label>`` (for= or wrapping), aria-label/title, then the
#: nearest table cell (or ``<dt>``) to the left, where legacy screens put them; ``near`` is the text
#: right beside the element (a radio's 本人, the 年 after a year's box, the その他 before an input).
_WALK_JS = r"""
([limit, textMax, optionMax, withLinks]) => {
  const squash = (s) => String(s == null ? '' : s).replace(/\s+/g, ' ').trim().slice(0, textMax);
  const CONTROL = 'input, select, textarea, button, script, style';
  const ownText = (node) => {
    let out = '';
    const walk = (n) => {
      for (const c of n.childNodes) {
        if (out.length > textMax * 4) return;
        if (c.nodeType === 3) out += c.nodeValue + ' ';
        else if (c.nodeType === 1 && !c.matches(CONTROL)) walk(c);
      }
    };
    walk(node);
    return squash(out);
  };
  const cellLeft = (el) => {
    const cell = el.closest('td, th');
    for (let c = cell && cell.previousElementSibling; c; c = c.previousElementSibling) {
      const t = ownText(c);
      if (t) return t;
    }
    const dd = el.closest('dd');
    for (let c = dd && dd.previousElementSibling; c; c = c.previousElementSibling) {
      if (c.tagName === 'DT') return ownText(c);
    }
    return '';
  };
  const beside = (el, forward) => {
    let n = forward ? el.nextSibling : el.previousSibling;
    while (n && n.nodeType === 3 && !n.nodeValue.trim()) n = forward ? n.nextSibling : n.previousSibling;
    if (n && n.nodeType === 3) return squash(n.nodeValue);
    if (n && n.nodeType === 1 && n.tagName === 'SPAN') return ownText(n);
    return '';
  };
  const wordy = (t) => (/[\p{L}\p{N}]/u.test(t) ? t : '');
  const unitAfter = (el) => { const t = wordy(beside(el, true)); return t.length <= 2 ? t : ''; };
  const count = (sel) => { try { return document.querySelectorAll(sel).length; } catch (e) { return 0; } };
  const cssPath = (el) => {
    const parts = [];
    for (let n = el; n && n.nodeType === 1 && n !== document.documentElement; n = n.parentElement) {
      if (n !== el && n.id && /^[A-Za-z][\w-]*$/.test(n.id) && count('#' + n.id) === 1) {
        parts.unshift('#' + n.id);
        break;
      }
      if (n !== el && n.tagName === 'FORM' && n.getAttribute('name') && /^[A-Za-z][\w-]*$/.test(n.getAttribute('name'))
          && count('form[name=' + n.getAttribute('name') + ']') === 1) {
        parts.unshift('form[name=' + n.getAttribute('name') + ']');
        break;
      }
      const tag = n.tagName.toLowerCase();
      const same = Array.from(n.parentElement ? n.parentElement.children : []).filter((s) => s.tagName === n.tagName);
      parts.unshift(same.length > 1 ? tag + ':nth-of-type(' + (same.indexOf(n) + 1) + ')' : tag);
    }
    return parts.join(' > ');
  };
  const sel = 'input, select, textarea, button' + (withLinks ? ', a[href]' : '');
  const out = [];
  for (const el of document.querySelectorAll(sel)) {
    if (out.length >= limit) break;
    const tag = el.tagName.toLowerCase();
    const type = (tag === 'input' ? el.getAttribute('type') || 'text'
      : tag === 'button' ? el.getAttribute('type') || 'submit' : tag).toLowerCase();
    if (type === 'hidden') continue;
    const name = el.getAttribute('name') || '';
    const id = el.getAttribute('id') || '';
    const value = el.getAttribute('value') || '';
    const labels = Array.from(el.labels || []).map(ownText).filter((t) => t);
    const form = el.form || null;
    const asks = (s) => /confirm\s*\(/.test(s || '');
    out.push({
      tag, type, name, id, value: squash(value),
      label: labels[0] || squash(el.getAttribute('aria-label') || el.getAttribute('title') || '') || cellLeft(el),
      near: ['checkbox', 'radio'].includes(type) ? beside(el, true)
        : ['submit', 'button', 'reset', 'image'].includes(type) || tag === 'a'
          ? squash(tag === 'input' ? value || el.getAttribute('alt') : el.textContent)
          : unitAfter(el) || wordy(beside(el, false)),
      maxlength: el.getAttribute('maxlength') || '',
      required: el.required === true || el.getAttribute('aria-required') === 'true',
      readonly: el.readOnly === true || el.disabled === true,
      multiple: el.multiple === true,
      options: tag === 'select'
        ? Array.from(el.options).slice(0, optionMax).map((o) => [squash(o.value), squash(o.text)]) : [],
      selected: tag === 'select' ? Array.from(el.selectedOptions).map((o) => squash(o.value)) : [],
      checked: el.checked === true,
      confirms: asks(el.getAttribute('onclick')) || (form !== null && asks(form.getAttribute('onsubmit'))),
      nameCount: name ? count(tag + '[name="' + CSS.escape(name) + '"]') : 0,
      nameValueCount: name ? count(tag + '[name="' + CSS.escape(name) + '"][value="' + CSS.escape(value) + '"]') : 0,
      idCount: id ? count('#' + CSS.escape(id)) : 0,
      path: cssPath(el),
    });
  }
  return out;
}
"""


@dataclass(frozen=True)
class Control:
    """One input, select, textarea, button (or link) of the page, as checked and cleaned here."""

    #: The ``<frame name=...>`` it is in (a step's ``frame:``); None on the top page.
    frame: str | None
    #: The frame's address, for frames without a name (which a mapping cannot name).
    frame_url: str
    tag: str
    type: str
    selector: str
    label: str
    near: str
    name: str = ""
    value: str = ""
    maxlength: int | None = None
    required: bool = False
    readonly: bool = False
    multiple: bool = False
    options: tuple[tuple[str, str], ...] = ()
    selected: tuple[str, ...] = ()
    confirms: bool = False

    @property
    def kind(self) -> str:
        """What a mapping step does with it: fill, select, check, click, or "" (nothing)."""
        if self.tag == "select":
            return "select"
        if self.tag == "textarea":
            return "fill"
        if self.type in ("checkbox", "radio"):
            return "check"
        if self.type in ("submit", "button", "image") or self.tag == "a":
            return "click"
        if self.type in ("reset", "file"):
            return ""
        return "fill"

    @property
    def saves(self) -> bool:
        """A submit button (the click that saves, unless the screen has several)."""
        return self.type in ("submit", "image") and self.tag in ("input", "button")


@dataclass
class Inspection:
    url: str
    title: str
    controls: list[Control] = field(default_factory=list)
    #: True when the page had more than :data:`MAX_ELEMENTS` elements and the list stops there.
    truncated: bool = False
    #: Frames that could not be read (detached while reading, or a crashed frame).
    unread: list[str] = field(default_factory=list)


def _safe_attr(value: str) -> bool:
    """Usable as written inside a selector: short and with nothing :func:`clean` would change."""
    return 0 < len(value) <= MAX_ATTR and clean(value, MAX_ATTR) == value


def _css_string(value: str) -> str:
    """``value`` as a CSS attribute value: bare when it is an identifier (the mappings' style), else quoted."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def suggest_selector(raw: dict[str, Any], tag: str, type_: str) -> str:
    """A selector for the element: ``[name=...]`` (with ``[value=...]`` for one of a radio group), then
    ``#id``, then the CSS path from the nearest named form or id. Names outlive layout changes; ids
    are often generated; a path breaks when a row is added, so it comes last."""
    name, value, id_ = str(raw.get("name", "")), str(raw.get("value", "")), str(raw.get("id", ""))
    if _safe_attr(name):
        base = f"{tag}[name={_css_string(name)}]"
        if raw.get("nameCount") == 1:
            return base
        if type_ in ("checkbox", "radio") and _safe_attr(value) and raw.get("nameValueCount") == 1:
            return base + "[value='" + value.replace("\\", "\\\\").replace("'", "\\'") + "']"
    if _safe_attr(id_) and raw.get("idCount") == 1:
        return f"#{id_}" if re.fullmatch(r"[A-Za-z][\w-]*", id_) else f"[id={_css_string(id_)}]"
    path = str(raw.get("path", ""))
    return path if path and clean(path, 1000) == path and len(path) <= 1000 else tag


def _int(value: object) -> int | None:
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


def _control(raw: object, frame: str | None, frame_url: str) -> Control | None:
    """One element the page's script returned, checked: anything not the expected shape is dropped."""
    if not isinstance(raw, dict):
        return None
    tag = clean(raw.get("tag", ""), 20).lower()
    if tag not in ("input", "select", "textarea", "button", "a"):
        return None
    type_ = clean(raw.get("type", ""), 20).lower() or "text"
    options = raw.get("options") if isinstance(raw.get("options"), list) else []
    selected = raw.get("selected") if isinstance(raw.get("selected"), list) else []
    return Control(
        frame=frame,
        frame_url=clean(frame_url, 200),
        tag=tag,
        type=type_,
        selector=suggest_selector(raw, tag, type_),
        label=clean(raw.get("label", "")),
        near=clean(raw.get("near", "")),
        name=clean(raw.get("name", "")),
        value=clean(raw.get("value", "")),
        maxlength=_int(raw.get("maxlength", "")),
        required=raw.get("required") is True,
        readonly=raw.get("readonly") is True,
        multiple=raw.get("multiple") is True,
        options=tuple(
            (clean(o[0]), clean(o[1]))
            for o in (options or [])[:MAX_OPTIONS]
            if isinstance(o, list) and len(o) == 2
        ),
        selected=tuple(clean(s) for s in (selected or [])[:MAX_OPTIONS]),
        confirms=raw.get("confirms") is True,
    )


def read_page(page: Any, *, links: bool = False, limit: int = MAX_ELEMENTS) -> Inspection:
    """Every control of ``page`` and of each of its frames (framesets, iframes), at most ``limit``."""
    result = Inspection(url=clean(page.url, 300), title=_title(page))
    for frame in page.frames:
        left = limit - len(result.controls)
        if left <= 0:
            result.truncated = True
            break
        name = None if frame == page.main_frame else clean(frame.name, MAX_ATTR) or ""
        try:
            raw = frame.evaluate(_WALK_JS, [left + 1, MAX_TEXT, MAX_OPTIONS, links])
        except Exception:  # a frame detached or crashed while read: say so, list the others
            result.unread.append(clean(frame.url, 200))
            continue
        items = raw if isinstance(raw, list) else []
        if len(items) > left:
            result.truncated = True
        for item in items[:left]:
            control = _control(item, name, frame.url)
            if control is not None:
                result.controls.append(control)
    return result


def _title(page: Any) -> str:
    try:
        return clean(page.title())
    except Exception:  # a page that navigated away while read has no title to give
        return ""


@contextmanager
def opened(
    url: str, *, mapping: Any = None, login: bool = False, work_dir: Path | None = None
) -> Iterator[Any]:
    """A headless Chromium page showing ``url`` (after logging in with ``mapping`` when ``login``),
    launched as the bots launch it; the browser is closed on leaving."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from bots.browser import launch_kwargs

    if login:
        from bots.runner import BotSession

        with BotSession(mapping, work_dir or Path("var/bot-inspect")) as bot:
            bot.login()
            _goto(bot.page, url, PlaywrightError)
            yield bot.page
        return
    with sync_playwright() as pw:
        kwargs: Any = launch_kwargs(headless=True)
        browser = pw.chromium.launch(**kwargs)
        try:
            context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
            context.set_default_timeout(15000)
            page = context.new_page()
            _goto(page, url, PlaywrightError)
            yield page
        finally:
            browser.close()


def _goto(page: Any, url: str, error: type[Exception]) -> None:
    """Open ``url`` and wait for its frames (a frameset's ``load`` waits for them)."""
    try:
        page.goto(url, wait_until="load")
    except error as exc:
        raise Transient(
            "画面を開けません（アドレスと接続を確認してください）",
            "cannot open the screen (check the address and the network)",
            detail=clean(str(exc), 300),
        ) from exc


# --- the table -------------------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (全角 counts two); never cut: a selector is copied."""
    return text + " " * max(0, width - _width(text))


def _where(c: Control) -> str:
    if c.frame is None:
        return "(top)"
    return c.frame or f"(名前なし/no name) {c.frame_url}"


def table(result: Inspection) -> list[str]:
    """The controls as lines for a terminal, grouped by frame; every text in them is already clean."""
    lines = [f"{result.title} ({result.url})"]
    header = f"  {_pad('種類 type', 10)} {_pad('セレクタ selector', 36)} 最大 max 必須 req  ラベル label"
    frame: str | bool | None = False
    for c in result.controls:
        if c.frame != frame:
            frame = c.frame
            lines.append(f"フレーム frame: {_where(c)}" if c.frame is not None else "ページ page:")
            lines.append(header)
        label = " ".join(t for t in (c.label, c.near) if t)
        flags = ("必須" if c.required else "") + ("入力不可/readonly " if c.readonly else "")
        lines.append(
            f"  {_pad(c.type, 10)} {_pad(c.selector, 36)} {_pad(str(c.maxlength or ''), 8)}"
            f" {_pad(flags, 8)} {label or '-'}".rstrip()
        )
        if c.tag == "select":
            shown = ", ".join(f"{v}={t}" for v, t in c.options[:20])
            more = f" …他 {len(c.options) - 20} 件/more" if len(c.options) > 20 else ""
            lines.append(f"      選択肢 options: {shown}{more}")
            lines.append(f"      現在 current: {', '.join(c.selected) or '(なし/none)'}")
        elif c.kind == "check" and c.value:
            lines.append(f"      値 value: {c.value}")
    if not result.controls:
        lines.append("  入力項目は見つかりませんでした / no inputs found")
    if result.truncated:
        lines.append(f"  （{MAX_ELEMENTS} 件までを表示しました / only the first {MAX_ELEMENTS} are listed）")
    for url in result.unread:
        lines.append(f"  読めなかったフレーム / frame not read: {url}")
    return lines


# --- the skeleton ----------------------------------------------------------------------------------

#: Button words that mean "save this record", to pick the submit among several (登録 over 検索/戻る).
_SAVE_WORDS = re.compile(r"登録|保存|確定|更新|送信|実行|register|save|submit|ok", re.IGNORECASE)


def _q(text: str) -> str:
    """A YAML double-quoted scalar. JSON's string syntax is YAML's; :func:`clean` text has no line
    separators, which YAML would fold."""
    return json.dumps(text, ensure_ascii=False)


def _submit(controls: list[Control]) -> Control | None:
    buttons = [c for c in controls if c.saves]
    return next((c for c in buttons if _SAVE_WORDS.search(c.near + c.label)), buttons[0] if buttons else None)


def _step(c: Control, name_for: Callable[[str], str], submit: Control | None) -> str:
    """One step line of the skeleton, with a comment saying what the screen calls the input."""
    frame = f", frame: {_q(c.frame)}" if c.frame else ""
    what = " ".join(t for t in (c.label, c.near) if t) or "(ラベルなし/no label)"
    notes = [what]
    if c.frame == "":
        notes.append(f"TODO: frame without a name ({c.frame_url}): needs a python step")
    if c.maxlength:
        notes.append(f"maxlength {c.maxlength}: longer values are refused by read-back")
    if c.required:
        notes.append("required")
    placeholder = name_for(c.label) or "TODO"
    if c.kind == "select":
        line = f"{{select: {_q(c.selector)}, value: {_q('{' + placeholder + '}')}{frame}}}"
        notes.append("options " + ", ".join(f"{v}={t}" for v, t in c.options[:10]))
    elif c.kind == "check":
        when = "{" + placeholder + "|eq:TODO}"
        line = f"{{check: {_q(c.selector)}, when: {_q(when)}{frame}}}"
    elif c.kind == "click":
        dialog = ", dialog: accept" if c.confirms else ""
        line = f"{{click: {_q(c.selector)}{dialog}, submit: true{frame}}}"
    else:
        line = f"{{fill: {_q(c.selector)}, value: {_q('{' + placeholder + '}')}{frame}}}"
        if c.type == "date":
            notes.append("type=date: value as yyyy-mm-dd ({FIELD|strftime:%Y-%m-%d})")
    prefix = "" if c.kind != "click" or c is submit else "# "
    return f"        {prefix}- {line}  # " + "; ".join(clean(n, 200) for n in notes)


def skeleton(result: Inspection, form_id: str, goto: str, name_for: Callable[[str], str]) -> str:
    """A ``forms:`` block for ``form_id``: one fill/select/check step per input of the page, the save
    button as ``click`` with ``submit: true`` (other buttons commented out), ``search`` and the
    ``success``/``rejected`` selectors left as TODO. It loads as a :class:`bots.mapping.FormMapping`;
    the values are guesses from the labels (``name_for``) to be checked against the template."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", form_id):
        raise InputError(
            f"様式ID {clean(form_id, 40)} は英小文字・数字・_ で書いてください",
            f"form id {clean(form_id, 40)} must be lower-case letters, digits and _",
        )
    controls = [c for c in result.controls if c.kind and c.tag != "a" and not c.readonly]
    submit = _submit(controls)
    steps = [_step(c, name_for, submit) for c in controls]
    lines = [
        f"# Drafted by `dejiru bot inspect` from {result.url} ({result.title}).",
        "# Paste under `forms:` of bots/mappings/<system>.yaml, write each value from the template's",
        f"# fields, fill in the TODOs, then run `dejiru bot check <system> --form {form_id}` (docs/bots.md).",
        "forms:",
        f"  {form_id}:",
        "    search:",
        "      # TODO: the search screen that finds a record by our reference (see docs/bots.md)",
        '      goto: "/TODO?ref={reference}"',
        '      found: "TODO"',
        '      not_found: "TODO"',
        "    create:",
        f"      goto: {_q(goto)}",
        "      steps:",
        *(steps or ['        - {wait: "TODO"}  # no inputs were found on the page']),
        '      success: "TODO"  # the element showing the new receipt number',
        '      rejected: "TODO"  # the element(s) with the system\'s validation messages',
    ]
    return "\n".join(lines) + "\n"
