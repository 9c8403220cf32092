"""``/admin/clients``: `authority clients list|show|create|update|disable|enable|delete|
rotate-secret|set-introspection` over HTTP. A new client's secret is in the answer that creates
it, a rotated one in the answer that rotates it, once."""

from __future__ import annotations

from dataclasses import fields

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from authority.admin import answers, manage
from authority.admin.manage import GRACE
from authority.admin.provision import ClientUpdate, client_view
from authority.errors import InvalidField
from authority.settings import ConfigError
from authority.web.endpoints.admin import answer, authorised, resource
from authority.web.endpoints.admin_input import Members, members, named

CREATE = frozenset(
    {
        "name",
        "grant_types",
        "scopes",
        "default_scopes",
        "audiences",
        "access_token_alg",
        "resource_servers",
        "introspect_any",
        "redirect_uris",
        "post_logout_redirect_uris",
        "public",
        "consent",
        "refresh_cookie",
        "allowed_origins",
    }
)
# What `clients update` changes: ClientUpdate's fields, each the member of the same name.
UPDATE = frozenset(f.name for f in fields(ClientUpdate))
# An update's rules speak of the client's lists where the update adds to them.
UPDATE_ALIASES = {
    "redirect_uris": "add_redirect_uris",
    "post_logout_redirect_uris": "add_post_logout_redirect_uris",
    "allowed_origins": "add_allowed_origins",
    "audiences": "add_audiences",
}
INTROSPECTION = frozenset({"resource_servers", "introspect_any"})


async def list_clients(request: Request) -> Response:
    call = await authorised(request)
    clients = await call.run(lambda: manage.clients(call.admin))
    return answer(answers.client_list(clients))


async def create_client(request: Request) -> Response:
    call = await authorised(request)
    body = await members(request, CREATE)
    name = body.text("name", required=True) or ""
    grants = body.texts("grant_types", required=True) or []
    scope = body.texts("scopes") or []
    default_scope = body.texts("default_scopes")
    audiences = body.texts("audiences") or []
    alg = body.text("access_token_alg")
    servers = body.texts("resource_servers") or []
    introspect_any = bool(body.flag("introspect_any"))
    redirect_uris = body.texts("redirect_uris") or []
    logout_uris = body.texts("post_logout_redirect_uris") or []
    public, consent = bool(body.flag("public")), bool(body.flag("consent"))
    refresh_cookie = bool(body.flag("refresh_cookie"))
    origins = body.texts("allowed_origins") or []
    client, secret = await call.run(
        lambda: call.admin.create_client(
            name,
            grants,
            scope,
            default_scope,
            audiences,
            alg,
            servers,
            introspect_any,
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=logout_uris,
            public=public,
            consent=consent,
            refresh_cookie=refresh_cookie,
            allowed_origins=origins,
            by=call.actor,
        )
    )
    return answer(answers.client_created(client, secret), 201)


async def show_client(request: Request) -> Response:
    call = await authorised(request)
    client_id = named(request, "client_id", "client")
    client = await call.run(lambda: call.admin.client(client_id))
    return answer(client_view(client))


async def update_client(request: Request) -> Response:
    call = await authorised(request)
    client_id = named(request, "client_id", "client")
    change = _update(await members(request, UPDATE))
    client = await call.run(
        lambda: call.admin.update_client(client_id, change, call.actor), UPDATE_ALIASES
    )
    return answer(client_view(client))


def _update(body: Members) -> ClientUpdate:
    def added(name: str) -> tuple[str, ...]:
        return tuple(body.texts(name) or ())

    def replaced(name: str) -> tuple[str, ...] | None:
        values = body.texts(name)
        return None if values is None else tuple(values)

    return ClientUpdate(
        add_redirect_uris=added("add_redirect_uris"),
        remove_redirect_uris=added("remove_redirect_uris"),
        add_post_logout_redirect_uris=added("add_post_logout_redirect_uris"),
        remove_post_logout_redirect_uris=added("remove_post_logout_redirect_uris"),
        consent=body.flag("consent"),
        add_allowed_origins=added("add_allowed_origins"),
        remove_allowed_origins=added("remove_allowed_origins"),
        refresh_cookie=body.flag("refresh_cookie"),
        name=body.text("name"),
        grant_types=replaced("grant_types"),
        scopes=replaced("scopes"),
        default_scopes=replaced("default_scopes"),
        add_audiences=added("add_audiences"),
        remove_audiences=added("remove_audiences"),
    )


async def disable_client(request: Request) -> Response:
    return await _switch(request, disabled=True)


async def enable_client(request: Request) -> Response:
    return await _switch(request, disabled=False)


async def _switch(request: Request, disabled: bool) -> Response:
    call = await authorised(request)
    client_id = named(request, "client_id", "client")
    await members(request)  # none: an empty body or {}
    now = call.now()
    client = await call.run(
        lambda: manage.set_client_disabled(call.admin, client_id, disabled, now, call.actor)
    )
    return answer(client_view(client))


async def delete_client(request: Request) -> Response:
    call = await authorised(request)
    client_id = named(request, "client_id", "client")
    now = call.now()
    await call.run(lambda: manage.delete_client(call.admin, client_id, now, call.actor))
    return answer(answers.client_deleted(client_id))


async def rotate_client_secret(request: Request) -> Response:
    call = await authorised(request)
    client_id = named(request, "client_id", "client")
    grace = _grace(await members(request, frozenset({"grace"})))
    now = call.now()
    client, secret = await call.run(
        lambda: manage.rotate_secret(call.admin, client_id, grace, now, call.actor)
    )
    return answer(answers.client_with_secret(client, secret))


def _grace(body: Members) -> int:
    """How long the old secret keeps working: seconds, or a duration as the CLI's --grace
    takes it ("24h")."""
    value = body.raw("grace")
    if value is None:
        return int(GRACE.default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidField("grace must be a number of seconds or a duration such as 24h", "grace")
    try:
        seconds = GRACE.parse(str(value))
    except ConfigError:
        low, high = GRACE.bounds or (0, 0)
        raise InvalidField(
            f"grace must be {low} to {high} seconds, or a duration such as 24h", "grace"
        ) from None
    assert isinstance(seconds, int)
    return seconds


async def set_introspection(request: Request) -> Response:
    call = await authorised(request)
    client_id = named(request, "client_id", "client")
    body = await members(request, INTROSPECTION)
    servers = body.texts("resource_servers") or []
    introspect_any = bool(body.flag("introspect_any"))
    client = await call.run(
        lambda: call.admin.set_introspection(client_id, servers, introspect_any, call.actor)
    )
    return answer(client_view(client))


CLIENT = "/clients/{client_id}"
ROUTES: list[BaseRoute] = [
    resource("/clients", "admin_clients", GET=list_clients, POST=create_client),
    resource(CLIENT, "admin_client", GET=show_client, PATCH=update_client, DELETE=delete_client),
    resource(f"{CLIENT}/disable", "admin_disable_client", POST=disable_client),
    resource(f"{CLIENT}/enable", "admin_enable_client", POST=enable_client),
    resource(f"{CLIENT}/rotate-secret", "admin_rotate_client_secret", POST=rotate_client_secret),
    resource(f"{CLIENT}/introspection", "admin_client_introspection", PUT=set_introspection),
]
