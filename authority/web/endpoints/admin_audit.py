"""``/admin/audit``: `authority audit list` over HTTP, its filters as query parameters and its
``--json`` object as the answer: ``events``, newest first, and ``next``, the ``before`` of the
next page when there is one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from authority.admin import answers, audit
from authority.web.endpoints.admin import answer, authorised, resource
from authority.web.endpoints.admin_input import Query

FILTERS = frozenset({"since", "until", "user", "client", "limit", "before"})
# Over HTTP a page holds at most this many events, so that no answer is built from more rows
# than that (the CLI streams any number).
MAX_PAGE = 1000
MAX_ID = 2**63 - 1  # an event's id is a 64-bit integer


async def list_events(request: Request) -> Response:
    call = await authorised(request)
    given = Query(request, FILTERS, repeatable=frozenset({"type"}))
    limit = given.number("limit", 1, MAX_PAGE) or audit.DEFAULT_LIMIT
    before = given.number("before", 1, MAX_ID)
    since, until = given.text("since"), given.text("until")
    types, user, client = given.texts("type"), given.text("user"), given.text("client")

    def page() -> answers.Answer:
        query = audit.query(call.admin, since, until, types, user, client)
        return answers.audit_page(audit.Listing(call.admin.storage, query, limit, before))

    return answer(await call.run(page))


ROUTES: list[BaseRoute] = [resource("/audit", "admin_audit", GET=list_events)]
