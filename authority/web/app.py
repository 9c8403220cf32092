"""The ASGI application: routes, lifespan and the exception handlers that render every error."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

from authority.admin.provision import Admin
from authority.credentials.throttle import REDIS_OUTAGE_ERRORS
from authority.errors import OAuthError, ServerError, TemporarilyUnavailable
from authority.runtime import Authority
from authority.settings import Settings
from authority.storage.engine import OUTAGE_ERRORS
from authority.storage.sql import SqlStorage
from authority.web.access_log import AccessLog
from authority.web.context import RequestContextMiddleware
from authority.web.cors import ClientCors
from authority.web.edge import Edge
from authority.web.endpoints import admin_audit, admin_clients, admin_keys, admin_users
from authority.web.endpoints.accounts import (
    AccountEndpoints,
    change_password,
    confirm_reset,
    forgot_page,
    register,
    register_page,
    request_reset,
    resend_page,
    resend_verification,
    reset_page,
    verify_email,
    verify_page,
)
from authority.web.endpoints.admin import AdminApi, AdminEndpoints
from authority.web.endpoints.authorize import AuthorizeEndpoint, authorize
from authority.web.endpoints.consents import (
    ConsentEndpoints,
    list_consents,
    withdraw_consent,
)
from authority.web.endpoints.discovery import DiscoveryEndpoint, discovery
from authority.web.endpoints.health import Readiness, healthz, readyz
from authority.web.endpoints.introspection import IntrospectionEndpoint, introspect
from authority.web.endpoints.jwks import JwksEndpoint, jwks
from authority.web.endpoints.logout import LogoutEndpoint
from authority.web.endpoints.logout import end_session as logout
from authority.web.endpoints.revocation import RevocationEndpoint, revoke
from authority.web.endpoints.sessions import (
    SessionEndpoints,
    end_all_sessions,
    end_session,
    list_sessions,
)
from authority.web.endpoints.token import TokenEndpoint, token
from authority.web.endpoints.userinfo import UserinfoEndpoint, userinfo
from authority.web.metrics import MetricsEndpoint, RequestMetrics, metrics, start_metrics
from authority.web.openapi import OpenApiEndpoint, openapi_json
from authority.web.outages import Outages, outage_kind
from authority.web.pages import Pages
from authority.web.refresh_cookie import RefreshCookies
from authority.web.responses import (
    browser_or_none,
    error_response,
    http_error_response,
    no_icon,
    stylesheet,
)

log = logging.getLogger("authority")
# How often key maintenance looks, in memory, whether it has work: a failed reload to retry
# or a scheduled promotion that is due.
TICK_SECONDS = 1.0

ROUTES = [
    Route("/authorize", authorize, methods=["GET", "POST"], name="authorize"),
    Route("/token", token, methods=["POST"], name="token"),
    Route("/revoke", revoke, methods=["POST"], name="revocation"),
    Route("/introspect", introspect, methods=["POST"], name="introspection"),
    Route("/sessions", list_sessions, methods=["GET"], name="sessions"),
    Route("/sessions", end_all_sessions, methods=["DELETE"], name="end_all_sessions"),
    Route("/sessions/{session_id}", end_session, methods=["DELETE"], name="end_one_session"),
    Route("/consents", list_consents, methods=["GET"], name="consents"),
    Route("/consents/{client_id}", withdraw_consent, methods=["DELETE"], name="withdraw_consent"),
    Route("/userinfo", userinfo, methods=["GET", "POST"], name="userinfo"),
    Route("/accounts/register", register_page, methods=["GET"], name="register_page"),
    Route("/accounts/register", register, methods=["POST"], name="register"),
    Route("/accounts/verify-email", verify_page, methods=["GET"], name="verify_page"),
    Route("/accounts/verify-email", verify_email, methods=["POST"], name="verify_email"),
    Route("/accounts/verify-email/resend", resend_page, methods=["GET"], name="resend_page"),
    Route(
        "/accounts/verify-email/resend",
        resend_verification,
        methods=["POST"],
        name="resend_verification",
    ),
    Route("/accounts/password/reset", reset_page, methods=["GET"], name="reset_page"),
    Route("/accounts/password/forgot", forgot_page, methods=["GET"], name="forgot_page"),
    Route("/accounts/password/reset", request_reset, methods=["POST"], name="request_reset"),
    Route(
        "/accounts/password/reset/confirm", confirm_reset, methods=["POST"], name="confirm_reset"
    ),
    Route("/accounts/password/change", change_password, methods=["POST"], name="change_password"),
    Route("/logout", logout, methods=["GET", "POST"], name="end_session"),
    Route("/jwks.json", jwks, methods=["GET"], name="jwks"),
    Route("/.well-known/openid-configuration", discovery, methods=["GET"], name="openid"),
    Route("/.well-known/oauth-authorization-server", discovery, methods=["GET"], name="oauth"),
    Route("/openapi.json", openapi_json, methods=["GET"], name="openapi"),
    Route("/assets/authority.css", stylesheet, methods=["GET"], name="stylesheet"),
    Route("/favicon.ico", no_icon, methods=["GET"], name="favicon"),
    Route("/healthz", healthz, methods=["GET"], name="healthz"),
    Route("/readyz", readyz, methods=["GET"], name="readyz"),
    Route("/metrics", metrics, methods=["GET"], name="metrics"),
    # AUTHORITY_ADMIN_API: off, every path under /admin is a 404.
    Mount(
        "/admin",
        app=AdminApi(
            [*admin_clients.ROUTES, *admin_users.ROUTES, *admin_keys.ROUTES, *admin_audit.ROUTES]
        ),
        name="admin",
    ),
]
# CORS (authority.web.cors): what browser apps call, for their clients' origins; the public
# documents, for any origin.
CORS_ROUTES = (
    "token",
    "revocation",
    "end_session",
    "userinfo",
    "sessions",
    "end_all_sessions",
    "end_one_session",
)
PUBLIC_ROUTES = ("jwks", "openid", "oauth", "openapi")


def _paths(names: tuple[str, ...]) -> list[re.Pattern[str]]:
    return [r.path_regex for r in ROUTES if isinstance(r, Route) and r.name in names]


async def _oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    return error_response(exc, browser_or_none(request))


def _allowed(routes: list[BaseRoute], scope: Scope) -> set[str]:
    """The methods of every route whose path matches the request's."""
    methods: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            methods |= _allowed(route.routes, {**scope, **child})
        elif isinstance(route, Route):
            methods |= route.methods or set()
    return methods


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        # RFC 9110 §15.5.6: Allow lists every method the resource has. Starlette names those
        # of the first route that matched the path, and a path here has a route per method.
        # A mount the request went through has moved the (shared) scope's root_path to
        # itself: match from the app's root again.
        scope = request.scope
        root = {**scope, "root_path": scope.get("app_root_path", scope.get("root_path", ""))}
        allow = ", ".join(sorted(_allowed(request.app.routes, root)))
        exc = HTTPException(405, exc.detail, {**(exc.headers or {}), "Allow": allow})
    return http_error_response(exc)


_OUTAGES = (TemporarilyUnavailable, *OUTAGE_ERRORS, *REDIS_OUTAGE_ERRORS)


async def _outage(request: Request, exc: Exception) -> Response:
    """503, the client may retry; one line in the log (rate-limited), no traceback."""
    outages: Outages = request.app.state.outages
    outages.record(outage_kind(exc), f"{request.method} {request.url.path}")
    # Our own 503s say why (a deadline, a busy estimator); a driver's error text never
    # reaches the client.
    error = exc if isinstance(exc, TemporarilyUnavailable) else TemporarilyUnavailable()
    return error_response(error, browser_or_none(request))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s", request.url.path, exc_info=exc)
    response = error_response(ServerError(), browser_or_none(request))
    # What broke may have left the request half read: the client must not reuse this
    # connection, and uvicorn closes it once the answer is sent.
    response.headers["Connection"] = "close"
    return response


def endpoints(authority: Authority, outages: Outages) -> dict[type, object]:
    """What each endpoint module uses of the runtime, keyed by the class it declares it in
    (``authority.web.edge.needs``)."""
    settings = authority.settings
    edge = Edge(authority.now, settings.database_timeout, settings.trusted_proxy_header)
    cookies = RefreshCookies(settings.issuer, settings.refresh_token_ttl)
    views: list[object] = [
        TokenEndpoint(
            edge, authority.grants, authority.clients, authority.limiters, cookies, authority.events
        ),
        IntrospectionEndpoint(
            edge, authority.clients, authority.introspector, authority.limiters["introspection"]
        ),
        RevocationEndpoint(edge, authority.clients, authority.revoker, cookies),
        SessionEndpoints(edge, authority.sessions, cookies),
        UserinfoEndpoint(edge, authority.sessions),
        AccountEndpoints(
            edge, authority.accounts, authority.sessions, settings.password_min_length
        ),
        AuthorizeEndpoint(
            edge,
            authority.authorizer,
            authority.browser,
            authority.password_login,
            authority.limiters["password"],
            settings.issuer,
            registration_open=settings.registration == "open",
            password_reset=settings.email_url != "console:",
        ),
        DiscoveryEndpoint(
            settings.issuer,
            authority.grants.grant_types,
            settings.id_token_alg,
            authority.keys,
            authority.public_scopes,
        ),
        JwksEndpoint(authority.keys, settings.jwks_max_age),
        OpenApiEndpoint.build(settings.issuer, cookies.name),
        ConsentEndpoints(edge, authority.sessions, authority.consents),
        LogoutEndpoint(
            edge,
            settings.issuer,
            authority.logouts,
            authority.browser,
            authority.sessions,
            cookies,
            authority.origins,
        ),
        Readiness(
            edge,
            authority.storage.schema_problem,
            authority.keys,
            settings.access_token_alg,
            outages,
        ),
        MetricsEndpoint.of(edge, authority),
    ]
    if settings.admin_api:
        # Its changes go to the server's events, so the server's audit writer keeps them.
        admin = Admin(settings, authority.storage, authority.events)
        views.append(AdminEndpoints(edge, authority.admin_tokens, admin))
    return {type(view): view for view in views}


async def _maintain_keys(authority: Authority) -> None:
    """Rotate when due, prune, and reload the keys every reload period: the fallback that
    bounds how long a replica signs with a key another process retired when it is not told
    (``Authority.watch_changes``). A promotion an operator scheduled runs within a second of
    its time. A failed reload is retried every second (nothing else is), so the keys are
    confirmed again soon after the database is back."""
    loop = asyncio.get_running_loop()
    period = authority.settings.key_reload_seconds
    due = loop.time() + period
    tried: dict[str, int] = {}  # scheduled promotions attempted: once, then by period
    while True:
        await asyncio.sleep(max(min(due - loop.time(), TICK_SECONDS), 0))
        try:
            now = authority.now()
            promote = {
                alg: at
                for alg, at in authority.keys.published.promotions.items()
                if at <= now and tried.get(alg) != at
            }
            tried.update(promote)
            if promote or loop.time() >= due:
                due = loop.time() + period
                await run_in_threadpool(authority.maintain_keys)
            elif authority.keys.failing:
                await run_in_threadpool(authority.keys.try_reload)
        except Exception as exc:  # each step guards itself; this keeps the task alive
            log.error("key maintenance failed: %s", type(exc).__name__)


async def _housekeep(authority: Authority) -> None:
    """Purge what has expired, every reload period, on its own task: a slow purge never
    delays a key reload."""
    period = authority.settings.key_reload_seconds
    while True:
        await asyncio.sleep(period)
        try:
            await run_in_threadpool(authority.housekeep)
        except Exception as exc:  # each step guards itself; this keeps the task alive
            log.error("housekeeping failed: %s", type(exc).__name__)


def create_app(settings: Settings | None = None, authority: Authority | None = None) -> Starlette:
    """Build the app; with no arguments, from ``AUTHORITY_*`` (uvicorn --factory)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = app.state.authority is None
        if owned:
            config = settings or Settings.from_env()
            app.state.authority = Authority(
                config, SqlStorage.from_url(config.database_url, config.database_timeout)
            )
        authority: Authority = app.state.authority
        app.state.pages = Pages(authority.settings.templates_dir)
        app.state.pages.check()
        app.state.endpoints = endpoints(authority, app.state.outages)
        jobs = [
            asyncio.create_task(_maintain_keys(authority)),
            asyncio.create_task(_housekeep(authority)),
            *start_metrics(app, authority),
        ]
        if authority.audit is not None:
            authority.audit.start()
        # Changes made by other processes (the CLI, other replicas), applied within a second
        # by a thread of its own: its waits and reloads never run on the event loop.
        changes = authority.watch_changes()
        changes.start()
        # Serving starts once watching has (or has failed, in one line): nothing is missed
        # between the keys loaded above and the watch.
        await run_in_threadpool(changes.started.wait, authority.settings.database_timeout)
        try:
            yield
        finally:
            for job in jobs:
                job.cancel()
            await run_in_threadpool(changes.stop)
            if owned:
                await run_in_threadpool(authority.close)  # writes what the audit trail holds
            elif authority.audit is not None:
                await run_in_threadpool(authority.audit.close)

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestMetrics),  # outermost: its latency is the whole request's
            Middleware(RequestContextMiddleware),
            Middleware(AccessLog),
            Middleware(ClientCors, paths=_paths(CORS_ROUTES), public=_paths(PUBLIC_ROUTES)),
        ],
        exception_handlers={
            OAuthError: _oauth_error,
            HTTPException: _http_error,
            **dict.fromkeys(
                (TemporarilyUnavailable, *OUTAGE_ERRORS, *REDIS_OUTAGE_ERRORS), _outage
            ),
            Exception: _unexpected,
        },
    )
    app.state.authority = authority
    app.state.outages = Outages(log)
    return app
