"""Changing what exists instead of deleting and recreating it: a client's secret rotated with
an overlap, a client or user disabled, enabled or deleted, a user renamed, readdressed, signed
out or unlocked, users imported; and the listings of clients, of users a page at a time and of
a user's sessions. What `authority clients|users` and the admin API both run. Each change is
recorded as an event naming who made it (``by``, else the ``Admin``'s actor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authority.accounts import USERNAME_RULE, normalize_email, valid_username
from authority.accounts import sessions as user_sessions
from authority.admin import importer
from authority.admin.actor import Actor
from authority.admin.errors import AdminError, NotFound, Refused
from authority.admin.provision import Admin
from authority.credentials.hashing import new_secret
from authority.events import EventType
from authority.settings import DAY, Kind, Spec
from authority.storage import Client, User

MAX_PAGE = 1000
# How long a rotated secret keeps working: seconds or N[s|m|h|d], from none to 90 days.
GRACE = Spec("grace", "--grace", Kind.DURATION, DAY, "", bounds=(0, 90 * DAY))
KEEP = object()  # `users update` without --email or --no-email: the address stays


@dataclass(frozen=True)
class Page:
    users: list[User]
    next: str | None  # the username to pass as --after for the next page; None: no more


def clients(admin: Admin) -> list[Client]:
    return admin.storage.list_clients()


def rotate_secret(
    admin: Admin, client_id: str, grace: int, now: int, by: Actor | None = None
) -> tuple[Client, str]:
    """A new secret for a confidential client, to show once. The old one keeps working for
    ``grace`` seconds (0: refused at once); a secret kept from an earlier rotation stops now."""
    client = admin.client(client_id)
    if client.public:
        raise Refused(f"client {client_id!r} is public (--public): it has no secret to rotate")
    secret = new_secret()
    keep_until = now + grace if grace else None
    if not admin.storage.rotate_client_secret(client_id, admin.digest.digest(secret), keep_until):
        raise NotFound(f"no client {client_id!r}")
    admin.record(EventType.CLIENT_SECRET_ROTATED, client_id, by, client_id, grace=grace)
    return admin.client(client_id), secret


def set_client_disabled(
    admin: Admin, client_id: str, disabled: bool, now: int, by: Actor | None = None
) -> Client:
    """Disable a client (its sessions end, its access tokens are denied) or enable it again."""
    admin.client(client_id)
    if not admin.storage.set_client_disabled(client_id, disabled, now):
        raise NotFound(f"no client {client_id!r}")
    kind = EventType.CLIENT_DISABLED if disabled else EventType.CLIENT_ENABLED
    admin.record(kind, client_id, by, client_id)
    return admin.client(client_id)


def delete_client(admin: Admin, client_id: str, now: int, by: Actor | None = None) -> None:
    """Delete a client, ending its sessions first."""
    if not admin.storage.delete_client(client_id, now):
        raise NotFound(f"no client {client_id!r}")
    admin.record(EventType.CLIENT_DELETED, client_id, by, client_id)


def set_user_disabled(
    admin: Admin, username: str, disabled: bool, now: int, by: Actor | None = None
) -> User:
    """Disable a user (every session ends, access tokens denied) or enable them again."""
    user = admin.user(username)
    if not admin.storage.set_user_disabled(user.sub, disabled, now):
        raise NotFound(f"no user {username!r}")
    kind = EventType.USER_DISABLED if disabled else EventType.USER_ENABLED
    admin.record(kind, user.sub, by, username=user.username)
    return admin.user(user.username)


def sessions(admin: Admin, username: str, now: int) -> list[dict[str, Any]]:
    """A user's live sessions, apps' (refresh-token families) then browsers'."""
    user = admin.user(username)
    storage = admin.storage
    return user_sessions.views(
        storage.list_sessions(user.sub, now), storage.list_browser_sessions(user.sub, now)
    )


def end_sessions(
    admin: Admin, username: str, session_id: str | None, now: int, by: Actor | None = None
) -> tuple[User, int]:
    """End one session of a user (an app's or a browser's), or every one; returns the user
    and how many ended."""
    user = admin.user(username)
    storage = admin.storage
    ended = user_sessions.end(storage, storage, user.sub, now, session_id)
    if session_id and not ended:
        raise NotFound(f"no live session {session_id!r} for {user.username}")
    admin.record(
        EventType.USER_LOGGED_OUT,
        user.sub,
        by,
        username=user.username,
        session_id=session_id,
        ended=ended,
    )
    return user, ended


def unlock(admin: Admin, username: str, by: Actor | None = None) -> User:
    """Lift a user's login lockout."""
    user = admin.user(username)
    admin.throttle().unlock(user.username)
    admin.record(EventType.USER_UNLOCKED, user.sub, by, username=user.username)
    return user


def import_users(
    admin: Admin,
    data: str,
    fmt: str,
    email_verified: bool,
    progress: Callable[[int], None] | None = None,
    by: Actor | None = None,
) -> importer.ImportReport:
    """``importer.run``, recorded as one event with its counts (not one per user)."""
    report = importer.run(admin.storage, data, fmt, email_verified, progress)
    admin.record(
        EventType.USERS_IMPORTED,
        None,
        by,
        created=report.created,
        updated=report.updated,
        skipped=len(report.failed),
    )
    return report


def delete_user(admin: Admin, username: str, now: int, by: Actor | None = None) -> User:
    """Delete an account: its sessions end (access tokens denied), its links, consents and
    the account go."""
    user = admin.user(username)
    if not admin.storage.delete_user(user.sub, now):
        raise NotFound(f"no user {username!r}")
    admin.record(EventType.USER_DELETED, user.sub, by, username=user.username)
    return user


def update_user(
    admin: Admin,
    username: str,
    new_username: str | None,
    email: object,
    now: int,
    by: Actor | None = None,
) -> User:
    """Rename a user and/or set their address (None: no address; ``KEEP``: as it is), under
    the rules of registration: the one username rule, unique in any case; a plain address no
    other account has. A new address is unverified until its owner verifies it."""
    user = admin.user(username)
    if new_username is None and email is KEEP:
        raise AdminError("name a change: --username, --email or --no-email", field=None)
    name = user.username if new_username is None else new_username
    # Only a new name must follow the rule: an imported one that predates it may keep it.
    if new_username is not None and not valid_username(new_username):
        raise AdminError(USERNAME_RULE, field="username")
    address = user.email
    if email is not KEEP:
        address = None
        if isinstance(email, str):
            address = normalize_email(email)
            if address is None:
                raise AdminError(f"{email!r} is not an email address", field="email")
    if not admin.storage.set_identity(user.sub, name, address, now):
        raise NotFound(f"no user {username!r}")
    changes = (("username", name != user.username), ("email", address != user.email))
    changed = [what for what, differs in changes if differs]
    admin.record(EventType.USER_UPDATED, user.sub, by, username=name, changed=" ".join(changed))
    return admin.user(name)


def list_users(admin: Admin, limit: int | None, after: str | None, search: str | None) -> Page:
    """One page of users by username (all of them without ``limit``)."""
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise AdminError(f"--limit must be 1 to {MAX_PAGE}")
    # One more than asked: whether a next page exists, without a second query.
    found = admin.storage.list_users_page(None if limit is None else limit + 1, after, search)
    if limit is not None and len(found) > limit:
        return Page(found[:limit], found[limit - 1].username)
    return Page(found, None)
