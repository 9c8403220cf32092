"""The commands: serve, init, clients, users, keys, prune (and audit: ``cli.audit``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any

from authority.admin import answers
from authority.admin import keys as signing_keys
from authority.admin import manage as changes
from authority.admin.bootstrap import prepare
from authority.admin.errors import AdminError
from authority.admin.keys import key_view
from authority.admin.provision import (
    Admin,
    ClientUpdate,
    client_view,
    consent_view,
    user_view,
)
from authority.cli import import_users, manage
from authority.cli.environment import looked_at, masked_url
from authority.cli.output import emit, fields, read_password, table, when, words
from authority.keys.lifecycle import RotationReport, Scheduled
from authority.runtime import check_start
from authority.settings import ConfigError, Settings, is_loopback

# -- serve / init ---------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {}
    if not os.environ.get("AUTHORITY_ISSUER"):
        host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host  # noqa: S104
        overrides["issuer"] = f"http://{host}:{args.port}"
    # The workers get these settings with the server's configuration, not from os.environ.
    settings = Settings.from_env(None, **overrides)
    check_start(settings)  # a bad AUTHORITY_EMAIL_URL, hook or scope stops here, in one line
    if settings.metrics and settings.metrics_port == args.port:
        raise ConfigError(
            f"AUTHORITY_METRICS_PORT={args.port} is the server's own port (--port): the metrics "
            "listener needs a port of its own"
        )
    if "issuer" in overrides:
        _note(
            settings,
            f"AUTHORITY_ISSUER is not set; the issuer is {settings.issuer} "
            "(from --host and --port): set it to the URL clients reach",
        )
    if args.verbose:
        _note(settings, looked_at(settings), logging.INFO)
    created = prepare(settings)
    logging.getLogger("authority").info(
        "issuer %s; created: %s", settings.issuer, ", ".join(created) or "nothing"
    )
    if not is_loopback(args.host) and settings.issuer.startswith("http://"):
        logging.getLogger("authority").warning(
            "listening on %s with a loopback issuer; set AUTHORITY_ISSUER to the public URL",
            args.host,
        )
    if args.json:
        started = {
            "issuer": settings.issuer,
            "database": masked_url(settings.database_url),
            "keys_dir": str(settings.keys_dir),
            "host": args.host,
            "port": args.port,
            "workers": args.workers,
            "created": created,
        }
        print(json.dumps(started, separators=(",", ":")), flush=True)
    from authority.web import server as http_server

    http_server.run(settings, args.host, args.port, args.workers, args.access_log)
    return 0


def _note(settings: Settings, text: str, level: int = logging.WARNING) -> None:
    """A line of serve's on stderr; with AUTHORITY_LOG_FORMAT=json a log record, so that
    every line the server writes is JSON."""
    if settings.log_format == "json":
        logging.getLogger("authority").log(level, "%s", text)
    else:
        print(f"authority: {text}", file=sys.stderr)


def cmd_init(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.verbose:
        print(f"authority: {looked_at(settings)}", file=sys.stderr)
    created = prepare(settings)
    args.database_used = masked_url(settings.database_url)
    emit(args, {"created": created}, "created: " + (", ".join(created) or "nothing (ready)"))
    return 0


# -- clients --------------------------------------------------------------------------------


def cmd_clients(args: argparse.Namespace, admin: Admin) -> int:
    if args.action == "create":
        client, secret = admin.create_client(
            args.name,
            words(args.grant),
            words(args.scope),
            words(args.default_scope) if args.default_scope is not None else None,
            args.audience or [],
            args.alg,
            args.resource_server or [],
            args.introspect_any,
            redirect_uris=args.redirect_uri or [],
            post_logout_redirect_uris=args.post_logout_redirect_uri or [],
            public=args.public,
            consent=args.consent,
            refresh_cookie=args.refresh_cookie,
            allowed_origins=args.allowed_origin or [],
            admin=args.admin,
        )
        manage.warn(client)
        data = answers.client_created(client, secret)
        if client.public:
            human = f"client_id: {client.client_id}\n(a public client: it has no secret)"
        else:
            human = (
                f"client_id:     {client.client_id}\nclient_secret: {secret}\n"
                "(the secret is shown once; it is stored only as a hash)"
            )
        emit(args, data, human)
    elif args.action == "list":
        data = answers.client_list(changes.clients(admin))
        rows = [
            {
                **v,
                "grant_types": ",".join(v["grant_types"]),
                "scopes": " ".join(v["scopes"]),
                "introspects": _introspects(v),
            }
            for v in data["clients"]
        ]
        columns = ["client_id", "name", "grant_types", "scopes", "disabled", "introspects"]
        emit(args, data, table(rows, columns))
    elif args.action == "show":
        view = client_view(admin.client(args.client_id))
        emit(args, view, fields(view))
    elif args.action in ("disable", "enable"):
        disabled = args.action == "disable"
        client = changes.set_client_disabled(admin, args.client_id, disabled, int(time.time()))
        emit(args, client_view(client), f"client {args.client_id} {args.action}d")
    elif args.action == "update":
        change = ClientUpdate(
            add_redirect_uris=tuple(args.add_redirect_uri),
            remove_redirect_uris=tuple(args.remove_redirect_uri),
            add_post_logout_redirect_uris=tuple(args.add_post_logout_redirect_uri),
            remove_post_logout_redirect_uris=tuple(args.remove_post_logout_redirect_uri),
            consent=args.consent,
            add_allowed_origins=tuple(args.add_allowed_origin),
            remove_allowed_origins=tuple(args.remove_allowed_origin),
            refresh_cookie=args.refresh_cookie,
            **manage.update_change(args),
        )
        updated = admin.update_client(args.client_id, change)
        manage.warn(updated)
        view = client_view(updated)
        emit(args, view, fields(view))
    elif args.action == "set-introspection":
        client = admin.set_introspection(
            args.client_id, args.resource_server or [], args.introspect_any
        )
        view = client_view(client)
        emit(args, view, f"client {args.client_id} may introspect: {_introspects(view)}")
    elif args.action == "rotate-secret":
        manage.rotate_secret(args, admin)
    elif args.action == "delete":
        changes.delete_client(admin, args.client_id, int(time.time()))
        emit(args, answers.client_deleted(args.client_id), f"client {args.client_id} deleted")
    return 0


def _introspects(view: dict[str, Any]) -> str:
    """Whose access tokens a client may introspect: any, those of audiences it serves, or
    its own only."""
    if view["introspect_any"]:
        return "any"
    return ",".join(view["resource_servers"]) or "own"


# -- users ----------------------------------------------------------------------------------


def cmd_users(args: argparse.Namespace, admin: Admin) -> int:
    if args.action == "create":
        user = admin.create_user(args.username, read_password(args), args.email)
        emit(args, user_view(user), f"user {user.username} created, sub {user.sub}")
    elif args.action == "list":
        manage.users_list(args, admin)
    elif args.action == "update":
        manage.users_update(args, admin)
    elif args.action == "delete":
        manage.users_delete(args, admin)
    elif args.action == "show":
        view = user_view(admin.user(args.username))
        emit(args, view, fields(view))
    elif args.action in ("disable", "enable"):
        disabled = args.action == "disable"
        user = changes.set_user_disabled(admin, args.username, disabled, int(time.time()))
        emit(args, user_view(user), f"user {user.username} {args.action}d")
    elif args.action == "sessions":
        views = changes.sessions(admin, args.username, int(time.time()))
        times = ("created_at", "last_used_at", "expires_at")
        rows = [{**v, **{k: when(v[k]) for k in times if k in v}} for v in views]
        columns = ["id", "kind", "client_id", "created_at", "last_used_at", "expires_at"]
        emit(args, answers.session_list(views), table(rows, columns))
    elif args.action == "logout":
        now = int(time.time())
        user, ended = changes.end_sessions(admin, args.username, args.session, now)
        emit(args, answers.sessions_ended(ended), f"ended {ended} session(s) of {user.username}")
    elif args.action == "import":
        return import_users.cmd_import(args, admin)
    elif args.action == "unlock":
        user = changes.unlock(admin, args.username)
        emit(
            args,
            {"username": user.username, "unlocked": True},
            f"{user.username} may try to log in again",
        )
    elif args.action == "consents":
        _consents(args, admin)
    elif args.action == "set-password":
        manage.set_password(args, admin)
    return 0


def _consents(args: argparse.Namespace, admin: Admin) -> None:
    """List a user's remembered consents, or withdraw one."""
    if args.withdraw is not None:
        user = admin.withdraw_consent(args.username, args.withdraw)
        emit(
            args,
            {"username": user.username, "client_id": args.withdraw, "withdrawn": True},
            f"{user.username}'s consent for client {args.withdraw} withdrawn",
        )
        return
    views = [consent_view(c, client) for c, client in admin.consents(args.username)]
    rows = [
        {**v, "scopes": " ".join(v["scopes"]), "granted_at": when(v["granted_at"])} for v in views
    ]
    emit(
        args, {"consents": views}, table(rows, ["client_id", "client_name", "scopes", "granted_at"])
    )


# -- keys -----------------------------------------------------------------------------------


def cmd_keys(args: argparse.Namespace, admin: Admin) -> int:
    if args.action == "list":
        data = answers.key_list(signing_keys.listing(admin))
        stamps = ["created_at", "activated_at", "retired_at", "removable_at"]
        rows = [{**k, **{s: when(k[s]) for s in stamps}} for k in data["keys"]]
        emit(args, data, table(rows, ["kid", "alg", "state", *stamps]))
    elif args.action == "rotate":
        if args.at_earliest and (args.force or args.now):
            raise AdminError("--at-earliest waits until the next key may sign: drop --force/--now")
        done = (
            signing_keys.rotate_at_earliest(admin, args.alg)
            if args.at_earliest
            else signing_keys.rotate(admin, args.alg, args.force, args.now, args.revoke_current)
        )
        reports = [r for r in done if isinstance(r, RotationReport)]
        scheduled = [vars(s) for s in done if isinstance(s, Scheduled)]
        lines = []
        for r in reports:
            lines.append(f"{r.alg}: {r.activated} now signs; new next key {r.created_next}")
            if r.retired:
                lines.append(f"{r.alg}: {r.retired} retired (published until its tokens expire)")
        for s in scheduled:
            wait = max(s["promote_at"] - int(time.time()), 0)
            lines.append(
                f"{s['alg']}: the servers promote {s['kid']} at {when(s['promote_at'])} UTC "
                f"(in {wait} s), the first moment every verifier can know it"
            )
        for w in (w for r in reports for w in r.warnings):
            print(f"authority: warning: {w}", file=sys.stderr)
        data = answers.rotations(reports)
        if args.at_earliest:
            data["scheduled"] = scheduled
        emit(args, data, "\n".join(lines))
    elif args.action == "generate":
        info = signing_keys.generate(admin, args.alg)
        emit(args, key_view(info), f"{info.alg} next key {info.kid} published")
    elif args.action == "prune":
        removed = signing_keys.prune(admin)
        emit(args, {"removed": removed}, "removed: " + (", ".join(removed) or "nothing"))
    elif args.action == "export-public":
        print(json.dumps(signing_keys.public_jwks(admin), indent=None if args.json else 2))
    return 0


def cmd_prune(args: argparse.Namespace, admin: Admin) -> int:
    done = admin.purge(int(time.time()))
    emit(
        args,
        done,
        f"purged {done['sessions']} sessions, {done['denied_access_tokens']} deny-list "
        f"entries, {done['links']} expired links, {done['unverified_accounts']} never "
        f"verified accounts, {done['audit_events']} audit events, {len(done['keys'])} "
        "signing keys",
    )
    return 0


# -- parser ---------------------------------------------------------------------------------
