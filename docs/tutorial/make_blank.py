"""The tutorial's blank form: 犬の登録申請書 (a made-up, ordinary ruled-cell municipal form).

It is drawn the way such forms usually are (a word processor's table: black ruled cells, labels on the
left, 「令和　年　月　日」 and 「オス・メス」 printed to be written into or circled), with nothing made
for machine reading: no registration marks, no comb cells, no drop-out colour. dejiru reads it as a
*legacy* form, registered against this blank PDF.

    .venv/bin/python docs/tutorial/make_blank.py            # writes docs/tutorial/inu_blank.pdf

Coordinates are millimetres from the top-left corner of the A4 page. The output is byte-for-byte
reproducible (reportlab's invariant mode), so the committed PDF only changes when this script does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_FILE = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")  # Debian fonts-ipafont-gothic
FONT = "IPAGothic"
PAGE_H = 297.0
OUT = Path(__file__).resolve().with_name("inu_blank.pdf")


class Sheet:
    """Draws in millimetres from the top-left corner."""

    def __init__(self, path: Path) -> None:
        self.c = Canvas(str(path), pagesize=A4, invariant=1)
        self.c.setTitle("犬の登録申請書")
        self.c.setAuthor("dejiru tutorial")

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.5) -> None:
        self.c.setLineWidth(width)
        self.c.line(x1 * mm, (PAGE_H - y1) * mm, x2 * mm, (PAGE_H - y2) * mm)

    def rect(self, x: float, y: float, w: float, h: float, width: float = 0.5) -> None:
        self.c.setLineWidth(width)
        self.c.rect(x * mm, (PAGE_H - y - h) * mm, w * mm, h * mm, stroke=1, fill=0)

    def text(self, x: float, y: float, s: str, size: float = 10.5, align: str = "left") -> None:
        """Text whose vertical centre is at ``y``."""
        self.c.setFont(FONT, size)
        base = (PAGE_H - y) * mm - size * 0.35
        if align == "center":
            self.c.drawCentredString(x * mm, base, s)
        elif align == "right":
            self.c.drawRightString(x * mm, base, s)
        else:
            self.c.drawString(x * mm, base, s)

    def vtext(self, x: float, y_top: float, y_bottom: float, s: str, size: float = 11) -> None:
        """Characters one under another (縦書きの見出し), centred in [y_top, y_bottom]."""
        step = size * 0.3528 * 1.6
        y = (y_top + y_bottom) / 2 - step * (len(s) - 1) / 2
        for ch in s:
            self.text(x, y, ch, size, align="center")
            y += step

    def save(self) -> None:
        self.c.showPage()
        self.c.save()


def draw(path: Path) -> None:
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
    s = Sheet(path)
    # Heading, date, addressee, the request sentence.
    s.text(105, 24, "犬 の 登 録 申 請 書", 18, align="center")
    s.text(190, 38, "令和　　　年　　　月　　　日", 10.5, align="right")
    s.text(20, 46, "（あて先）東大和市長", 10.5)
    s.text(20, 56, "狂犬病予防法第4条第1項の規定により、次のとおり犬の登録を申請します。", 10)

    # The main table: a section column, a label column and the cells to write in.
    x0, xs, xl, x1 = 20.0, 32.0, 62.0, 190.0
    rows = [  # (label, height)
        ("フリガナ", 9.0),
        ("氏名", 14.0),
        ("住所", 16.0),
        ("電話番号", 11.0),
        ("犬の名前", 13.0),
        ("生年月日", 11.0),
        ("性別", 11.0),
        ("毛色", 11.0),
    ]
    y = 64.0
    tops = []
    for label, h in rows:
        tops.append(y)
        s.line(xs, y, x1, y)
        s.text(xs + 15, y + h / 2, label, 10.5, align="center")
        y += h
    y_end = y
    owner_end = tops[4]
    s.rect(x0, tops[0], x1 - x0, y_end - tops[0], width=1.0)
    s.line(x0, owner_end, x1, owner_end, width=1.0)
    s.line(xs, tops[0], xs, y_end)
    s.line(xl, tops[0], xl, y_end)
    s.vtext(x0 + 6, tops[0], owner_end, "所有者")
    s.vtext(x0 + 6, owner_end, y_end, "犬")
    # Printed inside the cells to write in.
    born = tops[5] + 5.5
    s.text(xl + 4, born, "令和・平成", 10.5)
    s.text(xl + 52, born, "年", 10.5)
    s.text(xl + 72, born, "月", 10.5)
    s.text(xl + 92, born, "日", 10.5)
    s.text(xl + 25, tops[6] + 5.5, "オス　・　メス", 10.5, align="center")
    s.text(xl + 52, tops[6] + 8.5, "（○で囲んでください）", 7)

    # Notes, then the staff-only area.
    s.text(20, y_end + 8, "※ 犬の登録は生涯1回です。生後91日以上の犬が対象です。", 9)
    s.text(20, y_end + 14, "※ 登録手数料 3,000円（鑑札を交付します）", 9)
    yk = y_end + 26
    s.text(20, yk - 4, "職員記入欄", 9)
    widths = [("登録番号", 24.0), ("", 38.0), ("鑑札番号", 24.0), ("", 38.0), ("受付印", 46.0)]
    x = 20.0
    s.rect(20, yk, 170, 24)
    for label, w in widths:
        if x > 20:
            s.line(x, yk, x, yk + 24)
        if label:
            s.text(x + w / 2, yk + 5 if label == "受付印" else yk + 12, label, 9, align="center")
        x += w
    s.save()


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    draw(out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
