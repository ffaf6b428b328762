"""Synthetic filled-in scans with ground truth: hands (fonts, KanjiVG stroke writers), people, scan defects, splits."""
