"""The consents a user gave third-party clients (the scopes approved on the consent page),
seen and withdrawn by the user: withdrawn, the next sign-in through the client asks again."""

from __future__ import annotations

from typing import Any

from authority.storage import Client, ClientStore, Consent, ConsentStore, User


class ConsentService:
    def __init__(self, consents: ConsentStore, clients: ClientStore) -> None:
        self._consents = consents
        self._clients = clients

    def list(self, user: User) -> list[dict[str, Any]]:
        """The user's remembered consents, the newest first."""
        return [
            view(c, self._clients.get_client(c.client_id))
            for c in self._consents.list_consents(user.sub)
        ]

    def withdraw(self, user: User, client_id: str) -> bool:
        """False when the user had given ``client_id`` no consent."""
        return self._consents.withdraw_consent(user.sub, client_id)


def view(consent: Consent, client: Client | None) -> dict[str, Any]:
    return {
        "client_id": consent.client_id,
        "client_name": client.name if client is not None else None,
        "scope": " ".join(consent.scopes),
        "granted_at": consent.granted_at,
    }
