"""The introspection endpoint (RFC 7662 §2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authority.runtime import Authority
from authority.web.requests import authenticate_client, read_form
from authority.web.responses import no_store
from authority.web.threads import in_thread, limiter

# Threads for the lookups at once. More only contend with the event loop for the GIL: on
# one core, 32 connections ran at about 60 % of the throughput with the shared limiter
# (up to 40 threads) than with 8, which still overlap the database's round trips.
MAX_THREADS = 8


async def introspect(request: Request) -> Response:
    authority: Authority = request.app.state.authority
    params = await read_form(request)
    client = await authenticate_client(request, params, authority)
    token = params.required("token")
    params.one("token_type_hint")  # a hint only (§2.1)
    now = authority.now()
    # The signature check stays on the event loop: in a thread its CPU work held the GIL
    # against the loop, at a third of the throughput. Only the storage lookup goes to one.
    claims = authority.introspector.access_claims(token, now)
    answer = authority.introspector.answer
    threads = limiter(authority, "introspection", MAX_THREADS)
    return no_store(await in_thread(authority, answer, token, claims, client, now, limiter=threads))
