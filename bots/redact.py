"""Scrubbing keying evidence of secrets before a reviewer can download it.

Evidence (a screenshot, the page's HTML and a Playwright trace) goes to everyone who works the
exception queue, but the target system's password and session cookie must reach nobody: with them a
reviewer could log in to the legacy system as the bot. A trace records far more than it shows:
every request's headers (``Cookie``, ``Set-Cookie``), form posts (the login form), the parameters of
every call (``fill("<password>")``) and DOM snapshots that keep what was typed into inputs,
password inputs included. So besides keeping the login out of traces (:mod:`bots.runner`), every
file is scrubbed here before it is written where reviewers can reach it:

* the values of ``Cookie``, ``Set-Cookie``, ``Authorization`` and ``Proxy-Authorization`` headers and
  of the HAR ``cookies`` lists become :data:`MARKER`;
* a request that carried credentials (a secret in its body, a password-like form field, an
  ``Authorization`` header) loses its body, and the body's resource file is blanked;
* every occurrence of a secret (the password, cookie values: those the caller knows and those the
  network log itself shows) in every member, as written, URL-encoded, HTML- or JSON-escaped, in
  UTF-8 or Windows-31J, becomes :data:`MARKER`; so do session ids carried in URLs
  (``;jsessionid=…``, ``?token=…``).

The zip keeps its member names and stays a valid trace (``playwright show-trace`` opens it): JSON
lines are rewritten as JSON, so a secret found inside a string never breaks the line around it.
Pure functions, no browser: everything here is tested on hand-made traces.
"""

from __future__ import annotations

import contextlib
import copy
import html
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from secrets import token_hex
from typing import Any
from urllib.parse import quote, quote_plus

#: What a removed secret reads as. No character in it needs escaping in JSON, HTML or a URL path, so
#: the text around it stays what it was.
MARKER = "[redacted]"
MARKER_BYTES = MARKER.encode()

#: Headers whose values are credentials in themselves, whatever the secrets we know of.
SENSITIVE_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})

#: Cookie values shorter than this are flags (``lang=ja``, ``consent=1``), not session ids; redacting
#: them everywhere would blank every ``1`` in the trace. Their headers are still blanked.
MIN_COOKIE_LEN = 6

#: Form fields that carry a credential by name, whatever their value.
CREDENTIAL_FIELD = re.compile(r"pass|pwd|secret|token|credential|otp", re.IGNORECASE)

#: Session ids that old systems put into URLs (URL rewriting) or query strings.
_URL_TOKEN = r"([;?&](?:jsessionid|phpsessid|aspsessionid[a-z]*|cfid|cftoken|sessionid|session_id|sid|token|access_token|auth_token)=)[^&#;?/\s\"'<>\\]+"
URL_TOKEN = re.compile(_URL_TOKEN, re.IGNORECASE)
URL_TOKEN_BYTES = re.compile(_URL_TOKEN.encode(), re.IGNORECASE)

#: Members of a trace zip that are JSON lines (``trace.trace``, ``1-trace.network``, ``trace.stacks``…).
_JSON_MEMBER = re.compile(r"\.(trace|network|stacks)$")


def cookie_secrets(values: Iterable[str]) -> set[str]:
    """The cookie values worth redacting everywhere: long enough to be a session id, not a flag."""
    return {v for v in values if v and len(v) >= MIN_COOKIE_LEN}


def _spellings(secret: str) -> set[str]:
    """How a secret can appear in a page, a URL, a form post or a JSON line."""
    out = {
        secret,
        html.escape(secret),
        html.escape(secret, quote=False),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    for encoding in ("utf-8", "cp932"):
        try:
            raw = secret.encode(encoding)
        except UnicodeEncodeError:
            continue
        out |= {quote(raw, safe=""), quote_plus(raw, safe=""), quote(raw)}
    return {s for s in out if s}


class Redactor:
    """Replaces a set of secrets, in every spelling, by :data:`MARKER` in text and in bytes.

    Spellings are matched case-insensitively (percent-encoding is ``%2F`` or ``%2f``): redacting a
    little too much is harmless, missing a spelling is not.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = frozenset(s for s in secrets if s)
        spellings = sorted({sp for s in self.secrets for sp in _spellings(s)}, key=len, reverse=True)
        self._text = re.compile("|".join(map(re.escape, spellings)), re.IGNORECASE) if spellings else None
        encoded: set[bytes] = set()
        for sp in spellings:
            for encoding in ("utf-8", "cp932"):
                with contextlib.suppress(UnicodeEncodeError):
                    encoded.add(sp.encode(encoding))
        ordered = sorted(encoded, key=len, reverse=True)
        self._bytes = re.compile(b"|".join(map(re.escape, ordered)), re.IGNORECASE) if ordered else None

    def text(self, value: str) -> str:
        """``value`` with every secret and every URL session id replaced by the marker."""
        if self._text is not None:
            value = self._text.sub(MARKER, value)
        return URL_TOKEN.sub(lambda m: m.group(1) + MARKER, value)

    def raw(self, value: bytes) -> bytes:
        """The same for bytes (a resource, a non-JSON line), in UTF-8 and Windows-31J spellings."""
        if self._bytes is not None:
            value = self._bytes.sub(MARKER_BYTES, value)
        return URL_TOKEN_BYTES.sub(lambda m: m.group(1) + MARKER_BYTES, value)

    def found_in(self, value: str | bytes) -> bool:
        """Whether a secret (in any spelling) occurs in ``value``."""
        if isinstance(value, bytes):
            return self._bytes is not None and self._bytes.search(value) is not None
        return self._text is not None and self._text.search(value) is not None

    def json(self, value: Any) -> Any:
        """The same JSON value with every string (keys too) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.json(v) for k, v in value.items()}
        return value


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` (an HTML dump, an error message) with every secret and URL session id replaced."""
    return Redactor(secrets).text(text)


# --- the network log ---------------------------------------------------------------------------------


def _cookie_header_values(name: str, value: str) -> list[str]:
    """Values in a ``Cookie: a=1; b=2`` or ``Set-Cookie: a=1; Path=/`` header."""
    pairs = value.split(";") if name == "cookie" else [value.split(";", 1)[0]]
    return [p.split("=", 1)[1].strip() for p in pairs if "=" in p]


def harvest_cookie_values(entry: dict[str, Any]) -> set[str]:
    """Every cookie value a network-log entry shows (request and response, headers and HAR lists).

    A trace may hold cookies the browser no longer has (a session replaced by a new login, one the
    server deleted): they are secrets all the same.
    """
    found: set[str] = set()
    snapshot = entry.get("snapshot") if entry.get("type") == "resource-snapshot" else None
    if not isinstance(snapshot, dict):
        return found
    for side in ("request", "response"):
        part = snapshot.get(side)
        if not isinstance(part, dict):
            continue
        for cookie in part.get("cookies") or []:
            if isinstance(cookie, dict) and isinstance(cookie.get("value"), str):
                found.add(cookie["value"])
        for header in part.get("headers") or []:
            name = str(header.get("name", "")).lower() if isinstance(header, dict) else ""
            if name in ("cookie", "set-cookie") and isinstance(header.get("value"), str):
                found.update(_cookie_header_values(name, header["value"]))
    return cookie_secrets(found)


def scrub_network_entry(
    entry: dict[str, Any], redactor: Redactor, members: Mapping[str, bytes] | None = None
) -> tuple[dict[str, Any], set[str]]:
    """One network-log entry without credentials, and the resource files of bodies to blank.

    Header values are blanked whatever they hold (they are credentials by nature); a request body
    goes whole when the request carried credentials, since a form post spells its fields in ways no
    list of spellings covers (``user=demo&password=…`` in the page's own charset). ``members`` (the
    trace's files) lets the body's own file be read when the log holds only a reference to it.
    """
    blank: set[str] = set()
    snapshot = entry.get("snapshot") if entry.get("type") == "resource-snapshot" else None
    if not isinstance(snapshot, dict):
        return redactor.json(entry), blank
    credentialed = False
    for side in ("request", "response"):
        part = snapshot.get(side)
        if not isinstance(part, dict):
            continue
        for header in part.get("headers") or []:
            name = str(header.get("name", "")).lower() if isinstance(header, dict) else ""
            if name in SENSITIVE_HEADERS:
                credentialed = credentialed or (side == "request" and name.endswith("authorization"))
                header["value"] = MARKER
        for cookie in part.get("cookies") or []:
            if isinstance(cookie, dict) and "value" in cookie:
                cookie["value"] = MARKER
    request = snapshot.get("request")
    post = request.get("postData") if isinstance(request, dict) else None
    if isinstance(request, dict) and isinstance(post, dict):
        body_file = post.get("_file") if isinstance(post.get("_file"), str) else None
        body = (members or {}).get(body_file or "", b"")
        params = post.get("params") or []
        credentialed = (
            credentialed
            or redactor.found_in(json.dumps(post, ensure_ascii=False))
            or redactor.found_in(body)
            or any(isinstance(p, dict) and CREDENTIAL_FIELD.search(str(p.get("name", ""))) for p in params)
        )
        if credentialed:
            if body_file:
                blank.add(body_file)
            request["postData"] = {"mimeType": post.get("mimeType", ""), "text": MARKER}
    return redactor.json(entry), blank


# --- the trace zip -----------------------------------------------------------------------------------


def _json_lines(data: bytes, rewrite: Callable[[Any], Any]) -> bytes:
    """Rewrite each JSON line with ``rewrite``; a line that is not JSON is passed to it as bytes.

    Unchanged lines keep their exact bytes, so scrubbing alters nothing it has no reason to.
    """
    out = []
    for line in data.split(b"\n"):
        if not line.strip():
            out.append(line)
            continue
        try:
            value = json.loads(line)
        except ValueError:
            out.append(rewrite(line))
            continue
        new = rewrite(copy.deepcopy(value))  # rewrite may change its argument in place
        out.append(
            line if new == value else json.dumps(new, ensure_ascii=False, separators=(",", ":")).encode()
        )
    return b"\n".join(out)


def scrub_trace_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """A Playwright trace zip (as bytes) with credentials removed: same member names, same order.

    ``secrets`` are redacted everywhere; cookie values the network log shows are added to them, so
    a session id the browser no longer holds goes too.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        infos = zin.infolist()
        members = {info.filename: zin.read(info) for info in infos}
    network = [name for name in members if name.endswith(".network")]
    harvested: set[str] = set()
    for name in network:
        for line in members[name].split(b"\n"):
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    harvested |= harvest_cookie_values(value)
    redactor = Redactor(set(secrets) | harvested)

    blank: set[str] = set()

    def network_line(value: Any) -> Any:
        if isinstance(value, bytes):
            return redactor.raw(value)
        if isinstance(value, dict):
            scrubbed, files = scrub_network_entry(value, redactor, members)
            blank.update(files)
            return scrubbed
        return redactor.json(value)

    def other_line(value: Any) -> Any:
        return redactor.raw(value) if isinstance(value, bytes) else redactor.json(value)

    scrubbed: dict[str, bytes] = {}
    for name in network:
        scrubbed[name] = _json_lines(members[name], network_line)
    for name, content in members.items():
        if name in scrubbed:
            continue
        if _JSON_MEMBER.search(name):
            scrubbed[name] = _json_lines(content, other_line)
        else:
            scrubbed[name] = redactor.raw(content)
    for name in blank & scrubbed.keys():
        scrubbed[name] = MARKER_BYTES

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in infos:
            member = zipfile.ZipInfo(info.filename, info.date_time)
            member.external_attr = info.external_attr
            zout.writestr(member, scrubbed[info.filename], compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, then a rename.

    A reviewer (or a crash) never finds half a file, and a scrubbed file is the only one that ever
    carries the final name.
    """
    # Not mkstemp: its 0600 would hide the file from a review server running as another user; a
    # plain exclusive create gets the usual permissions (umask).
    tmp = path.with_name(f".{path.name}.{token_hex(6)}.part")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def scrub_trace(raw: Path, dest: Path, secrets: Iterable[str]) -> None:
    """Scrub the trace zip ``raw`` into ``dest`` (atomically) and delete ``raw``, whatever happens.

    ``raw`` should live where reviewers cannot reach (a private temporary folder): if scrubbing
    fails, no trace is better than an unscrubbed one, so it is deleted and the error raised.
    """
    try:
        write_atomic(dest, scrub_trace_bytes(raw.read_bytes(), secrets))
    finally:
        with contextlib.suppress(OSError):
            raw.unlink()
