"""The signed QR seal of a counter slip (書かない窓口): the values staff filled in, in a form only this
city hall can have made.

At the counter, staff fill a form in for the visitor and print it; the visitor checks it and signs.
The printed values are read back from the scan by OCR like any form, but OCR can misread, and a
person could change a printed value by hand. The seal prints the same values once more as a QR
code, signed with the installation's secret key, so the scan gives them back exactly, and a value
edited on paper or a seal made elsewhere is caught.

What the seal carries, and why (see :func:`seal_text`):

* ``nonce``: which slip this is (``records.models.CounterSlip.nonce``): a second scan of the same
  slip is the same slip, not a second application;
* ``form_id`` and ``version``: the template the values belong to (a seal moved onto another form is
  caught by comparing them with the page's form);
* ``issued``: the day it was printed (a slip kept for months can be told apart);
* ``values``: the fields as dejiru holds them (ISO dates, option values, ``None`` for blank), less
  the signature, which the visitor writes by hand (:func:`counter_values`).

The text is ``DJ1:`` and the base45 (RFC 9285) of a small binary record, so the whole QR is in the
QR code's alphanumeric mode (5.5 bits a character, against 8 for bytes, and no question of how a
reader decodes bytes to text). A QR is small on a busy A4 form (21 mm on the redesigned ones), and
every byte saved is a bigger module on paper, which is what lets a fax or a phone photo of the slip
be read; so, with the template at hand (:func:`seal_text`'s ``tpl``, what the counter always has),
the values are written in the template's own terms: in field order without names, dates as day
numbers, options as their index, the form as a fingerprint of the template. A 住民票 request then
takes a version 9 or 10 code (53 or 57 modules) instead of 14 (73). The JSON text is in Shift_JIS
(cp932) when every character has a code there (two bytes a kanji, UTF-8 takes three), and deflated.

    blob    = length · record · mac              length: varint, the bytes after it
    record  = flags · nonce_len · nonce · form · version (varint) · issued (2: days since 2000-01-01)
              · values
    form    = id_len · id (ASCII)                                    without the template
            | fingerprint (4) · presence bitmap (1 bit a field)      in the template's terms
    mac     = HMAC-SHA256(seal_key, "DJ1:" · length · record), first 16 bytes

The MAC is checked, in constant time, before anything is decompressed or parsed: a stranger's QR
never reaches zlib or JSON, and what the key signed is still bounded in size and shape. The key is
derived from the installation's secret (:func:`seal_key`) for this one use. The length comes first so
that a text cut short is :class:`SealMalformed` (scan again), not :class:`SealForged`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import SealForged, SealMalformed, SealNotOurs, TemplateError
from formkit.kinds import Shape, Value
from formkit.model import FieldSpec, Template

#: What every dejiru seal starts with: the format's name and its version.
PREFIX = "DJ1:"
#: Keeps the seal's key apart from every other use of the installation's secret.
_KEY_CONTEXT = b"dejiru.counter.seal.v1"
MAC_BYTES = 16
NONCE_BYTES = 8

#: A QR holds at most 4296 alphanumeric characters (version 40-L): anything longer is not one.
MAX_TEXT = 4296
#: Decompressed values, at most (a 65-field form takes about 2 KiB as JSON).
MAX_JSON_BYTES = 32 * 1024
MAX_FIELDS = 500
MAX_STRING = 4000
#: The values are an object (or list) whose values may be lists of strings: two levels of nesting.
MAX_DEPTH = 2

_EPOCH = dt.date(2000, 1, 1)

# Header flags.
_BOUND = 0x01  # values are a list in the template's field order, after a presence bitmap
_CP932 = 0x02  # the JSON text is in cp932, not UTF-8
_DEFLATED = 0x04  # the JSON bytes are raw-deflated
_KNOWN_FLAGS = _BOUND | _CP932 | _DEFLATED

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45 = {c: i for i, c in enumerate(BASE45)}
_HEX = re.compile(r"(?:[0-9a-f]{2}){4,16}")


@dataclass(frozen=True)
class Seal:
    """What a counter slip's QR says: which slip, which form, when, and the values printed on it."""

    nonce: str
    form_id: str
    version: int
    values: dict[str, Any] = field(hash=False)
    #: The day the slip was printed (ISO date).
    issued: str


def new_nonce() -> str:
    """A fresh slip identifier: 8 random bytes as 16 hex digits (unique among a city's slips)."""
    return secrets.token_hex(NONCE_BYTES)


def seal_key(secret: str) -> bytes:
    """The key seals are signed with, derived from the installation's secret key
    (``Settings.secret_key()``) so that a seal never stands for a session or an audit draw."""
    return hmac.new(secret.encode(), _KEY_CONTEXT, hashlib.sha256).digest()


def counter_values(tpl: Template, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a counter slip prints and seals: all but the signature's, which the visitor
    writes by hand on the printed slip (a seal saying "signed" would vouch for ink not yet there)."""
    signatures = {f.name for f in tpl.fields if f.kind.shape is Shape.SIGNATURE}
    return {k: v for k, v in values.items() if k not in signatures}


# --- base45 (RFC 9285) ---------------------------------------------------------------------------


def b45encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += [BASE45[c], BASE45[d], BASE45[e]]
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += [BASE45[c], BASE45[d]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    """The bytes of a base45 text; ``ValueError`` for a character outside the alphabet, a dangling
    character or a group out of range (RFC 9285 section 4.2)."""
    if len(text) % 3 == 1:
        raise ValueError("base45: dangling character")
    out = bytearray()
    for i in range(0, len(text), 3):
        group = text[i : i + 3]
        try:
            digits = [_B45[c] for c in group]
        except KeyError:
            raise ValueError("base45: character outside the alphabet") from None
        n = sum(d * 45**k for k, d in enumerate(digits))
        if len(group) == 3:
            if n > 0xFFFF:
                raise ValueError("base45: group out of range")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise ValueError("base45: group out of range")
            out.append(n)
    return bytes(out)


# --- writing -------------------------------------------------------------------------------------


def _check_value(name: str, v: Any) -> None:
    ok = (
        v is None
        or isinstance(v, bool | int | str)
        or (isinstance(v, list) and all(isinstance(s, str) for s in v))
    )
    if not ok:
        raise ValueError(f"seal value of {name!r} must be str, int, bool, None or a list of str, not {v!r}")


def _fingerprint(tpl: Template) -> bytes:
    """Four bytes naming the template: its ID and version, its fields in order with their types and
    option values. A seal written in the template's field order stands for the form ID (it is not
    written), and is never read against another field list (a template changed without a new
    version): the values would land in the wrong fields."""
    parts = [tpl.id, str(tpl.version)]
    parts += [f"{f.name}:{f.type}:{','.join(o.value for o in f.options)}" for f in tpl.fields]
    return hashlib.sha256("\n".join(parts).encode()).digest()[:4]


def _iso_days(v: str) -> int | None:
    try:
        date = dt.date.fromisoformat(v)
    except ValueError:
        return None
    return (date - _EPOCH).days if date.isoformat() == v else None


def _pack(spec: FieldSpec, v: Any) -> Any:
    """A value in the template's own terms: a date as its day number, an option as its index.

    An int in a date or option field could not be told from these on reading, and is no value dejiru
    holds there: ``ValueError``."""
    options = [o.value for o in spec.options]
    number = isinstance(v, int) and not isinstance(v, bool)
    if (spec.kind.value is Value.DATE or options) and (number or (isinstance(v, list) and not options)):
        raise ValueError(f"field {spec.name}: {v!r} is not a value this field holds")
    if isinstance(v, str) and spec.kind.value is Value.DATE:
        days = _iso_days(v)
        return v if days is None else days
    if options and isinstance(v, str) and v in options:
        return options.index(v)
    if options and isinstance(v, list) and all(o in options for o in v):
        return [options.index(o) for o in v]
    return v


def _unpack(spec: FieldSpec, x: Any) -> Any:
    options = [o.value for o in spec.options]

    def option(i: int) -> str:
        if not 0 <= i < len(options):
            raise _malformed(f"field {spec.name}: no option {i}")
        return options[i]

    number = isinstance(x, int) and not isinstance(x, bool)
    if number and spec.kind.value is Value.DATE:
        try:
            return (_EPOCH + dt.timedelta(days=x)).isoformat()
        except OverflowError:
            raise _malformed(f"field {spec.name}: no such date") from None
    if number and options:
        return option(x)
    if options and isinstance(x, list) and x and all(isinstance(i, int) for i in x):
        return [option(i) for i in x]
    return x


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _text_bytes(text: str) -> tuple[bytes, int]:
    """The JSON text in cp932 when it survives the round trip (two bytes a kanji), else UTF-8."""
    try:
        raw = text.encode("cp932")
        if raw.decode("cp932") == text:
            return raw, _CP932
    except UnicodeError:
        pass
    return text.encode("utf-8"), 0


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    return c.compress(data) + c.flush()


def _values_record(seal: Seal, tpl: Template | None) -> tuple[int, bytes, bytes]:
    """Flags, what identifies the form (its ID, or the template's fingerprint and which fields are
    present), and the values' bytes."""
    flags = 0
    body: Any = seal.values
    if tpl is None:
        form = seal.form_id.encode("ascii")
        head = bytes([len(form)]) + form
    else:
        if (tpl.id, tpl.version) != (seal.form_id, seal.version):
            raise ValueError(f"the template is {tpl.key}, the seal is for {seal.form_id} v{seal.version}")
        unknown = set(seal.values) - {f.name for f in tpl.fields}
        if unknown:
            raise ValueError(f"form {tpl.id} has no field(s) {', '.join(sorted(unknown))}")
        present = bytearray((len(tpl.fields) + 7) // 8)
        for i, f in enumerate(tpl.fields):
            if f.name in seal.values:
                present[i // 8] |= 0x80 >> (i % 8)
        flags |= _BOUND
        head = _fingerprint(tpl) + bytes(present)
        body = [_pack(f, seal.values[f.name]) for f in tpl.fields if f.name in seal.values]
    raw, enc = _text_bytes(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    flags |= enc
    packed = _deflate(raw)
    if len(packed) < len(raw):
        return flags | _DEFLATED, head, packed
    return flags, head, raw


def seal_text(seal: Seal, key: bytes, *, tpl: Template | None = None) -> str:
    """The text of the seal's QR code: ``DJ1:`` and the base45 of the signed record.

    With ``tpl`` (the seal's own template: same ID and version) the values are written in the
    template's terms: in field order without names, dates as day numbers, options as their index,
    and the form as the template's fingerprint. The QR comes out about 40 % smaller (a 住民票 request
    fits a version 9 code instead of 14), and reading it back needs that template, given to
    :func:`read_seal` or installed. Values must be what dejiru holds (str, int, bool, None, list of
    str; dates as ISO text): anything else is a ``ValueError``, as is a nonce not made by
    :func:`new_nonce`.
    """
    if not _HEX.fullmatch(seal.nonce):
        raise ValueError("a seal's nonce is 8 to 32 lowercase hex digits (new_nonce())")
    if not 0 < len(seal.form_id.encode("ascii")) < 256 or seal.version < 0:
        raise ValueError(f"bad form ID or version: {seal.form_id!r} v{seal.version}")
    days = (dt.date.fromisoformat(seal.issued) - _EPOCH).days
    if not 0 <= days <= 0xFFFF:
        raise ValueError(f"issue date out of range: {seal.issued}")
    for name, v in seal.values.items():
        _check_value(name, v)
    flags, head, packed = _values_record(seal, tpl)
    nonce = bytes.fromhex(seal.nonce)
    record = bytes([flags, len(nonce)]) + nonce + head + _varint(seal.version) + days.to_bytes(2, "big")
    return _signed(record + packed, key)


def _signed(record: bytes, key: bytes) -> str:
    """``DJ1:`` and the base45 of the record's length, the record and its MAC (see the module)."""
    body = _varint(len(record) + MAC_BYTES) + record
    mac = hmac.new(key, PREFIX.encode() + body, hashlib.sha256).digest()[:MAC_BYTES]
    return PREFIX + b45encode(body + mac)


# --- reading -------------------------------------------------------------------------------------


def _malformed(detail: str) -> SealMalformed:
    return SealMalformed(
        "窓口で作成した用紙のQRコードが読み取れません（欠けているか、汚れています）。用紙の記入内容を確認してください",
        "the QR code of a counter-made form cannot be read (cut off or smudged): check the form's values",
        detail=detail,
    )


def _forged() -> SealForged:
    return SealForged(
        "QRコードがこの市役所の署名と一致しません（内容が書き換えられたか、ここで作成された用紙ではありません）。"
        "窓口で作成した用紙として扱わず、本人に確認してください",
        "the QR code does not match this city hall's signature (its contents were changed, or the form "
        "was not made here): do not treat it as a counter-made form; check with the applicant",
    )


def _not_ours() -> SealNotOurs:
    return SealNotOurs(
        "このQRコードは窓口で作成した用紙のもの（dejiru の署名付きQR）ではありません",
        "this QR code is not the signed QR of a form made at this counter (a dejiru seal)",
    )


class _Reader:
    """Bytes taken off the front of the record, each shortfall a :class:`SealMalformed`."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise _malformed("record cut short")
        out = self.data[self.at : self.at + n]
        self.at += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def varint(self) -> int:
        n = 0
        for shift in range(0, 35, 7):
            b = self.byte()
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
        raise _malformed("version number too long")

    def rest(self) -> bytes:
        out = self.data[self.at :]
        self.at = len(self.data)
        return out


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(data, MAX_JSON_BYTES + 1)
    except zlib.error as exc:
        raise _malformed(f"values do not decompress: {exc}") from None
    if len(out) > MAX_JSON_BYTES or d.unconsumed_tail:
        raise _malformed(f"values larger than {MAX_JSON_BYTES} bytes")
    if not d.eof:
        raise _malformed("values cut short")
    return out


def _depth(text: str) -> int:
    """How deeply the JSON text nests arrays and objects (strings skipped), without parsing it:
    checked before ``json.loads``, whose recursion a deep enough nesting would exhaust."""
    depth = most = 0
    in_str = escaped = False
    for ch in text:
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            most = max(most, depth)
        elif ch in "]}":
            depth -= 1
    return most


def _parse_values(raw: bytes, flags: int) -> Any:
    """The values' JSON, bounded: at most two levels deep, ``MAX_FIELDS`` values, ``MAX_STRING``
    characters a string, and only the shapes field values take (a list may hold option indexes)."""
    try:
        text = raw.decode("cp932" if flags & _CP932 else "utf-8")
    except UnicodeDecodeError:
        raise _malformed("values are not text") from None
    if _depth(text) > MAX_DEPTH:
        raise _malformed("values nested too deeply")
    try:
        data = json.loads(text)
    except ValueError:
        raise _malformed("values are not JSON") from None
    items = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else None
    if items is None or len(items) > MAX_FIELDS:
        raise _malformed("values are not a list or object of field values")
    for v in items:
        parts = v if isinstance(v, list) else [v]
        if not all(p is None or isinstance(p, bool | int | str) for p in parts):
            raise _malformed("a value is not a field value")
        if any(isinstance(p, str) and len(p) > MAX_STRING for p in parts):
            raise _malformed("a value is too long")
        if any(isinstance(p, int) and abs(p) > 2**53 for p in parts):
            raise _malformed("a number is too large")
    return data


def _installed(fingerprint: bytes) -> Template | None:
    from formkit.registry import all_templates

    try:
        return next((t for t in all_templates() if _fingerprint(t) == fingerprint), None)
    except TemplateError:
        return None


def _bound_values(tpl: Template, present: bytes, data: Any) -> dict[str, Any]:
    specs = [f for i, f in enumerate(tpl.fields) if present[i // 8] & (0x80 >> (i % 8))]
    if not isinstance(data, list) or len(data) != len(specs):
        raise _malformed("values do not match the template's fields")
    values = {f.name: _unpack(f, x) for f, x in zip(specs, data, strict=True)}
    for name, v in values.items():
        try:
            _check_value(name, v)
        except ValueError:
            raise _malformed(f"field {name}: not a field value") from None
    return values


def read_seal(text: str, key: bytes, *, tpl: Template | None = None) -> Seal:
    """The seal a QR's text holds, once its signature is checked against ``key``.

    Raises :class:`SealNotOurs` for any other QR, :class:`SealForged` when the signature does not
    match (edited values, another installation's key, a made-up seal) and :class:`SealMalformed`
    when the text is ours but cut short, oversized or undecodable. A seal written in a template's
    terms (``seal_text(..., tpl=)``) is read with ``tpl`` if it is that template, else with the
    installed one; if no template here is the one it was written for (changed since the slip was
    printed), it is :class:`SealMalformed`: its values cannot be placed.
    """
    if not text.startswith(PREFIX):
        raise _not_ours()
    if len(text) > MAX_TEXT:
        raise _malformed(f"{len(text)} characters: longer than any QR code holds")
    try:
        blob = b45decode(text[len(PREFIX) :])
    except ValueError as exc:
        raise _malformed(str(exc)) from None
    # The length first: a text cut short (or run on) is a bad read, not a forgery.
    head = _Reader(blob)
    length = head.varint()
    if length != len(blob) - head.at:
        raise _malformed(f"{len(blob) - head.at} bytes where the record says {length}: cut short or run on")
    if length < MAC_BYTES + 8:
        raise _malformed("record cut short")
    body, mac = blob[:-MAC_BYTES], blob[-MAC_BYTES:]
    want = hmac.new(key, PREFIX.encode() + body, hashlib.sha256).digest()[:MAC_BYTES]
    if not hmac.compare_digest(mac, want):
        raise _forged()
    # Signed with this installation's key from here on: bounded all the same, never assumed well formed.
    r = _Reader(body[head.at :])
    flags = r.byte()
    if flags & ~_KNOWN_FLAGS:
        raise _malformed(f"unknown flags {flags:#x}")
    nonce = r.take(r.byte()).hex()
    bound: Template | None = None
    present = b""
    if flags & _BOUND:
        fingerprint = r.take(4)
        bound = tpl if tpl is not None and _fingerprint(tpl) == fingerprint else _installed(fingerprint)
        if bound is None:
            raise SealMalformed(
                "このQRは、この環境にない様式（印刷の後で変更された様式）のものです。用紙の記入内容を確認してください",
                "this seal was written for a form template this installation does not have (changed since the "
                "slip was printed): check the form's values",
                detail=f"template fingerprint {fingerprint.hex()}",
            )
        form_id = bound.id
        present = r.take((len(bound.fields) + 7) // 8)
    else:
        try:
            form_id = r.take(r.byte()).decode("ascii")
        except UnicodeDecodeError:
            raise _malformed("form ID is not ASCII") from None
    version = r.varint()
    issued = (_EPOCH + dt.timedelta(days=int.from_bytes(r.take(2), "big"))).isoformat()
    packed = r.rest()
    raw = _inflate(packed) if flags & _DEFLATED else packed
    if len(raw) > MAX_JSON_BYTES:
        raise _malformed(f"values larger than {MAX_JSON_BYTES} bytes")
    data = _parse_values(raw, flags)
    if bound is not None:
        if version != bound.version:
            raise _malformed(f"version {version} does not match template {bound.key}")
        values = _bound_values(bound, present, data)
    elif isinstance(data, dict):
        values = data
        for name, v in values.items():
            if isinstance(v, list) and not all(isinstance(s, str) for s in v):
                raise _malformed(f"field {name}: not a field value")
    else:
        raise _malformed("values are not an object")
    return Seal(nonce=nonce, form_id=form_id, version=version, values=values, issued=issued)
