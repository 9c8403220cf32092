"""Switching clients and users off and on, deleting a client, a user's sessions listed and
ended, and the listings of clients and keys: what `authority clients|users|keys` and the admin
API both run."""

from __future__ import annotations

from typing import Any

from authority.accounts import sessions as user_sessions
from authority.admin.errors import NotFound
from authority.admin.provision import Admin
from authority.storage import Client, SigningKeyInfo, User


def clients(admin: Admin) -> list[Client]:
    return admin.storage.list_clients()


def set_client_disabled(admin: Admin, client_id: str, disabled: bool, now: int) -> Client:
    """A disabled client is refused at every endpoint, and its tokens stop working where the
    authority checks them; enabling it lets it in again."""
    admin.client(client_id)
    admin.storage.set_client_disabled(client_id, disabled, now)
    return admin.client(client_id)


def delete_client(admin: Admin, client_id: str, now: int) -> None:
    """Delete a client; the sessions it started end with it."""
    if not admin.storage.delete_client(client_id, now):
        raise NotFound(f"no client {client_id!r}")


def set_user_disabled(admin: Admin, username: str, disabled: bool, now: int) -> User:
    """A disabled user cannot sign in, and their access tokens stop working where the
    authority checks them; enabling them lets them in again."""
    user = admin.user(username)
    admin.storage.set_user_disabled(user.sub, disabled, now)
    return admin.user(username)


def sessions(admin: Admin, username: str, now: int) -> list[dict[str, Any]]:
    """A user's live sessions, apps' (refresh-token families) then browsers'."""
    user = admin.user(username)
    storage = admin.storage
    return user_sessions.views(
        storage.list_sessions(user.sub, now), storage.list_browser_sessions(user.sub, now)
    )


def end_sessions(admin: Admin, username: str, session_id: str | None, now: int) -> tuple[User, int]:
    """End one of a user's sessions (an app's or a browser's), or every one of them; their
    access tokens are denied. Returns the user and how many sessions ended."""
    user = admin.user(username)
    storage = admin.storage
    ended = user_sessions.end(storage, storage, user.sub, now, session_id)
    if session_id is not None and not ended:
        raise NotFound(f"no live session {session_id!r} for {user.username}")
    return user, ended


def keys(admin: Admin) -> list[SigningKeyInfo]:
    return admin.storage.list_signing_keys()
