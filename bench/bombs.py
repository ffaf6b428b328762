"""Memory bombs: tiny files that would decode to huge images (``make bench``; not a test).

    python -m bench.bombs [--out bench/out/bombs.json] [--ceiling-mb 6000] [--code-root DIR] [--only NAME]

Each bomb is built here from zlib and struct, without ever holding its pixels, then dropped into a
fresh inbox in a fresh subprocess that runs the real intake (``pipeline.intake.intake_file``) and, if
the file is taken, the real read of every document it became (``pipeline.reading.read_document``).
The subprocess's peak resident memory (``ru_maxrss`` from ``wait4``, the per-child form of
``RUSAGE_CHILDREN``) is what the bomb cost. A watchdog kills a subprocess that passes
``--ceiling-mb`` so that measuring an old checkout (``--code-root``, e.g. ``git archive`` of an
earlier commit) cannot take the machine down with it; such a row reads ``killed``.

A control row (one ordinary blank A4 page) shows what the process costs with no bomb at all.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import progress

#: Resolution PDF pages are rendered at (ocr.pages.PDF_DPI), to size PDF pages in megapixels.
RENDER_DPI = 300


def side_pt(megapixels: float, dpi: int = RENDER_DPI) -> float:
    """Side in PDF points of a square page that renders to ``megapixels`` at ``dpi``."""
    return math.sqrt(megapixels * 1e6) * 72 / dpi


def _zlib_repeat(chunk: bytes, times: int, level: int = 9) -> bytes:
    """zlib of ``chunk * times``, fed a slice at a time: the bomb's raw pixels never exist here."""
    z = zlib.compressobj(level)
    per = max(1, (4 << 20) // max(1, len(chunk)))  # about 4 MiB a feed
    out = []
    left = times
    while left:
        n = min(per, left)
        out.append(z.compress(chunk * n))
        left -= n
    out.append(z.flush())
    return b"".join(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int, dpi: tuple[float, float] | None = None, *, rgb: bool = False) -> bytes:
    """A valid white 1-bit PNG of ``width`` × ``height`` (e.g. 15400² = 237 MP in about 48 KB).

    ``dpi`` writes a pHYs chunk (x, y): a fax-like anisotropic resolution the reader resamples.
    ``rgb`` makes it 8-bit colour instead, the costliest kind of page to decode.
    """
    if rgb:
        row = b"\x00" + b"\xff" * (3 * width)
        ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, truecolour
    else:
        row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte "none", then white bits
        ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    chunks = [_png_chunk(b"IHDR", ihdr)]
    if dpi is not None:
        ppm = [round(d / 0.0254) for d in dpi]
        chunks.append(_png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    chunks.append(_png_chunk(b"IDAT", _zlib_repeat(row, height)))
    chunks.append(_png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def pdf_bomb(pages: Sequence[tuple[float, float]], crop: tuple[float, float] | None = None) -> bytes:
    """A valid PDF of empty pages, one MediaBox (points) each: 4 pages are about 600 bytes.

    ``crop`` adds a CropBox of that size to every page: what pdfium measures and draws, while
    poppler, unless told otherwise, draws the whole MediaBox.
    """
    objs = [b"<</Type/Catalog/Pages 2 0 R>>"]
    kids = " ".join(f"{3 + i} 0 R" for i in range(len(pages)))
    objs.append(f"<</Type/Pages/Kids[{kids}]/Count {len(pages)}>>".encode())
    cropbox = f"/CropBox[0 0 {crop[0]:g} {crop[1]:g}]" if crop else ""
    for w, h in pages:
        objs.append(f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 {w:.0f} {h:.0f}]{cropbox}>>".encode())
    return _pdf(objs)


def pdf_image_bomb(width: int, height: int) -> bytes:
    """A valid one-page A4 PDF drawing a white 1-bit image of ``width`` × ``height`` over the page.

    The page size passes every check; the image inside it is what pdfium must decode (it streams
    it, scaling as it goes: this row shows that it does).
    """
    image = _zlib_repeat(b"\x00" * ((width + 7) // 8), height)  # DeviceGray 1 bit, Decode [1 0]: white
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    objs = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</XObject<</Im0 5 0 R>>>>/Contents 4 0 R>>",
        b"<</Length %d>>stream\n%s\nendstream" % (len(content), content),
        b"<</Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace/DeviceGray/BitsPerComponent 1"
        b"/Decode[1 0]/Filter/FlateDecode/Length %d>>stream\n"
        % (width, height, len(image))
        + image
        + b"\nendstream",
    ]
    return _pdf(objs)


def _pdf(objs: Sequence[bytes]) -> bytes:
    """Numbered objects (1 is the catalog), a cross-reference table and a trailer."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj".encode() + body + b"endobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer<</Size {len(objs) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def tiff_bomb(frames: Sequence[tuple[int, int]]) -> bytes:
    """A valid multi-page TIFF of white 1-bit frames, one deflate strip each (15000² is about 30 KB).

    A small first frame hides a huge later one from anything that looks at the first frame only.
    """
    out = bytearray(b"II*\x00\x00\x00\x00\x00")  # first IFD offset patched below
    link = 4  # where the offset of the next IFD goes
    for w, h in frames:
        strip = _zlib_repeat(b"\x00" * ((w + 7) // 8), h)  # WhiteIsZero: zero bits are white
        strip_at = len(out)
        out += strip
        if len(out) % 2:
            out += b"\x00"
        res_at = len(out)
        out += struct.pack("<II", 300, 1)  # 300 dpi, as a scanner writes it (RATIONAL 300/1)
        entries = [
            (256, 4, w),  # ImageWidth, LONG
            (257, 4, h),  # ImageLength
            (258, 3, 1),  # BitsPerSample, SHORT
            (259, 3, 8),  # Compression: Adobe deflate
            (262, 3, 0),  # PhotometricInterpretation: WhiteIsZero
            (273, 4, strip_at),  # StripOffsets
            (277, 3, 1),  # SamplesPerPixel
            (278, 4, h),  # RowsPerStrip
            (279, 4, len(strip)),  # StripByteCounts
            (282, 5, res_at),  # XResolution, RATIONAL (by offset)
            (283, 5, res_at),  # YResolution
            (296, 3, 2),  # ResolutionUnit: inch
        ]
        ifd_at = len(out)
        struct.pack_into("<I", out, link, ifd_at)
        out += struct.pack("<H", len(entries))
        for tag, typ, value in entries:
            packed = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
            out += struct.pack("<HHI", tag, typ, 1) + packed
        link = len(out)
        out += b"\x00\x00\x00\x00"  # no next IFD (unless another frame follows)
    return bytes(out)


def jpeg_bomb(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) claims ``width`` × ``height``: a few hundred bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (250, 250, 250)).save(buf, "JPEG", quality=90)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)  # marker, length(2), precision(1), then h, w
    return bytes(data)


def control_png() -> bytes:
    """One ordinary blank A4 page at 300 dpi: what the process costs without a bomb."""
    return png_bomb(2480, 3508)


@dataclass(frozen=True)
class Bomb:
    name: str
    what: str
    build: Callable[[], bytes]


BOMBS: list[Bomb] = [
    Bomb("control-a4.png", "an ordinary blank A4 page, 300 dpi (no bomb)", control_png),
    Bomb("png-237mp.png", "PNG 15400×15400 1-bit: 237 MP", lambda: png_bomb(15400, 15400)),
    Bomb(
        "png-rgb-119mp.png",
        "PNG 10900×10900 RGB: 119 MP, the largest colour image allowed",
        lambda: png_bomb(10900, 10900, rgb=True),
    ),
    Bomb(
        "fax-stretch.png",
        "PNG 3000×3000 at 600×20 dpi: squared to 3000×90000 = 270 MP",
        lambda: png_bomb(3000, 3000, dpi=(600, 20)),
    ),
    Bomb(
        "pdf-4x110mp.pdf",
        "PDF, 4 empty pages of 110 MP at 300 dpi",
        lambda: pdf_bomb([(side_pt(110),) * 2] * 4),
    ),
    Bomb(
        "pdf-p3-200mp.pdf",
        "PDF, 4 pages: A4, A4, 200 MP, A4",
        lambda: pdf_bomb([(595, 842), (595, 842), (side_pt(200),) * 2, (595, 842)]),
    ),
    Bomb(
        "pdf-50x100mp.pdf",
        "PDF, 50 empty pages of 100 MP (each allowed)",
        lambda: pdf_bomb([(side_pt(100),) * 2] * 50),
    ),
    Bomb(
        "pdf-a4-image-1600mp.pdf",
        "PDF, one A4 page drawing an embedded 40000×40000 1-bit image",
        lambda: pdf_image_bomb(40000, 40000),
    ),
    Bomb(
        "tiff-huge-frame.tif",
        "TIFF: A4 frame, then a 15000×15000 frame (225 MP)",
        lambda: tiff_bomb([(2480, 3508), (15000, 15000)]),
    ),
    Bomb("jpeg-225mp.jpg", "JPEG whose header claims 15000×15000 (225 MP)", lambda: jpeg_bomb(15000, 15000)),
]

#: Run in the subprocess (any checkout: only long-standing pipeline APIs are used): intake, then
#: read every document the file became; prints one JSON line.
PROBE = r"""
import json, sys
from pathlib import Path
from core.settings import load_settings
from pipeline.context import Context
from pipeline.intake import intake_file
from pipeline.reading import read_document
from records.models import DocStatus

src = Path(sys.argv[1])
ctx = Context.create(load_settings())  # DEJIRU_HOME and DEJIRU_INBOX: a fresh folder per bomb
cfg = ctx.settings
dropped = cfg.inbox / src.name
dropped.write_bytes(src.read_bytes())
r = intake_file(dropped, ctx)
out = {"intake": r.outcome, "code": r.detail if r.outcome == "quarantined" else None, "read": []}
for _ in range(100):
    todo = ctx.store.documents([DocStatus.RECEIVED], limit=1)
    if not todo:
        break
    status = read_document(todo[0].id, ctx)
    out["read"].append(str(getattr(status, "value", status)))
out["codes"] = sorted({e.code for e in ctx.store.exceptions()})
lines = [ln for f in sorted(cfg.quarantine.rglob("*.reason.txt")) for ln in f.read_text("utf-8").splitlines()]
out["reason"] = next((ln for ln in lines if ln.startswith("理由:")), None)
out["reason_en"] = next((ln for ln in lines if ln.startswith("Reason:")), None)
print("PROBE " + json.dumps(out, ensure_ascii=False))
"""


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(path: Path, code_root: Path, ceiling_mb: float) -> dict[str, Any]:
    """Intake + read ``path`` in a fresh subprocess; its peak RSS and what happened to the file."""
    with tempfile.TemporaryDirectory(prefix="dejiru-bomb-") as tmp:
        log = Path(tmp) / "out.txt"
        home = Path(tmp) / "home"
        env = {k: v for k, v in os.environ.items() if k != "DEJIRU_DATABASE_URL"} | {
            "DEJIRU_HOME": str(home),
            "DEJIRU_INBOX": str(home / "inbox"),
            "PYTHONPATH": str(code_root),
        }
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-c", PROBE, str(path)],
                cwd=code_root,
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
            killed = threading.Event()
            done = threading.Event()

            def watch() -> None:
                # A safety net for old checkouts, not the measurement: ru_maxrss below is exact.
                while not done.wait(0.02):
                    if _rss_mb(proc.pid) > ceiling_mb:
                        killed.set()
                        os.kill(proc.pid, signal.SIGKILL)
                        return

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            _, status, usage = os.wait4(proc.pid, 0)
            done.set()
            watcher.join()
            proc.returncode = os.waitstatus_to_exitcode(status)
        text = log.read_text(encoding="utf-8", errors="replace")
    row: dict[str, Any] = {"peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "exit": proc.returncode}
    probe = [ln for ln in text.splitlines() if ln.startswith("PROBE ")]
    if killed.is_set():
        row["outcome"] = f"killed at the {ceiling_mb:.0f} MB ceiling"
    elif probe:
        got = json.loads(probe[-1][len("PROBE ") :])
        row.update(got)
        if got["intake"] == "quarantined":
            row["outcome"] = f"quarantined at intake ({got['code']})"
        else:
            row["outcome"] = f"{got['intake']}, read: {', '.join(got['read']) or '-'}" + (
                f" ({', '.join(got['codes'])})" if got["codes"] else ""
            )
    else:
        row["outcome"] = f"crashed (exit {proc.returncode})"
        row["log_tail"] = text[-2000:]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("bench/out/bombs.json"))
    ap.add_argument("--ceiling-mb", type=float, default=6000.0, help="kill a subprocess above this RSS")
    ap.add_argument("--code-root", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--only", action="append", help="bomb name(s) to run (default: all)")
    args = ap.parse_args()
    code_root = args.code_root.resolve()

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dejiru-bombs-") as tmp:
        chosen = [b for b in BOMBS if not args.only or b.name in args.only]
        for bomb in progress.track(chosen, "メモリ爆弾 / memory bombs"):
            path = Path(tmp) / bomb.name
            path.write_bytes(bomb.build())
            row = {"file": bomb.name, "what": bomb.what, "bytes": path.stat().st_size}
            row |= measure(path, code_root, args.ceiling_mb)
            rows.append(row)
            print(
                f"  {bomb.name:24} {row['bytes']:>8,} B  {row['peak_rss_mb']:>8.0f} MB  {row['outcome']}",
                flush=True,
            )

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nmemory bombs through intake + read ({code_root}); this process itself peaked at {own:.0f} MB")
    wf = max([4, *(len(r["file"]) for r in rows)])
    wo = max([7, *(len(r["outcome"]) for r in rows)])
    print(f"| {'file':{wf}} | {'bytes':>9} | {'outcome':{wo}} | {'peak RSS MB':>11} |")
    print(f"|{'-' * (wf + 2)}|{'-' * 11}|{'-' * (wo + 2)}|{'-' * 13}|")
    for r in rows:
        print(f"| {r['file']:{wf}} | {r['bytes']:>9,} | {r['outcome']:{wo}} | {r['peak_rss_mb']:>11.0f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"code_root": str(code_root), "ceiling_mb": args.ceiling_mb, "bombs": rows},
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"\n→ {args.out}")


if __name__ == "__main__":
    with progress.shown():
        main()
