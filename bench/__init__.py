"""``make bench``: accuracy and speed figures on generated scans (not a test; prints and writes JSON)."""

import os

# Samples are dated "today": pin the day so a figure means the same pages whatever the calendar says
# (``DEJIRU_TODAY`` set by hand still wins).
os.environ.setdefault("DEJIRU_TODAY", "2026-11-24")
