"""A rotated client secret at /token: the old and the new one both authenticate during the
grace period, only the new one after it; and `clients update` reaches the token endpoint."""

from __future__ import annotations

from starlette.testclient import TestClient

from authority.admin import manage
from authority.admin.provision import Admin
from authority.admin.sign_in import ClientUpdate
from tests.conftest import FakeClock, Registered
from tests.http.helpers import assert_error, assert_token_response, post_token

CC = {"grant_type": "client_credentials"}
FAILED = "client authentication failed"
HOUR = 3600


def _rotate(admin: Admin, client: Registered, grace: int, clock: FakeClock) -> Registered:
    _, secret = manage.rotate_secret(admin, client.client_id, grace, int(clock()))
    return Registered(client.client_id, secret)


def _works(http: TestClient, client: Registered) -> None:
    assert_token_response(post_token(http, CC, client), refresh=False)
    # client_secret_post too: the same check
    body = {**CC, "client_id": client.client_id, "client_secret": client.secret}
    assert_token_response(post_token(http, body), refresh=False)


def _refused(http: TestClient, client: Registered) -> None:
    assert_error(post_token(http, CC, client), 401, "invalid_client", FAILED, challenge=True)
    body = {**CC, "client_id": client.client_id, "client_secret": client.secret}
    assert_error(post_token(http, body), 400, "invalid_client", FAILED)


def test_the_old_secret_is_refused_once_the_grace_period_is_over(
    http: TestClient, admin: Admin, service_client: Registered, clock: FakeClock
) -> None:
    new = _rotate(admin, service_client, 24 * HOUR, clock)

    clock.advance(24 * HOUR)

    _refused(http, service_client)
    _works(http, new)


def test_both_secrets_authenticate_during_the_grace_period(
    http: TestClient, admin: Admin, service_client: Registered, clock: FakeClock
) -> None:
    new = _rotate(admin, service_client, 24 * HOUR, clock)

    _works(http, service_client)
    _works(http, new)
    clock.advance(24 * HOUR - 1)
    _works(http, service_client)
    _refused(http, Registered(service_client.client_id, "neither of them"))


def test_no_grace_refuses_the_old_secret_at_once(
    http: TestClient, admin: Admin, service_client: Registered, clock: FakeClock
) -> None:
    new = _rotate(admin, service_client, 0, clock)

    _refused(http, service_client)
    _works(http, new)


def test_a_second_rotation_ends_the_first_secret_at_once(
    http: TestClient, admin: Admin, service_client: Registered, clock: FakeClock
) -> None:
    second = _rotate(admin, service_client, HOUR, clock)
    third = _rotate(admin, second, HOUR, clock)

    _refused(http, service_client)
    _works(http, second)
    _works(http, third)


def test_an_update_of_scopes_and_audiences_reaches_the_token_endpoint(
    http: TestClient, admin: Admin, service_client: Registered
) -> None:
    asked = {**CC, "scope": "billing", "resource": "https://billing.example"}
    refused = post_token(http, asked, service_client)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")

    admin.update_client(
        service_client.client_id,
        ClientUpdate(scopes=("read", "billing"), add_audiences=("https://billing.example",)),
    )

    body = assert_token_response(post_token(http, asked, service_client), refresh=False)
    assert body["scope"] == "billing"
