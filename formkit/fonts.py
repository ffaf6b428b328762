"""Japanese fonts from Debian packages (installed by ``make setup``; nothing is downloaded at run time).

Printed forms use IPA Gothic. Sample scans are filled in with printed fonts (IPA Gothic, IPA Mincho)
and handwriting-style fonts (Klee One: pencil; Seto: pen; Kiloji: longhand), so the reader is
measured on something closer to a person's hand than a laser printer. Those five are the classic
sample fonts (``SAMPLE_FONTS``). More fonts widen what calibration sees and what the bench measures
on without ever having tuned on it (:mod:`synth.splits`): brush and old-pen hands (Aoyagi Kouzan,
Aoyagi Soseki, Kouzan Mouhitsu) and other printed designs (Motoya L Maruberi and Cedar, BIZ UD
Mincho). The bench-only ones are installed by ``make bench`` (``DEJIRU_SETUP_BENCH=1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from core.errors import TemplateError


@dataclass(frozen=True)
class FontInfo:
    name: str
    path: Path
    group: str  # "printed" | "handwriting"
    package: str
    #: Installed by `make bench` only (DEJIRU_SETUP_BENCH=1): HOLDOUT material, never needed to run.
    bench_only: bool = False


FONTS: dict[str, FontInfo] = {
    f.name: f
    for f in [
        FontInfo(
            "ipag",
            Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
            "printed",
            "fonts-ipafont-gothic",
        ),
        FontInfo(
            "ipam",
            Path("/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf"),
            "printed",
            "fonts-ipafont-mincho",
        ),
        FontInfo(
            "klee", Path("/usr/share/fonts/truetype/klee/KleeOne-Regular.ttf"), "handwriting", "fonts-klee"
        ),
        FontInfo("seto", Path("/usr/share/fonts/truetype/seto/setofont.ttf"), "handwriting", "fonts-seto"),
        FontInfo(
            "kiloji", Path("/usr/share/fonts/truetype/kiloji/kiloji.ttf"), "handwriting", "fonts-kiloji"
        ),
        # Calibration material (synth.splits.TUNE): installed by `make setup`.
        FontInfo(
            "kouzan_t",
            Path("/usr/share/fonts/truetype/aoyagi-kouzan-t/AoyagiKouzanT.ttf"),
            "handwriting",
            "fonts-aoyagi-kouzan-t",
        ),
        FontInfo(
            "maruberi",
            Path("/usr/share/fonts/truetype/motoya-l-maruberi/MTLmr3m.ttf"),
            "printed",
            "fonts-motoya-l-maruberi",
        ),
        # Never tuned on (synth.splits.HOLDOUT): installed by `make bench`.
        FontInfo(
            "soseki",
            Path("/usr/share/fonts/truetype/aoyagi-soseki/aoyagi-soseki.ttf"),
            "handwriting",
            "fonts-aoyagi-soseki",
            bench_only=True,
        ),
        FontInfo(
            "mouhitsu",
            Path("/usr/share/fonts/truetype/kouzan-mouhitsu/kouzan-mouhitsu.ttf"),
            "handwriting",
            "fonts-kouzan-mouhitsu",
            bench_only=True,
        ),
        FontInfo(
            "cedar",
            Path("/usr/share/fonts/truetype/motoya-l-cedar/MTLc3m.ttf"),
            "printed",
            "fonts-motoya-l-cedar",
            bench_only=True,
        ),
        FontInfo(
            "bizud_mincho",
            Path("/usr/share/fonts/truetype/bizud-mincho/BIZUDMincho-Regular.ttf"),
            "printed",
            "fonts-morisawa-bizud-mincho",
            bench_only=True,
        ),
    ]
}

#: The five fonts samples were always filled in with: what a sample gets when no font is asked for
#: (demo, tests), so that adding fonts above leaves every existing sample as it was.
SAMPLE_FONTS = ("ipag", "ipam", "kiloji", "klee", "seto")

#: The font forms are printed in.
FORM_FONT = "ipag"


def font_path(name: str) -> Path:
    """The font file, or a clear error naming the Debian package that provides it."""
    info = FONTS.get(name)
    if info is None:
        raise TemplateError(f"フォント {name} は登録されていません", f"unknown font {name}")
    if not info.path.exists():
        raise TemplateError(
            f"フォント {name} が見つかりません。`make setup` でパッケージ {info.package} を入れてください",
            f"font {name} missing: run `make setup` (Debian package {info.package})",
            detail=str(info.path),
        )
    return info.path


@cache
def _glyphs(name: str) -> tuple[dict[int, int], list[int]]:
    from reportlab.pdfbase.ttfonts import TTFontFile

    f = TTFontFile(str(font_path(name)))
    return dict(f.charToGlyph), list(f.glyphPos)


@cache
def has_glyph(name: str, ch: str) -> bool:
    """Whether the font really draws ``ch``: mapped, and with an outline (some handwriting fonts map
    髙 or 邉 to an empty glyph, which would leave a blank where the reader expects ink)."""
    cmap, pos = _glyphs(name)
    g = cmap.get(ord(ch)) if len(ch) == 1 else None
    return g is not None and g + 1 < len(pos) and pos[g + 1] > pos[g]


@cache
def reportlab_font(name: str) -> str:
    """Register a TrueType font with reportlab once per process; returns its reportlab name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    rl_name = f"dejiru-{name}"
    pdfmetrics.registerFont(TTFont(rl_name, str(font_path(name))))
    return rl_name
