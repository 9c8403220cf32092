"""Changing clients and users in place: `clients update`'s access flags, `clients
rotate-secret`, `users update`, `users delete`, `users list`'s pages, `users set-password`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from authority.admin import access, answers, manage
from authority.admin.manage import GRACE
from authority.admin.provision import Admin, user_view
from authority.cli.output import emit, read_password, shown, table, when, words
from authority.settings import ConfigError
from authority.storage import Client

JsonFlag = Callable[[argparse.ArgumentParser], None]


# -- arguments ------------------------------------------------------------------------------


def client_update_flags(update: argparse.ArgumentParser) -> None:
    """What `clients update` changes of what the client may be issued."""
    update.add_argument("--name", help="rename the client")
    update.add_argument(
        "--grant",
        action="append",
        help="replace the grants with these (repeatable); its browser settings must still fit",
    )
    update.add_argument(
        "--scope", action="append", help='replace the allowed scopes, e.g. "read write"'
    )
    update.add_argument(
        "--default-scope",
        action="append",
        help="replace the scopes granted when none is asked (default: those of the stored "
        "default scopes that --scope still allows)",
    )
    update.add_argument(
        "--audience",
        "--add-audience",
        dest="add_audience",
        action="append",
        default=[],
        metavar="URI",
        help="allow a resource URI (repeatable; one already allowed stays once)",
    )
    update.add_argument(
        "--remove-audience",
        action="append",
        default=[],
        metavar="URI",
        help="remove an allowed resource URI (repeatable)",
    )


def client_commands(clients: Any, json_flag: JsonFlag) -> None:
    rotate = clients.add_parser(
        "rotate-secret",
        help="give a confidential client a new secret, printed once; the old one keeps "
        "working for the grace period",
        description="Give a confidential client a new secret, printed once. Until the grace "
        "period ends both the old and the new secret authenticate; then only the new one.",
    )
    rotate.add_argument("client_id")
    rotate.add_argument(
        "--grace",
        type=_duration,
        default=GRACE.default,
        metavar="DURATION",
        help="how long the old secret keeps working: seconds or N[s|m|h|d] "
        "(default 24h; 0: refused at once)",
    )
    json_flag(rotate)


def user_commands(users: Any, json_flag: JsonFlag) -> None:
    update = users.add_parser(
        "update",
        help="rename a user, or set or clear their email address",
        description="Rename a user, or set or clear their email address, under the rules of "
        "registration: a username unique in any case, an address no other account has. A new "
        "address is unverified, and links mailed to the old one stop working.",
    )
    update.add_argument("username")
    update.add_argument("--username", dest="new_username", metavar="NEW", help="the new username")
    address = update.add_mutually_exclusive_group()
    address.add_argument("--email", help="the new email address")
    address.add_argument("--no-email", action="store_true", help="remove the email address")
    json_flag(update)
    delete = users.add_parser(
        "delete",
        help="delete a user: their sessions end, their links and consents are deleted",
        description="Delete a user. Their sessions end first (apps' access tokens stay denied "
        "until they expire, browsers are signed out); their pending links, consents and the "
        "account are deleted. The username is free again.",
    )
    delete.add_argument("username")
    json_flag(delete)


def list_flags(listing: argparse.ArgumentParser) -> None:
    listing.add_argument(
        "--limit", type=int, metavar="N", help=f"at most N users (1 to {manage.MAX_PAGE})"
    )
    listing.add_argument(
        "--after", metavar="USERNAME", help="the users after this one (the previous page's next)"
    )
    listing.add_argument(
        "--search", metavar="TEXT", help="only users whose username or email holds TEXT (any case)"
    )


def set_password_flags(setpw: argparse.ArgumentParser) -> None:
    setpw.add_argument(
        "--keep-sessions",
        action="store_true",
        help="leave the user's sessions running (default: every session ends, as after a reset)",
    )


def _duration(raw: str) -> int:
    try:
        seconds = GRACE.parse(raw)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert isinstance(seconds, int)
    return seconds


# -- commands -------------------------------------------------------------------------------


def warn(client: Client) -> None:
    """What is most likely a mistake in a client just created or changed, on stderr."""
    for message in access.warnings(client):
        print(f"authority: warning: {message}", file=sys.stderr)


def rotate_secret(args: argparse.Namespace, admin: Admin) -> None:
    client, secret = manage.rotate_secret(admin, args.client_id, args.grace, int(time.time()))
    if client.previous_secret_expires_at:
        until = f"{when(client.previous_secret_expires_at)} UTC"
        old = f"the old secret works until {until}, then only the new one"
    else:
        old = "the old secret no longer works"
    human = (
        f"client_id:     {client.client_id}\nclient_secret: {secret}\n"
        f"(the secret is shown once; {old})"
    )
    emit(args, answers.client_with_secret(client, secret), human)


def users_list(args: argparse.Namespace, admin: Admin) -> None:
    page = manage.list_users(admin, args.limit, args.after, args.search)
    data = answers.user_page(page)
    human = table(data["users"], ["sub", "username", "email", "disabled"])
    if page.next is not None:
        human += f"\n(more: --after {page.next})"
    emit(args, data, human)


def users_update(args: argparse.Namespace, admin: Admin) -> None:
    email: object = None if args.no_email else manage.KEEP if args.email is None else args.email
    user = manage.update_user(admin, args.username, args.new_username, email, int(time.time()))
    emit(args, user_view(user), f"user {user.username} updated, email {shown(user.email)}")


def users_delete(args: argparse.Namespace, admin: Admin) -> None:
    user = manage.delete_user(admin, args.username, int(time.time()))
    emit(args, answers.user_deleted(user), f"user {user.username} deleted; their sessions ended")


def set_password(args: argparse.Namespace, admin: Admin) -> None:
    end = not args.keep_sessions
    user, ended = admin.set_password(args.username, read_password(args), int(time.time()), end)
    noun = "session" if ended == 1 else "sessions"
    said = f"{ended} {noun} ended" if end else "sessions kept (--keep-sessions)"
    emit(
        args, answers.password_set(user, ended, not end), f"password of {user.username} set; {said}"
    )


def update_change(args: argparse.Namespace) -> dict[str, Any]:
    """`clients update`'s access flags, as ClientUpdate fields."""
    return {
        "name": args.name,
        "grant_types": None if args.grant is None else tuple(words(args.grant)),
        "scopes": None if args.scope is None else tuple(words(args.scope)),
        "default_scopes": None if args.default_scope is None else tuple(words(args.default_scope)),
        "add_audiences": tuple(args.add_audience),
        "remove_audiences": tuple(args.remove_audience),
    }
