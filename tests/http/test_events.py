"""The events a request causes carry its identity: the request id (echoed as X-Request-ID),
the caller's address and user agent."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authority.events import ActorKind, Event, Events, EventType
from authority.runtime import Authority
from tests.conftest import Registered
from tests.http.helpers import post_token

PASSWORD = "correct horse battery"


@pytest.fixture
def heard(authority: Authority) -> list[Event]:
    events: list[Event] = []
    authority.events.listen(events.append)
    return events


def test_a_login_is_recorded_with_its_request(
    http: TestClient, app_client: Registered, alice: str, heard: list[Event]
) -> None:
    response = post_token(
        http,
        {"grant_type": "password", "username": "alice", "password": PASSWORD},
        app_client,
        headers={"X-Request-ID": "abc-123", "User-Agent": "probe/1"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123"
    login, issued = heard
    assert (login.type, login.actor_kind, login.actor) == (
        EventType.LOGIN_SUCCEEDED,
        ActorKind.USER,
        alice,
    )
    assert login.client_id == app_client.client_id
    assert issued.type is EventType.TOKEN_ISSUED
    assert issued.detail["grant_type"] == "password"
    for event in heard:
        assert event.request is not None
        assert event.request.request_id == "abc-123"
        assert event.request.user_agent == "probe/1"
        assert event.request.ip == "testclient"


def test_a_failed_login_names_the_username_and_never_the_password(
    http: TestClient, app_client: Registered, alice: str, heard: list[Event]
) -> None:
    data = {"grant_type": "password", "username": "alice", "password": "wrong password!"}
    assert post_token(http, data, app_client).status_code == 400
    (failed,) = heard
    assert failed.type is EventType.LOGIN_FAILED
    assert failed.subject == alice
    assert failed.detail["username"] == "alice"
    assert "wrong password!" not in repr(failed)


@pytest.mark.parametrize("given", [None, "", "x" * 129, "a b", "id\r\nforged: 1"])
def test_a_missing_or_insane_request_id_is_replaced(http: TestClient, given: str | None) -> None:
    headers = {} if given is None else {"X-Request-ID": given}
    try:
        response = http.get("/healthz", headers=headers)
    except Exception:  # the client itself refuses a header with a line break
        assert given is not None and "\n" in given
        return
    echoed = response.headers["x-request-id"]
    assert echoed != given
    assert len(echoed) == 32 and echoed.isalnum()


def test_a_listener_that_fails_never_fails_the_request(
    http: TestClient, authority: Authority, service_client: Registered
) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("listener down")

    heard: list[Event] = []
    authority.events.listen(broken)
    authority.events.listen(heard.append)
    data = {"grant_type": "client_credentials"}
    assert post_token(http, data, service_client).status_code == 200
    assert post_token(http, data, service_client).status_code == 200
    assert [e.type for e in heard] == [EventType.TOKEN_ISSUED] * 2


def test_a_listener_hears_only_the_types_it_asked_for() -> None:
    events = Events()
    logins: list[Event] = []
    everything: list[Event] = []
    events.listen(logins.append, lambda t: t is EventType.LOGIN_FAILED)
    events.listen(everything.append)
    events.record(EventType.TOKEN_ISSUED, ActorKind.CLIENT, "c", grant_type="password")
    events.record(EventType.LOGIN_FAILED, ActorKind.CLIENT, "c", username="bob")
    assert [e.type for e in logins] == [EventType.LOGIN_FAILED]
    assert [e.type for e in everything] == [EventType.TOKEN_ISSUED, EventType.LOGIN_FAILED]
