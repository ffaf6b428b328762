"""The form-ID strip: which form and which version a page is, in 32 printed cells.

Layout of the bits, most significant first: 14 bits form code, 6 bits version, 12 bits checksum
(CRC-32 of the first 20 bits, truncated). The reader samples the cells after aligning the page by its
registration marks; a wrong orientation or a page that is not a dejiru form fails the checksum
(a random pattern passes with probability 1/4096, and the reader also demands clear black/white cells).
"""

from __future__ import annotations

import zlib

CODE_BITS = 14
VERSION_BITS = 6
CHECK_BITS = 12
TOTAL_BITS = CODE_BITS + VERSION_BITS + CHECK_BITS


def _check(payload: int) -> int:
    return zlib.crc32(payload.to_bytes(3, "big")) & ((1 << CHECK_BITS) - 1)


def encode(code: int, version: int) -> list[int]:
    """Bits (1 = black cell) for a form code and version."""
    if not 0 < code < (1 << CODE_BITS) or not 0 < version < (1 << VERSION_BITS):
        raise ValueError(f"form code {code} / version {version} out of range")
    payload = (code << VERSION_BITS) | version
    word = (payload << CHECK_BITS) | _check(payload)
    return [(word >> (TOTAL_BITS - 1 - i)) & 1 for i in range(TOTAL_BITS)]


def decode(bits: list[int]) -> tuple[int, int] | None:
    """``(code, version)`` if the bits are a valid strip, else None."""
    if len(bits) != TOTAL_BITS:
        return None
    word = 0
    for b in bits:
        word = (word << 1) | (1 if b else 0)
    payload, check = word >> CHECK_BITS, word & ((1 << CHECK_BITS) - 1)
    if payload == 0 or _check(payload) != check:
        return None
    return payload >> VERSION_BITS, payload & ((1 << VERSION_BITS) - 1)
