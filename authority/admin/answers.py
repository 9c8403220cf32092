"""What each operation answers, as one JSON object: what `authority ... --json` prints (less
the "database" member, which names the database a command opened) and what the admin API
returns. A secret appears only in the answer that creates it, once."""

from __future__ import annotations

from typing import Any

from authority.admin import audit
from authority.admin.keys import key_view
from authority.admin.manage import Page
from authority.admin.provision import client_view, user_view
from authority.keys.lifecycle import RotationReport
from authority.storage import Client, SigningKeyInfo, User

Answer = dict[str, Any]


def client_created(client: Client, secret: str) -> Answer:
    """The new client, and its secret unless it is public (it has none)."""
    view = client_view(client)
    return view if client.public else {**view, "client_secret": secret}


def client_with_secret(client: Client, secret: str) -> Answer:
    """The client and the new secret `clients rotate-secret` gave it."""
    return {**client_view(client), "client_secret": secret}


def client_list(clients: list[Client]) -> Answer:
    return {"clients": [client_view(c) for c in clients]}


def client_deleted(client_id: str) -> Answer:
    return {"client_id": client_id, "deleted": True}


def user_page(page: Page) -> Answer:
    """A page of users; ``next`` (when more follow) is the ``after`` of the next page."""
    answer: Answer = {"users": [user_view(u) for u in page.users]}
    if page.next is not None:
        answer["next"] = page.next
    return answer


def user_deleted(user: User) -> Answer:
    return {"sub": user.sub, "username": user.username, "deleted": True}


def password_set(user: User, ended: int, kept: bool) -> Answer:
    return {**user_view(user), "sessions_ended": ended, "sessions_kept": kept}


def session_list(views: list[dict[str, Any]]) -> Answer:
    return {"sessions": views}


def sessions_ended(count: int) -> Answer:
    return {"ended": count}


def key_list(keys: list[SigningKeyInfo]) -> Answer:
    return {"keys": [key_view(k) for k in keys]}


def rotations(reports: list[RotationReport]) -> Answer:
    return {"rotations": [vars(r) for r in reports]}


def audit_page(listing: audit.Listing) -> Answer:
    """A page of the audit trail, newest first; ``next`` (when more follow) is the
    ``before`` of the next page. (`audit list --json` writes the same object as it reads.)"""
    answer: Answer = {"events": [audit.event_view(record) for record in listing]}
    if listing.next is not None:
        answer["next"] = listing.next
    return answer
