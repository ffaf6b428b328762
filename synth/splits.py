"""What may be tuned on, and what is only ever measured: the TUNE and HOLDOUT sample splits.

Why: thresholds fitted on the project's own five fonts and two scan profiles met their silent-error
target on those, and missed it eight to ten times over on handwriting, fonts, names, addresses and
defects they had never seen. A figure is only honest when it is measured on material nothing was
fitted on. So every axis a sample varies along is cut in two, here and nowhere else:

====================  ==========================================  ===========================================
axis                  TUNE (``dejiru calibrate``, any rule fitting)  HOLDOUT (the bench's headline figures only)
====================  ==========================================  ===========================================
forms                 the four other forms                         犬の登録申請書 (``inu_touroku``) is never in TUNE;
                                                                   HOLDOUT pages use it and the others
fonts                 IPA Gothic/Mincho, Klee, Seto, Kiloji,       Aoyagi Soseki, Kouzan Mouhitsu, Motoya L
                      Aoyagi Kouzan, Motoya L Maruberi             Cedar, BIZ UD Mincho
stroke writers        KanjiVG writers 0-39                         KanjiVG writers 1000-1039
named defects         rotate, shadow, perspective, grayscale,      phone_photo, heavy_jpeg, bleed_through,
                      fax, photocopy, low_dpi, stamp               strikeout
seeds                 5,000,000-5,999,999                          8,000,000-8,999,999
towns, names          one half of every Japan Post town, of the    the other half
                      wide surname and given-name lists
====================  ==========================================  ===========================================

Both splits also scan on the plain ``office`` profile: its skew, blur, noise and JPEG are what
every scanner does (``scan.BASICS``) and belong to neither. ``dejiru calibrate`` draws its pages
from TUNE and refuses HOLDOUT material (:func:`holdout_material`); ``make bench`` reports both.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from formkit.fonts import FONTS
from synth.persons import Population
from synth.scan import PROFILES


@dataclass(frozen=True)
class PageSpec:
    """One sample page of a split: everything :func:`synth.samples.make_sample` needs."""

    split: str
    seed: int
    form: str
    font: str | None
    writer: int | None
    profile: str
    dpi: int

    @property
    def hand(self) -> str:
        return f"kvg{self.writer:03d}" if self.writer is not None else str(self.font)

    @property
    def handwriting(self) -> bool:
        """Written by a synthetic writer or in a handwriting-style font (not a printed one)."""
        return self.writer is not None or FONTS[str(self.font)].group == "handwriting"


@dataclass(frozen=True)
class Split:
    name: str
    #: Forms its pages are drawn from (repeats weight a form).
    forms: tuple[str, ...]
    fonts: tuple[str, ...]
    writers: tuple[int, ...]
    #: Scan profiles its pages are drawn from (repeats weight a profile).
    profiles: tuple[str, ...]
    seeds: range
    #: Which half of the wide towns and names its applicants come from.
    half: int
    dpis: tuple[int, ...] = (300, 200)
    #: Share of pages written by a KanjiVG writer rather than a font.
    writer_share: float = 0.5

    @property
    def population(self) -> Population:
        return Population(self.name, half=self.half)

    def defects(self) -> set[str]:
        """The named scan defects its profiles can apply."""
        out: set[str] = set()
        for p in self.profiles:
            out |= PROFILES[p].named_defects()
        return out

    def page(self, i: int, first_seed: int | None = None) -> PageSpec:
        """The ``i``-th page: forms in turn (so every form is covered early), the rest drawn from a
        stream seeded by the split and ``i`` (the same page every time)."""
        start = self.seeds.start if first_seed is None else first_seed
        seed = start + i
        if seed not in self.seeds:
            raise ValueError(f"seed {seed} is outside the {self.name} split's seeds {self.seeds}")
        r = random.Random(f"split:{self.name}:{i}")
        form = self.forms[i % len(self.forms)]
        use_writer = bool(self.writers) and (not self.fonts or r.random() < self.writer_share)
        writer = r.choice(self.writers) if use_writer else None
        font = None if use_writer else r.choice(self.fonts)
        return PageSpec(self.name, seed, form, font, writer, r.choice(self.profiles), r.choice(self.dpis))

    def pages(self, n: int, first_seed: int | None = None) -> list[PageSpec]:
        return [self.page(i, first_seed) for i in range(n)]


#: Forms no threshold or rule may ever be fitted on.
HOLDOUT_ONLY_FORMS = ("inu_touroku",)

TUNE = Split(
    name="tune",
    forms=(
        "juminhyo_request",
        "inkan_request",
        "juminhyo_request",
        "health_check_hiring",
        "hihokensha_shikaku_shutoku",
    ),
    fonts=("ipag", "ipam", "klee", "seto", "kiloji", "kouzan_t", "maruberi"),
    writers=tuple(range(0, 40)),
    profiles=("office", "office", "harsh", "harsh", "fax", "copier", "lowres", "stamped"),
    seeds=range(5_000_000, 6_000_000),
    half=0,
)

HOLDOUT = Split(
    name="holdout",
    forms=(
        "inu_touroku",
        "juminhyo_request",
        "inu_touroku",
        "inkan_request",
        "health_check_hiring",
        "hihokensha_shikaku_shutoku",
    ),
    fonts=("soseki", "mouhitsu", "cedar", "bizud_mincho"),
    writers=tuple(range(1000, 1040)),
    profiles=("office", "office", "phone", "bleed", "crushed", "phone_bleed"),
    seeds=range(8_000_000, 9_000_000),
    half=1,
)

SPLITS = {s.name: s for s in (TUNE, HOLDOUT)}


def holdout_material(
    *,
    forms: list[str] | tuple[str, ...] = (),
    fonts: list[str] | tuple[str, ...] = (),
    writers: list[int] | tuple[int, ...] = (),
    profiles: list[str] | tuple[str, ...] = (),
    seeds: range | None = None,
    split: str | None = None,
) -> list[str]:
    """What of a calibration request is HOLDOUT material (empty: nothing; fitting may go ahead)."""
    found = []
    if split is not None and split != TUNE.name:
        found.append(f"split {split}")
    found += [f"form {f}" for f in forms if f in HOLDOUT_ONLY_FORMS]
    found += [f"font {f}" for f in fonts if f in HOLDOUT.fonts]
    found += [f"writer {w}" for w in writers if w in HOLDOUT.writers]
    held = HOLDOUT.defects()
    for p in profiles:
        bad = PROFILES[p].named_defects() & held if p in PROFILES else set()
        if bad:
            found.append(f"profile {p} ({', '.join(sorted(bad))})")
    if (
        seeds is not None
        and len(seeds)
        and seeds.start < HOLDOUT.seeds.stop
        and HOLDOUT.seeds.start < seeds.stop
    ):
        found.append(
            f"seeds {seeds.start}-{seeds.stop - 1} overlap {HOLDOUT.seeds.start}-{HOLDOUT.seeds.stop - 1}"
        )
    return found
