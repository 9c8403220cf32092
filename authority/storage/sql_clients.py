"""Clients: registration, lookup, disabling and deletion (which end their sessions)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Executable, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from authority.storage.changes import signal
from authority.storage.records import ChangeKind, Client, Conflict
from authority.storage.sql_base import SqlBase, join, split
from authority.storage.sql_revocation import end_client_sessions
from authority.storage.tables import (
    authorization_codes,
    clients,
    consents,
    families,
    refresh_tokens,
)


def _settings(client: Client) -> dict[str, Any]:
    """The columns of what an operator may change of a client (``set_client_settings``)."""
    return {
        "name": client.name,
        "grant_types": join(client.grant_types),
        "scopes": join(client.scopes),
        "default_scopes": join(client.default_scopes),
        "audiences": join(client.audiences),
        "redirect_uris": join(client.redirect_uris),
        "post_logout_redirect_uris": join(client.post_logout_redirect_uris),
        "consent": client.consent,
        "refresh_cookie": client.refresh_cookie,
        "allowed_origins": join(client.allowed_origins),
    }


def _client(row: Any) -> Client:
    return Client(
        client_id=row.client_id,
        name=row.name,
        secret_hash=row.secret_hash,
        grant_types=split(row.grant_types),
        scopes=split(row.scopes),
        default_scopes=split(row.default_scopes),
        audiences=split(row.audiences),
        disabled=bool(row.disabled),
        created_at=row.created_at,
        access_token_alg=row.access_token_alg,
        resource_servers=split(row.resource_servers),
        introspect_any=bool(row.introspect_any),
        redirect_uris=split(row.redirect_uris),
        post_logout_redirect_uris=split(row.post_logout_redirect_uris),
        public=bool(row.public),
        consent=bool(row.consent),
        refresh_cookie=bool(row.refresh_cookie),
        allowed_origins=split(row.allowed_origins),
        previous_secret_hash=row.previous_secret_hash,
        previous_secret_expires_at=row.previous_secret_expires_at,
    )


class ClientsSql(SqlBase):
    def get_client(self, client_id: str) -> Client | None:
        row = self._first(select(clients).where(clients.c.client_id == client_id))
        return _client(row) if row else None

    def list_clients(self) -> list[Client]:
        rows = self._all(select(clients).order_by(clients.c.created_at, clients.c.name))
        return [_client(r) for r in rows]

    def add_client(self, client: Client) -> None:
        values = {
            **_settings(client),
            "client_id": client.client_id,
            "secret_hash": client.secret_hash,
            "disabled": client.disabled,
            "created_at": client.created_at,
            "access_token_alg": client.access_token_alg,
            "resource_servers": join(client.resource_servers),
            "introspect_any": client.introspect_any,
            "public": client.public,
            "previous_secret_hash": client.previous_secret_hash,
            "previous_secret_expires_at": client.previous_secret_expires_at,
        }

        def work(conn: Connection) -> None:
            conn.execute(insert(clients).values(**values))
            # Its browser origins, if any, are every server's to answer CORS for.
            signal(conn, ChangeKind.CLIENT, client.client_id)

        try:
            self._write(work)
        except IntegrityError:
            raise Conflict(f"client {client.client_id!r} exists") from None

    def set_client_disabled(self, client_id: str, disabled: bool, now: int) -> bool:
        """Disable (or enable) a client; disabling ends its sessions, so their access tokens
        are denied. Enabling it again revives none of them."""

        def work(conn: Connection) -> int:
            stmt = update(clients).where(clients.c.client_id == client_id)
            found = int(conn.execute(stmt.values(disabled=disabled)).rowcount)
            if found and disabled:
                end_client_sessions(conn, client_id, now)
            if found:
                signal(conn, ChangeKind.CLIENT, client_id)
            return found

        return self._write(work) == 1

    def set_client_introspection(
        self, client_id: str, resource_servers: tuple[str, ...], introspect_any: bool
    ) -> bool:
        stmt = (
            update(clients)
            .where(clients.c.client_id == client_id)
            .values(resource_servers=join(resource_servers), introspect_any=introspect_any)
        )
        return self._change_client(client_id, stmt)

    def set_client_settings(self, client: Client) -> bool:
        """Replace what an operator may change of a client, in one write: its name, grants,
        scopes, default scopes, audiences and browser settings. Its id, secrets, introspection
        rights, signing algorithm and state stay."""
        stmt = (
            update(clients)
            .where(clients.c.client_id == client.client_id)
            .values(**_settings(client))
        )
        return self._change_client(client.client_id, stmt)

    def rotate_client_secret(
        self, client_id: str, secret_hash: str, keep_until: int | None
    ) -> bool:
        """A new secret hash for a confidential client; the one it replaces keeps working until
        ``keep_until`` (None: refused at once). A secret kept from an earlier rotation is
        dropped: at most two secrets work. False for an unknown or public client."""
        previous = clients.c.secret_hash if keep_until is not None else ""
        stmt = (
            update(clients)
            .where(clients.c.client_id == client_id, clients.c.public.is_(False))
            .values(
                secret_hash=secret_hash,
                previous_secret_hash=previous,
                previous_secret_expires_at=keep_until,
            )
        )
        return self._change_client(client_id, stmt)

    def _change_client(self, client_id: str, stmt: Executable) -> bool:
        """Run an UPDATE of one client; every server drops its cached copy once it commits."""

        def work(conn: Connection) -> bool:
            if conn.execute(stmt).rowcount != 1:
                return False
            signal(conn, ChangeKind.CLIENT, client_id)
            return True

        return self._write(work)

    def browser_origins(self) -> list[tuple[str, bool]]:
        """Every enabled client's allowed browser origins, each with whether that client is in
        cookie mode (its answers there carry credentials)."""
        rows = self._all(
            select(clients.c.allowed_origins, clients.c.refresh_cookie).where(
                clients.c.disabled.is_(False), clients.c.allowed_origins != ""
            )
        )
        return [
            (origin, bool(row.refresh_cookie))
            for row in rows
            for origin in row.allowed_origins.split()
        ]

    def delete_client(self, client_id: str, now: int) -> bool:
        """Delete a client; its sessions end first, so their access tokens are denied."""

        def work(conn: Connection) -> int:
            end_client_sessions(conn, client_id, now)
            fams = select(families.c.family_id).where(families.c.client_id == client_id)
            # Explicit, so SQLite files created without foreign keys enforced lose nothing stale.
            conn.execute(delete(refresh_tokens).where(refresh_tokens.c.family_id.in_(fams)))
            conn.execute(delete(families).where(families.c.client_id == client_id))
            conn.execute(
                delete(authorization_codes).where(authorization_codes.c.client_id == client_id)
            )
            conn.execute(delete(consents).where(consents.c.client_id == client_id))
            found = conn.execute(delete(clients).where(clients.c.client_id == client_id)).rowcount
            if found:
                signal(conn, ChangeKind.CLIENT, client_id)
            return found

        return self._write(work) == 1
