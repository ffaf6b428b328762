"""The review UI's routes, one ``APIRouter`` per part of the work. Access is declared by each route's
dependencies (review/web.py); ``create_app`` includes these routers in this order."""

from __future__ import annotations

from fastapi import APIRouter

from review.routes import (
    account,
    admin,
    audit,
    checks,
    counter,
    documents,
    evidence,
    exceptions,
    health,
    intake_status,
    online,
    reports,
    template_editor,
)

ROUTERS: tuple[APIRouter, ...] = (
    account.router,
    health.router,
    documents.router,
    checks.router,
    reports.router,
    exceptions.router,
    evidence.router,
    audit.router,
    admin.router,
    template_editor.router,
    counter.router,
    online.router,
    intake_status.router,
)
