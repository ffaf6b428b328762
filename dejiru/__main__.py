"""``python -m dejiru``: the same command as ``dejiru``, for a machine where the script is not on PATH
(a virtual environment not activated, a scheduled task that names the interpreter)."""

from dejiru.cli import app

if __name__ == "__main__":
    app()
