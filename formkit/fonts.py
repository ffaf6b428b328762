"""Japanese fonts from Debian packages (installed by ``make setup``; nothing is downloaded at run time).

Printed forms use IPA Gothic. Sample scans are filled in with printed fonts (IPA Gothic, IPA Mincho)
and handwriting-style fonts (Klee One: pencil; Seto: pen; Kiloji: longhand), so the reader is
measured on something closer to a person's hand than a laser printer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dejiru.errors import TemplateError


@dataclass(frozen=True)
class FontInfo:
    name: str
    path: Path
    group: str  # "printed" | "handwriting"
    package: str


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
    ]
}

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
def reportlab_font(name: str) -> str:
    """Register a TrueType font with reportlab once per process; returns its reportlab name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    rl_name = f"dejiru-{name}"
    pdfmetrics.registerFont(TTFont(rl_name, str(font_path(name))))
    return rl_name
