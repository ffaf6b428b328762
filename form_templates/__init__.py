"""Form templates: one folder per form (``template.yaml``, the printable ``form.pdf``, samples).

This package is data; :mod:`formkit.registry` loads it.
"""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent
