"""Tools for DX leaders who author forms: template proposal from a scan, lint, the template try report."""
