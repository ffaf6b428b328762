"""Prefect flows: orchestration only. Each task calls one step from :mod:`pipeline`."""
