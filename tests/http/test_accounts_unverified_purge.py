"""Registrations never verified and never signed in are purged once they are old enough."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from authority.settings import Settings
from authority.storage import LinkToken, Registration, User
from tests.conftest import FakeClock, Registered
from tests.http.account_helpers import NEW_PASSWORD, login, register
from tests.mailbox import Mailbox, token

WEEK = 7 * 86400


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(registration="open")


def _registered(http: TestClient, username: str) -> str:
    response = register(http, username, f"{username}@example.com")
    assert response.status_code == 201, response.text
    return str(response.json()["sub"])


def test_the_maintenance_purges_registrations_abandoned_for_the_ttl(
    http: TestClient,
    authority: Authority,
    app_client: Registered,
    alice: str,
    mailbox: Mailbox,
    clock: FakeClock,
) -> None:
    abandoned = _registered(http, "abandoned")
    verified = _registered(http, "verified")
    signed_in = _registered(http, "signed-in")
    link = token(mailbox.messages("verified@example.com")[0], "/accounts/verify-email")
    assert http.post("/accounts/verify-email", json={"token": link}).status_code == 200
    assert login(http, app_client, NEW_PASSWORD, username="signed-in").status_code == 200

    clock.advance(WEEK - 1)
    authority.housekeep()
    assert authority.storage.get_user(abandoned) is not None  # not old enough yet

    clock.advance(1)
    authority.housekeep()

    assert authority.storage.get_user(abandoned) is None
    for kept in (verified, signed_in, alice):  # alice: made by the operator, never purged
        assert authority.storage.get_user(kept) is not None
    assert register(http, "abandoned", "abandoned@example.com").status_code == 201  # free again


def test_prune_purges_them_too_and_says_how_many(
    http: TestClient, authority: Authority, admin: Admin, clock: FakeClock
) -> None:
    subs = [_registered(http, f"user{n}") for n in range(3)]

    assert admin.purge(authority.now() + WEEK)["unverified_accounts"] == 3
    assert all(authority.storage.get_user(sub) is None for sub in subs)


def test_a_ttl_of_zero_keeps_every_account(
    http: TestClient, authority: Authority, clock: FakeClock
) -> None:
    sub = _registered(http, "kept")
    authority.settings = authority.settings.replace(unverified_account_ttl=0)

    clock.advance(400 * 86400)
    authority.housekeep()

    assert authority.storage.get_user(sub) is not None


def test_the_storage_purge_goes_in_bounded_batches(authority: Authority) -> None:
    storage, now = authority.storage, 1_790_000_000
    for n in range(5):
        user = User(f"s{n}", f"u{n}", f"u{n}@example.com", "x", False, now, unconfirmed_since=now)
        link = LinkToken(f"{n:064d}", "verify_email", user.sub, now, now + 86400)
        assert storage.register_user(user, link) is Registration.CREATED

    assert storage.purge_unconfirmed(now + 1, batch=2, max_batches=2) == 4
    assert storage.purge_unconfirmed(now + 1, batch=2) == 1
    assert storage.list_users() == []
