"""The table of field kinds in docs/architecture.md, made from ``formkit.kinds.KINDS`` (not by hand).

    python -m scripts.kinds_table            # print the table (Markdown)
    python -m scripts.kinds_table --write    # put it into docs/architecture.md between its markers

``tests/test_kinds.py`` checks that the document shows the table the code really has.
"""

from __future__ import annotations

from formkit.kinds import KINDS, FieldKind
from scripts.generated import REPO, Block

_FLAGS = ("spaced", "person_name", "count_marks", "address", "digits_compare")


def _row(k: FieldKind) -> str:
    flags = [f for f in _FLAGS if getattr(k, f)] + ([] if k.keyed else ["not keyed"])
    cells = [
        f"`{k.name}`",
        f"{k.ja} / {k.en}",
        k.shape.value,
        k.value.value,
        k.comb.value if k.comb else "",
        k.normaliser or "",
        ", ".join(k.checks),
        f"{k.threshold:.2f}",
        k.sample,
        k.watch.value if k.watch else "",
        ", ".join(flags),
    ]
    return "| " + " | ".join(cells) + " |"


def markdown() -> str:
    head = "| kind | 名前 / name | shape | value | comb | normaliser | checks | threshold | sample | watch | traits |"
    rule = "|" + "---|" * head.count(" | ") + "---|"
    return "\n".join([head, rule, *(_row(k) for k in KINDS.values())])


BLOCK = Block(REPO / "docs" / "architecture.md", "kinds", "scripts.kinds_table", markdown)
current = BLOCK.current

if __name__ == "__main__":
    BLOCK.main(__doc__)
