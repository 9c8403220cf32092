"""``/admin/keys``: `authority keys list|generate|rotate` over HTTP, the emergency rotation
(`--now --revoke-current`) included. No private key is ever answered."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from authority.admin import answers, keys
from authority.web.endpoints.admin import answer, authorised, resource
from authority.web.endpoints.admin_input import members

ROTATE = frozenset({"alg", "force", "now", "revoke_current"})


async def list_keys(request: Request) -> Response:
    call = await authorised(request)
    stored = await call.run(lambda: keys.listing(call.admin))
    return answer(answers.key_list(stored))


async def generate_key(request: Request) -> Response:
    """Publish a next key for an algorithm (it signs once a rotation promotes it)."""
    call = await authorised(request)
    body = await members(request, frozenset({"alg"}))
    alg = body.text("alg", required=True) or ""
    key = await call.run(lambda: keys.generate(call.admin, alg, call.actor))
    return answer(keys.key_view(key), 201)


async def rotate_keys(request: Request) -> Response:
    """next -> active, active -> retired, a new next key; ``now`` promotes at once (an
    emergency), ``revoke_current`` with it takes the compromised key out of the JWKS."""
    call = await authorised(request)
    body = await members(request, ROTATE)
    alg = body.text("alg")
    force, now_ = bool(body.flag("force")), bool(body.flag("now"))
    revoke = bool(body.flag("revoke_current"))
    reports = await call.run(lambda: keys.rotate(call.admin, alg, force, now_, revoke, call.actor))
    return answer(answers.rotations(reports))


ROUTES: list[BaseRoute] = [
    resource("/keys", "admin_keys", GET=list_keys, POST=generate_key),
    resource("/keys/rotate", "admin_rotate_keys", POST=rotate_keys),
]
