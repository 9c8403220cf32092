"""The operator CLI: ``authority serve|init|clients|users|keys``.

Human-readable output by default; with ``--json`` exactly one JSON object on stdout.
Errors go to stderr as one line, with a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from authority import importer, mail
from authority.admin import Admin, AdminError, client_view, key_view, user_view
from authority.bootstrap import prepare
from authority.keys import KeyStoreError
from authority.sessions import view as session_view
from authority.settings import ALGORITHMS, LOG_LEVELS, ConfigError, Settings, is_loopback
from authority.storage import Conflict
from authority.storage.sql import SqlStorage

EXIT_USAGE, EXIT_FAILED = 2, 1


class CommandError(Exception):
    pass


def _emit(args: argparse.Namespace, data: dict[str, Any], human: str) -> None:
    if args.json:
        print(json.dumps(data, separators=(",", ":")))
    else:
        print(human)


def _read_password(args: argparse.Namespace) -> str:
    if not args.password_stdin:
        raise CommandError("pass the password on standard input with --password-stdin")
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if not password:
        raise CommandError("no password was given on standard input")
    return password


def _words(values: list[str] | None) -> list[str]:
    """Accept both ``--scope "a b"`` and ``--scope a --scope b``."""
    return [w for value in values or [] for w in value.split()]


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


# -- serve / init ---------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    if not os.environ.get("AUTHORITY_ISSUER"):
        host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host  # noqa: S104
        os.environ["AUTHORITY_ISSUER"] = f"http://{host}:{args.port}"
    settings = Settings.from_env()
    mail.from_url(settings.email_url)  # a bad AUTHORITY_EMAIL_URL stops here, in one line
    created = prepare(settings)
    logging.getLogger("authority").info(
        "issuer %s; created: %s", settings.issuer, ", ".join(created) or "nothing"
    )
    if not is_loopback(args.host) and settings.issuer.startswith("http://"):
        logging.getLogger("authority").warning(
            "listening on %s with a loopback issuer; set AUTHORITY_ISSUER to the public URL",
            args.host,
        )
    import uvicorn

    uvicorn.run(
        "authority.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_level=settings.log_level.lower(),
        server_header=False,
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    created = prepare(settings)
    _emit(args, {"created": created}, "created: " + (", ".join(created) or "nothing (ready)"))
    return 0


# -- clients --------------------------------------------------------------------------------


def cmd_clients(args: argparse.Namespace, admin: Admin) -> int:
    storage = admin.storage
    if args.action == "create":
        client, secret = admin.create_client(
            args.name,
            _words(args.grant),
            _words(args.scope),
            _words(args.default_scope) if args.default_scope is not None else None,
            args.audience or [],
            args.alg,
        )
        data = {**client_view(client), "client_secret": secret}
        _emit(
            args,
            data,
            f"client_id:     {client.client_id}\nclient_secret: {secret}\n"
            "(the secret is shown once; it is stored only as a hash)",
        )
    elif args.action == "list":
        views = [client_view(c) for c in storage.list_clients()]
        rows = [
            {**v, "grant_types": ",".join(v["grant_types"]), "scopes": " ".join(v["scopes"])}
            for v in views
        ]
        columns = ["client_id", "name", "grant_types", "scopes", "disabled"]
        _emit(args, {"clients": views}, _table(rows, columns))
    elif args.action == "show":
        view = client_view(admin.client(args.client_id))
        _emit(args, view, "\n".join(f"{k}: {v}" for k, v in view.items()))
    elif args.action in ("disable", "enable"):
        admin.client(args.client_id)
        storage.set_client_disabled(args.client_id, args.action == "disable")
        view = client_view(admin.client(args.client_id))
        _emit(args, view, f"client {args.client_id} {args.action}d")
    elif args.action == "delete":
        if not storage.delete_client(args.client_id):
            raise AdminError(f"no client {args.client_id!r}")
        _emit(
            args, {"client_id": args.client_id, "deleted": True}, f"client {args.client_id} deleted"
        )
    return 0


# -- users ----------------------------------------------------------------------------------


def cmd_users(args: argparse.Namespace, admin: Admin) -> int:
    storage = admin.storage
    if args.action == "create":
        user = admin.create_user(args.username, _read_password(args), args.email)
        _emit(args, user_view(user), f"user {user.username} created, sub {user.sub}")
    elif args.action == "list":
        views = [user_view(u) for u in storage.list_users()]
        _emit(args, {"users": views}, _table(views, ["sub", "username", "email", "disabled"]))
    elif args.action == "show":
        view = user_view(admin.user(args.username))
        _emit(args, view, "\n".join(f"{k}: {v}" for k, v in view.items()))
    elif args.action in ("disable", "enable"):
        user = admin.user(args.username)
        storage.set_user_disabled(user.sub, args.action == "disable", int(time.time()))
        _emit(args, user_view(admin.user(args.username)), f"user {user.username} {args.action}d")
    elif args.action == "sessions":
        user = admin.user(args.username)
        views = [session_view(f) for f in storage.list_sessions(user.sub, int(time.time()))]
        rows = [
            {**v, **{k: _when(v[k]) for k in ("created_at", "last_used_at", "expires_at")}}
            for v in views
        ]
        columns = ["id", "client_id", "created_at", "last_used_at", "expires_at"]
        _emit(args, {"sessions": views}, _table(rows, columns))
    elif args.action == "logout":
        user = admin.user(args.username)
        ended = storage.end_sessions(user.sub, int(time.time()), args.session)
        if args.session and not ended:
            raise AdminError(f"no live session {args.session!r} for {user.username}")
        _emit(args, {"ended": ended}, f"ended {ended} session(s) of {user.username}")
    elif args.action == "import":
        report = _import_users(args, storage)
        for bad in report.failed:
            print(f"authority: line {bad['line']}: {bad['error']}", file=sys.stderr)
        _emit(
            args,
            vars(report),
            f"created {report.created}, updated {report.updated}, skipped "
            f"{len(report.failed)} bad row(s) in {report.seconds} s",
        )
    elif args.action == "unlock":
        user = admin.user(args.username)
        admin.throttle().unlock(user.username)
        _emit(
            args,
            {"username": user.username, "unlocked": True},
            f"{user.username} may try to log in again",
        )
    elif args.action == "set-password":
        user = admin.set_password(args.username, _read_password(args))
        _emit(args, user_view(user), f"password of {user.username} changed")
    return 0


def _import_users(args: argparse.Namespace, storage: SqlStorage) -> importer.ImportReport:
    fmt = args.format or ("csv" if args.file.lower().endswith(".csv") else "json")
    try:
        with open(args.file, encoding="utf-8") as handle:
            data = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {args.file}: {exc}") from None
    progress = None
    if sys.stderr.isatty():

        def progress(done: int) -> None:
            print(f"\rimporting users: {done:,}", end="", file=sys.stderr, flush=True)

    try:
        report = importer.run(storage, data, fmt, args.email_verified, progress)
    except importer.ImportFormatError as exc:
        raise CommandError(f"{args.file}: {exc}") from None
    if progress:
        print(file=sys.stderr)
    return report


# -- keys -----------------------------------------------------------------------------------


def _when(epoch: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch else "-"


def cmd_keys(args: argparse.Namespace, admin: Admin) -> int:
    if args.action == "list":
        keys = [key_view(k) for k in admin.storage.list_signing_keys()]
        stamps = ["created_at", "activated_at", "retired_at", "removable_at"]
        rows = [{**k, **{s: _when(k[s]) for s in stamps}} for k in keys]
        _emit(args, {"keys": keys}, _table(rows, ["kid", "alg", "state", *stamps]))
    elif args.action == "rotate":
        reports = admin.rotate_keys(args.alg, args.force, args.now, args.revoke_current)
        lines = []
        for r in reports:
            lines.append(f"{r.alg}: {r.activated} now signs; new next key {r.created_next}")
            if r.retired:
                lines.append(f"{r.alg}: {r.retired} retired (published until its tokens expire)")
        for w in (w for r in reports for w in r.warnings):
            print(f"authority: warning: {w}", file=sys.stderr)
        _emit(args, {"rotations": [vars(r) for r in reports]}, "\n".join(lines))
    elif args.action == "generate":
        info = admin.generate_key(args.alg)
        _emit(args, key_view(info), f"{info.alg} next key {info.kid} published")
    elif args.action == "prune":
        removed = admin.prune_keys()
        _emit(args, {"removed": removed}, "removed: " + (", ".join(removed) or "nothing"))
    elif args.action == "export-public":
        print(json.dumps(admin.public_jwks(), indent=None if args.json else 2))
    return 0


def cmd_prune(args: argparse.Namespace, admin: Admin) -> int:
    done = admin.purge(int(time.time()))
    _emit(
        args,
        done,
        f"purged {done['sessions']} sessions, {done['denied_access_tokens']} deny-list "
        f"entries, {done['links']} expired links, {len(done['keys'])} signing keys",
    )
    return 0


# -- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="authority", description="An OAuth 2 token authority.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
        return p

    def json_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print one JSON object")

    serve = command("serve", "run the token server (creates schema and first key if missing)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(func=cmd_serve)

    init = command("init", "create the schema, the secret hash key and the first signing key")
    json_flag(init)
    init.set_defaults(func=cmd_init)

    clients = command("clients", "manage OAuth clients").add_subparsers(
        dest="action", required=True
    )
    create = clients.add_parser("create", help="register a client; prints its secret once")
    create.add_argument("name")
    create.add_argument(
        "--grant",
        action="append",
        required=True,
        help="client_credentials, password or refresh_token (repeatable)",
    )
    create.add_argument("--scope", action="append", help='allowed scopes, e.g. "read write"')
    create.add_argument(
        "--default-scope",
        action="append",
        help="scopes granted when none is asked (default: all allowed)",
    )
    create.add_argument("--audience", action="append", help="resource URI the client may target")
    create.add_argument(
        "--alg",
        choices=ALGORITHMS,
        help="sign this client's access tokens with ALG (default: the server's)",
    )
    json_flag(create)
    listing = clients.add_parser("list", help="list clients")
    json_flag(listing)
    for action in ("show", "disable", "enable", "delete"):
        p = clients.add_parser(action, help=f"{action} a client")
        p.add_argument("client_id")
        json_flag(p)

    users = command("users", "manage users").add_subparsers(dest="action", required=True)
    ucreate = users.add_parser("create", help="create a user; the password is read from stdin")
    ucreate.add_argument("username")
    ucreate.add_argument("--password-stdin", action="store_true", required=True)
    ucreate.add_argument("--email")
    json_flag(ucreate)
    ulist = users.add_parser("list", help="list users")
    json_flag(ulist)
    for action in ("show", "disable", "enable", "unlock"):
        p = users.add_parser(action, help=f"{action} a user")
        p.add_argument("username")
        json_flag(p)
    imports = users.add_parser(
        "import", help="import users from Django (dumpdata auth.user JSON, or CSV)"
    )
    imports.add_argument(
        "file", help="JSON from dumpdata auth.user, or CSV: username,email,password_hash,is_active"
    )
    imports.add_argument("--format", choices=("json", "csv"), help="default: from the name")
    imports.add_argument(
        "--email-verified",
        action="store_true",
        help="mark the imported email addresses as verified",
    )
    json_flag(imports)
    sessions = users.add_parser("sessions", help="list a user's live sessions")
    sessions.add_argument("username")
    json_flag(sessions)
    logout = users.add_parser("logout", help="end one session of a user, or all of them")
    logout.add_argument("username")
    logout.add_argument("--session", help="the session id (default: every session)")
    json_flag(logout)
    setpw = users.add_parser("set-password", help="set a user's password from stdin")
    setpw.add_argument("username")
    setpw.add_argument("--password-stdin", action="store_true", required=True)
    json_flag(setpw)

    prune_cmd = command("prune", "delete ended sessions, expired deny-list entries and keys")
    json_flag(prune_cmd)
    keys = command("keys", "signing keys").add_subparsers(dest="action", required=True)
    klist = keys.add_parser("list", help="list signing keys and their states")
    json_flag(klist)
    rotate = keys.add_parser(
        "rotate", help="next -> active, active -> retired, and publish a new next key"
    )
    rotate.add_argument("--alg", choices=ALGORITHMS, help="one algorithm (default: all)")
    rotate.add_argument(
        "--force",
        action="store_true",
        help="promote a next key published for less than the JWKS cache lifetime",
    )
    rotate.add_argument(
        "--now", action="store_true", help="emergency rotation: promote at once (implies --force)"
    )
    rotate.add_argument(
        "--revoke-current",
        action="store_true",
        help="with --now: the current key leaves the JWKS at once (compromised)",
    )
    json_flag(rotate)
    generate = keys.add_parser("generate", help="publish a next key for an algorithm")
    generate.add_argument("--alg", choices=ALGORITHMS, required=True)
    json_flag(generate)
    prune = keys.add_parser("prune", help="remove retired keys whose tokens have all expired")
    json_flag(prune)
    export = keys.add_parser("export-public", help="print the JWKS for offline verifiers")
    json_flag(export)
    commands = (
        ("clients", cmd_clients),
        ("users", cmd_users),
        ("keys", cmd_keys),
        ("prune", cmd_prune),
    )
    for name, func in commands:
        sub.choices[name].set_defaults(admin_func=func)
    return parser


def _with_admin(func: Callable[[argparse.Namespace, Admin], int], args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    prepare(settings)
    storage = SqlStorage.from_url(settings.database_url)
    try:
        return func(args, Admin(settings, storage))
    finally:
        storage.close()


def main(argv: Sequence[str] | None = None) -> int:
    # A bad level is reported by Settings as a one-line ConfigError, not a traceback here.
    level = os.environ.get("AUTHORITY_LOG_LEVEL", "").strip().upper()
    logging.basicConfig(
        level=level if level in LOG_LEVELS else "INFO",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "admin_func"):
            return _with_admin(args.admin_func, args)
        return int(args.func(args))
    except (ConfigError, KeyStoreError) as exc:
        print(f"authority: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (AdminError, CommandError, Conflict) as exc:
        print(f"authority: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except SQLAlchemyError as exc:
        detail = str(exc.orig or exc).splitlines()[0] if str(exc) else ""
        print(f"authority: database error: {exc.__class__.__name__}: {detail}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
