"""The attacks the test suite performs, read from ``tests/security`` (not written by hand).

    python -m scripts.attacks            # print the list (Markdown)
    python -m scripts.attacks --write    # put it into docs/security.md between its markers

Each module of ``tests/security`` is one surface (its docstring's first paragraph names it); each test's
docstring is one line saying what was tried. ``tests/security/test_catalogue.py`` checks that
docs/security.md shows the list the suite really has.
"""

from __future__ import annotations

import ast

from scripts.generated import REPO, Block

SUITE = REPO / "tests" / "security"


def catalogue() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(module, its first docstring line, [(test name, its docstring)]) for every security module."""
    out = []
    for path in sorted(SUITE.glob("test_*.py")):
        if path.name == "test_catalogue.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        about = (ast.get_docstring(tree) or "").strip().split("\n\n")[0].replace("\n", " ")
        tests = [
            (node.name, " ".join((ast.get_docstring(node) or "").split()).removeprefix("Attack: "))
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        ]
        out.append((path.name, about, tests))
    return out


def markdown() -> str:
    lines = []
    total = 0
    for module, about, tests in catalogue():
        lines.append(f"- **`tests/security/{module}`** — {about}")
        for name, doc in tests:
            lines.append(f"  - {doc or name} (`{name}`)")
        total += len(tests)
    lines.append("")
    lines.append(f"{total} attacks in {len(catalogue())} modules.")
    return "\n".join(lines)


BLOCK = Block(REPO / "docs" / "security.md", "attacks", "scripts.attacks", markdown)
current = BLOCK.current

if __name__ == "__main__":
    BLOCK.main(__doc__)
