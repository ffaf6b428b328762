"""The README's table of settings, made from ``core.settings.Settings`` (not written by hand).

    python -m scripts.settings_table            # print the table (Markdown)
    python -m scripts.settings_table --write    # put it into README.md between its markers

``tests/test_settings.py`` checks that README.md shows the table the code really has.
"""

from __future__ import annotations

from core.settings import markdown_table
from scripts.generated import REPO, Block

BLOCK = Block(REPO / "README.md", "settings", "scripts.settings_table", markdown_table)
current = BLOCK.current

if __name__ == "__main__":
    BLOCK.main(__doc__)
