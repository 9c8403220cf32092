"""The command line: every command, its arguments and its help."""

from __future__ import annotations

import argparse
from typing import Any

from authority.cli import audit, import_users, manage
from authority.cli.commands import (
    cmd_clients,
    cmd_init,
    cmd_keys,
    cmd_prune,
    cmd_serve,
    cmd_users,
)
from authority.cli.completion import add_command as add_completion
from authority.cli.surface import add_global_options, finish
from authority.oauth.grants import GRANT_TYPES
from authority.settings import ALGORITHMS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="authority", description="An OAuth 2 token authority.")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
        return p

    def json_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print one JSON object")

    def introspection_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--resource-server",
            action="append",
            metavar="URI",
            help="the client serves this audience: it may introspect tokens for it (repeatable)",
        )
        p.add_argument(
            "--introspect-any",
            action="store_true",
            help="the client may introspect every access token (a gateway)",
        )

    serve = command("serve", "run the token server (creates schema and first key if missing)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument("--json", action="store_true", help="print one JSON object on start")
    serve.set_defaults(func=cmd_serve)

    init = command("init", "create the schema, the secret hash key and the first signing key")
    json_flag(init)
    init.set_defaults(func=cmd_init)
    add_completion(sub)

    clients = command("clients", "manage OAuth clients").add_subparsers(
        dest="action", required=True
    )
    create = clients.add_parser("create", help="register a client; prints its secret once")
    create.add_argument("name")
    create.add_argument(
        "--grant",
        action="append",
        help=f"{', '.join(GRANT_TYPES)} (repeatable; required unless --admin)",
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
    introspection_flags(create)
    create.add_argument(
        "--redirect-uri",
        action="append",
        metavar="URI",
        help="where the browser brings the authorization code back, matched exactly "
        "(repeatable; https, or http on a loopback host)",
    )
    create.add_argument(
        "--post-logout-redirect-uri",
        action="append",
        metavar="URI",
        help="where logout may send the browser back (repeatable)",
    )
    create.add_argument(
        "--public",
        action="store_true",
        help="no secret (a single-page or native app): token_endpoint_auth_method none, "
        "and a private-use scheme redirect URI is allowed",
    )
    create.add_argument(
        "--consent",
        action="store_true",
        help="a third-party client: the user approves its scopes (default: first-party)",
    )
    create.add_argument(
        "--refresh-cookie",
        action="store_true",
        help="cookie mode (a browser app): the refresh token travels only in an httpOnly "
        "cookie, never in a response body; needs --allowed-origin",
    )
    create.add_argument(
        "--allowed-origin",
        action="append",
        metavar="ORIGIN",
        help="a browser origin the client's pages are served from, e.g. https://app.example "
        "(repeatable): CORS, and where cookie-mode requests must come from",
    )
    create.add_argument(
        "--admin",
        action="store_true",
        help="a client of the admin HTTP API (AUTHORITY_ADMIN_API): the client_credentials "
        "grant and the authority:admin scope, which no other client can be given",
    )
    json_flag(create)
    listing = clients.add_parser("list", help="list clients")
    json_flag(listing)
    for action in ("show", "disable", "enable", "delete"):
        p = clients.add_parser(action, help=f"{action} a client")
        p.add_argument("client_id")
        json_flag(p)
    update = clients.add_parser(
        "update",
        help="change a client's name, grants, scopes, audiences, redirect URIs, allowed "
        "origins, consent and cookie mode; prints the client",
    )
    update.add_argument("client_id")
    for kind, what in (
        ("redirect-uri", "redirect URI"),
        ("post-logout-redirect-uri", "post-logout redirect URI"),
    ):
        update.add_argument(
            f"--add-{kind}",
            action="append",
            default=[],
            metavar="URI",
            help=f"register a {what} (repeatable; one already registered stays once)",
        )
        update.add_argument(
            f"--remove-{kind}",
            action="append",
            default=[],
            metavar="URI",
            help=f"remove a registered {what} (repeatable)",
        )
    consent = update.add_mutually_exclusive_group()
    update.set_defaults(consent=None)  # neither flag: consent stays as it is
    consent.add_argument(
        "--consent",
        action="store_true",
        help="the user must approve the client's scopes (third-party)",
    )
    consent.add_argument(
        "--no-consent",
        action="store_false",
        dest="consent",
        help="no consent screen (first-party)",
    )
    update.add_argument(
        "--allowed-origin",
        "--add-allowed-origin",
        dest="add_allowed_origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow a browser origin (repeatable; one already allowed stays once)",
    )
    update.add_argument(
        "--remove-allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="remove an allowed origin (repeatable)",
    )
    cookie = update.add_mutually_exclusive_group()
    update.set_defaults(refresh_cookie=None)  # neither flag: cookie mode stays as it is
    cookie.add_argument(
        "--refresh-cookie",
        action="store_true",
        help="cookie mode: the refresh token travels only in an httpOnly cookie",
    )
    cookie.add_argument(
        "--no-refresh-cookie",
        action="store_false",
        dest="refresh_cookie",
        help="the refresh token in the response body again",
    )
    manage.client_update_flags(update)
    json_flag(update)
    rights = clients.add_parser(
        "set-introspection",
        help="replace whose access tokens a client may introspect (no flag: its own only)",
    )
    rights.add_argument("client_id")
    introspection_flags(rights)
    json_flag(rights)
    manage.client_commands(clients, json_flag)

    users = command("users", "manage users").add_subparsers(dest="action", required=True)
    ucreate = users.add_parser("create", help="create a user; the password is read from stdin")
    ucreate.add_argument("username")
    ucreate.add_argument("--password-stdin", action="store_true", required=True)
    ucreate.add_argument("--email")
    json_flag(ucreate)
    ulist = users.add_parser("list", help="list users by username, a page at a time")
    manage.list_flags(ulist)
    json_flag(ulist)
    for action in ("show", "disable", "enable", "unlock"):
        p = users.add_parser(action, help=f"{action} a user")
        p.add_argument("username")
        json_flag(p)
    imports = users.add_parser(
        "import",
        help="import users from Django (dumpdata auth.user or auth, JSON or JSON lines; or CSV)",
        description="Import users with their password hashes; prints each Django pk's new sub. "
        "Exits 1 when a row was skipped.",
    )
    import_users.add_arguments(imports)
    json_flag(imports)
    sessions = users.add_parser(
        "sessions", help="list a user's live sessions, apps' and signed-in browsers'"
    )
    sessions.add_argument("username")
    json_flag(sessions)
    logout = users.add_parser("logout", help="end one session of a user, or all of them")
    logout.add_argument("username")
    logout.add_argument(
        "--session",
        help="the session id, an app's or a browser's (default: every session)",
    )
    json_flag(logout)
    consents = users.add_parser(
        "consents", help="list the clients a user approved, or withdraw one approval"
    )
    consents.add_argument("username")
    consents.add_argument(
        "--withdraw",
        metavar="CLIENT_ID",
        help="forget the approval of this client: its next sign-in asks again",
    )
    json_flag(consents)
    setpw = users.add_parser("set-password", help="set a user's password from stdin")
    setpw.add_argument("username")
    setpw.add_argument("--password-stdin", action="store_true", required=True)
    manage.set_password_flags(setpw)
    json_flag(setpw)
    manage.user_commands(users, json_flag)

    prune_cmd = command(
        "prune",
        "delete ended sessions, expired deny-list entries and links, abandoned registrations, "
        "audit events past their retention and expired keys",
    )
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
    rotate.add_argument(
        "--at-earliest",
        action="store_true",
        help="if the next key is too young to sign, have the servers promote it as soon as it "
        "may, and print when",
    )
    json_flag(rotate)
    generate = keys.add_parser("generate", help="publish a next key for an algorithm")
    generate.add_argument("--alg", choices=ALGORITHMS, required=True)
    json_flag(generate)
    prune = keys.add_parser("prune", help="remove retired keys whose tokens have all expired")
    json_flag(prune)
    export = keys.add_parser("export-public", help="print the JWKS for offline verifiers")
    json_flag(export)
    audit.add_commands(sub, json_flag)
    commands = (
        ("clients", cmd_clients),
        ("users", cmd_users),
        ("keys", cmd_keys),
        ("prune", cmd_prune),
        ("audit", audit.cmd_audit),
    )
    for name, func in commands:
        sub.choices[name].set_defaults(admin_func=func)
    return finish(parser)
