"""What keeps the review UI's origin for the review UI alone: response headers, and how files that
came from outside (a citizen's upload, a legacy system's page) are handed to a browser.

A quarantined file is whatever someone dropped into the inbox — an HTML page with a script, an SVG
— and a keying failure's HTML is a page of a system we do not control. Served inline from this
origin, either would run with the reviewer's session. So evidence is always a download: the content
type comes from the bytes (not the name), anything that is not a plain image, PDF, ZIP or text is
``application/octet-stream``, the name is neutral, and ``Content-Security-Policy: sandbox`` stops a
browser that renders it anyway from running anything.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from starlette.responses import Response, StreamingResponse

#: Every page of the review UI: scripts and styles only from /static (inline ``style=""`` attributes
#: are allowed for zone geometry; inline scripts and <style> elements are not), no plugins, no
#: framing, forms post only here.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000"


def security_headers(https: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cache-Control": "no-store",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


#: Types a browser shows without running anything, by their first bytes.
_MAGIC: list[tuple[bytes, str, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"%PDF-", "application/pdf", "pdf"),
    (b"II*\x00", "image/tiff", "tif"),
    (b"MM\x00*", "image/tiff", "tif"),
    (b"PK\x03\x04", "application/zip", "zip"),
]


def sniff_type(head: bytes, *, text_ok: bool = False) -> tuple[str, str]:
    """(content type, extension) from a file's first bytes. ``text_ok``: the caller knows it wrote
    the file as plain text (a reason file), so it may be shown as text/plain."""
    for magic, ctype, ext in _MAGIC:
        if head.startswith(magic):
            return ctype, ext
    if text_ok:
        return "text/plain; charset=utf-8", "txt"
    return "application/octet-stream", "bin"


class EvidenceUnavailable(Exception):
    """Not a regular file we may serve (gone, a link, a device): answer 404."""


def _open_regular(path: Path) -> int:
    """An fd on ``path`` if it is a regular file, opened without following a symbolic link at the
    last component (a link planted in quarantine or evidence is refused, not read through)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise EvidenceUnavailable(str(path)) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise EvidenceUnavailable(str(path))
    return fd


def _chunks(fd: int, first: bytes) -> Iterator[bytes]:
    try:
        yield first
        while chunk := os.read(fd, 1 << 16):
            yield chunk
    finally:
        os.close(fd)


def download(path: Path, stem: str, *, text_ok: bool = False, https: bool = False) -> Response:
    """``path`` as an attachment named ``stem.<sniffed ext>``, never rendered in this origin."""
    fd = _open_regular(path)
    try:
        head = os.read(fd, 4096)
    except OSError as exc:
        os.close(fd)
        raise EvidenceUnavailable(str(path)) from exc
    ctype, ext = sniff_type(head, text_ok=text_ok)
    headers = security_headers(https) | {
        "Content-Disposition": f'attachment; filename="{stem}.{ext}"',
        "Content-Security-Policy": "sandbox",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(_chunks(fd, head), media_type=ctype, headers=headers)
