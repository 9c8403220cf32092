"""A client's cookie mode and allowed origins in storage, and the CORS snapshot's source:
every enabled client's origins, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from authority.storage.sql import SqlStorage
from tests.storage.factories import NOW, make_client


def test_cookie_mode_and_the_origins_round_trip(storage: SqlStorage) -> None:
    client = make_client(
        "spa", refresh_cookie=True, allowed_origins=("https://app.example", "http://localhost:5173")
    )
    storage.add_client(client)

    assert storage.get_client("spa") == client
    assert storage.set_client_settings(
        replace(client, refresh_cookie=False, allowed_origins=("https://b.example",))
    )
    stored = storage.get_client("spa")
    assert stored is not None
    assert (stored.refresh_cookie, stored.allowed_origins) == (False, ("https://b.example",))


def test_browser_origins_lists_every_enabled_clients_origins_with_its_cookie_mode(
    storage: SqlStorage,
) -> None:
    storage.add_client(
        make_client(
            "spa", refresh_cookie=True, allowed_origins=("https://a.example", "https://b.example")
        )
    )
    storage.add_client(make_client("web", allowed_origins=("https://b.example",)))
    storage.add_client(make_client("api"))

    assert sorted(storage.browser_origins()) == [
        ("https://a.example", True),
        ("https://b.example", False),
        ("https://b.example", True),
    ]


def test_a_disabled_or_deleted_clients_origins_are_not_listed(storage: SqlStorage) -> None:
    storage.add_client(
        make_client("spa", refresh_cookie=True, allowed_origins=("https://a.example",))
    )
    storage.add_client(make_client("web", allowed_origins=("https://b.example",)))

    assert storage.set_client_disabled("spa", True, NOW)
    assert storage.browser_origins() == [("https://b.example", False)]
    assert storage.delete_client("web", NOW)
    assert storage.browser_origins() == []

    assert storage.set_client_disabled("spa", False, NOW)
    assert storage.browser_origins() == [("https://a.example", True)]
