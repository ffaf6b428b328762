"""``make bench``: accuracy and speed figures on generated scans (not a test; prints and writes JSON)."""
