"""Attacks dejiru withstands, one module per surface: each test performs the attack for real (a real
browser for script execution, real HTTP, real files in the inbox) and asserts that it fails."""
