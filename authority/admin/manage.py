"""Changing what exists instead of deleting and recreating it: a client's secret rotated with
an overlap, a user renamed, readdressed, deleted, and users listed a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from authority.accounts import USERNAME_RULE, normalize_email, valid_username
from authority.admin.errors import AdminError, NotFound, Refused
from authority.admin.provision import Admin
from authority.credentials.hashing import new_secret
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


def rotate_secret(admin: Admin, client_id: str, grace: int, now: int) -> tuple[Client, str]:
    """A new secret for a confidential client, to show once. The old one keeps working for
    ``grace`` seconds (0: refused at once); a secret kept from an earlier rotation stops now."""
    client = admin.client(client_id)
    if client.public:
        raise Refused(f"client {client_id!r} is public (--public): it has no secret to rotate")
    secret = new_secret()
    keep_until = now + grace if grace else None
    if not admin.storage.rotate_client_secret(client_id, admin.digest.digest(secret), keep_until):
        raise NotFound(f"no client {client_id!r}")
    return admin.client(client_id), secret


def delete_user(admin: Admin, username: str, now: int) -> User:
    """Delete an account: its sessions end (access tokens denied), its links, consents and
    the account go."""
    user = admin.user(username)
    if not admin.storage.delete_user(user.sub, now):
        raise NotFound(f"no user {username!r}")
    return user


def update_user(
    admin: Admin, username: str, new_username: str | None, email: object, now: int
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
