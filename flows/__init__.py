"""Prefect flows: orchestration only. Each task calls one step from :mod:`pipeline`.

Prefect loads a flow by its file path and puts ``flows/`` on ``sys.path``: no module here may share a
name with a top-level package (``intake``, ``ocr``, ``records``...), or it would shadow it in workers.
"""

# A worker started without dejiru's logging configuration still masks personal data in what the flows
# log (Prefect's API handler ships it to its database): the flows are imported before they run.
from core.logs import mask_handlers

mask_handlers("prefect", "prefect.flow_runs", "prefect.task_runs", "prefect.extra", "prefect.workers")
