"""Liveness and readiness probes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from authority.errors import TemporarilyUnavailable
from authority.keys import KeyStoreError
from authority.runtime import LoadedKeys
from authority.storage.engine import DatabaseError
from authority.web.edge import Edge, needs
from authority.web.outages import Outages, outage_kind
from authority.web.responses import json_response


@dataclass(frozen=True)
class Readiness:
    edge: Edge
    schema_problem: Callable[[], str | None]  # reads storage
    keys: LoadedKeys
    access_token_alg: str  # a key of it must be loaded
    outages: Outages


async def healthz(request: Request) -> Response:
    """The process is up and serving: no database, no thread, whatever their state."""
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> Response:
    """The database answers, its schema is the one this release expects (every table there,
    at the migration head), and a signing key is loaded: safe to route traffic here."""
    readiness = needs(request, Readiness)
    outages = readiness.outages
    checks = {"database": "ok", "signing_key": "ok"}
    try:
        problem = await readiness.edge.in_thread(readiness.schema_problem)
    except (TemporarilyUnavailable, DatabaseError) as exc:
        outages.record(outage_kind(exc), "GET /readyz")
        checks["database"] = "unreachable"
    else:
        if problem is not None:
            outages.record(problem, "GET /readyz")
            checks["database"] = problem
    try:
        readiness.keys.published.active(readiness.access_token_alg)
    except KeyStoreError:
        checks["signing_key"] = "missing"
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return json_response(body, 200 if ready else 503, {"Cache-Control": "no-store"})
