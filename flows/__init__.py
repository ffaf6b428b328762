"""Prefect flows: orchestration only. Each task calls one step from :mod:`pipeline`.

Prefect loads a flow by its file path and puts ``flows/`` on ``sys.path``: no module here may share a
name with a top-level package (``intake``, ``ocr``, ``records``...), or it would shadow it in workers.
"""
