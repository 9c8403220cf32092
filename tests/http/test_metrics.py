"""GET /metrics (AUTHORITY_METRICS): Prometheus's text format, read with prometheus-client's
own parser; a bearer token on the server's port, nothing but /metrics on the metrics port;
counts that move with requests, tokens, failed logins and refresh reuse; bounded labels."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.observe.metrics import CLIENT_LABELS, OTHER
from authority.runtime import Authority
from authority.settings import Settings
from authority.web.app import create_app
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.helpers import post_token
from tests.metrics_helpers import BEARER, METRICS_TOKEN, Samples, label_values, parse, value

CC = {"grant_type": "client_credentials"}
PASSWORD = "correct horse battery"
METRICS_PORT = 9464
DAY = 86400


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(metrics=True, metrics_token=METRICS_TOKEN, login_max_failures=2)


def scrape(http: TestClient) -> Samples:
    response = http.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    return parse(response.text)


def login(http: TestClient, client: Registered, password: str = PASSWORD) -> int:
    data = {"grant_type": "password", "username": "alice", "password": password}
    return post_token(http, data, client).status_code


# -- who may read them ------------------------------------------------------------------------


def test_metrics_without_the_token_get_401_with_a_bearer_challenge(http: TestClient) -> None:
    response = http.get("/metrics")
    assert (response.status_code, response.json()) == (401, {"error": "invalid_token"})
    assert response.headers["www-authenticate"] == 'Bearer realm="authority"'


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {METRICS_TOKEN}x",
        f"Bearer {METRICS_TOKEN[:-1]}",
        "Bearer " + "A" * 64,
        f"Basic {METRICS_TOKEN}",
    ],
    ids=["longer", "shorter", "another", "basic"],
)
def test_metrics_with_a_wrong_token_get_401_invalid_token(
    http: TestClient, authorization: str
) -> None:
    response = http.get("/metrics", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith('Bearer realm="authority", error=')
    assert METRICS_TOKEN not in response.text


def test_metrics_are_not_there_when_off(authority: Authority) -> None:
    off = Authority(authority.settings.replace(metrics=False), authority.storage, authority.clock)
    with TestClient(create_app(authority=off), base_url=ISSUER) as http:
        assert http.get("/metrics", headers=BEARER).status_code == 404


def test_without_a_token_the_servers_own_port_has_no_metrics(authority: Authority) -> None:
    settings = authority.settings.replace(metrics_token=None, metrics_port=METRICS_PORT)
    ported = Authority(settings, authority.storage, authority.clock)
    with TestClient(create_app(authority=ported), base_url=ISSUER) as http:
        assert http.get("/metrics", headers=BEARER).status_code == 404
        assert http.post("/token", data=CC).status_code == 400  # the routes are all there


def test_the_metrics_port_answers_metrics_without_a_token_and_nothing_else(
    authority: Authority, service_client: Registered
) -> None:
    settings = authority.settings.replace(metrics_token=None, metrics_port=METRICS_PORT)
    ported = Authority(settings, authority.storage, authority.clock)
    app = create_app(authority=ported)
    with (
        TestClient(app, base_url=f"http://127.0.0.1:{METRICS_PORT}") as metrics_port,
        TestClient(app, base_url=ISSUER) as main_port,
    ):
        assert post_token(main_port, CC, service_client).status_code == 200
        response = metrics_port.get("/metrics")
        assert response.status_code == 200
        assert (
            value(
                parse(response.text),
                "authority_tokens_issued_total",
                grant_type="client_credentials",
                client_id=service_client.client_id,
            )
            == 1
        )
        for path in ("/token", "/jwks.json", "/.well-known/openid-configuration", "/healthz"):
            assert metrics_port.get(path).status_code == 404, path
        refused = post_token(metrics_port, CC, service_client)
        assert refused.status_code == 404
        assert "access_token" not in refused.text
        # Scrapes are not the service's traffic: the listener's requests are not counted.
        samples = parse(metrics_port.get("/metrics").text)
        assert label_values(samples, "authority_http_requests_total", "route") == {"token"}


# -- what they count --------------------------------------------------------------------------


def test_the_metrics_parse_and_move_with_requests_and_tokens(
    http: TestClient, service_client: Registered
) -> None:
    before = scrape(http)
    for _ in range(3):
        assert post_token(http, CC, service_client).status_code == 200
    assert post_token(http, {"grant_type": "nope"}, service_client).status_code == 400
    assert http.get("/jwks.json").status_code == 200
    after = scrape(http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("authority_http_requests_total", route="token", method="POST", status="200") == 3
    assert moved("authority_http_requests_total", route="token", method="POST", status="400") == 1
    assert moved("authority_http_requests_total", route="jwks", method="GET", status="200") == 1
    latency = "authority_http_request_duration_seconds"
    assert moved(latency + "_count", route="token", method="POST") == 4
    assert moved(latency + "_bucket", route="token", method="POST", le="+Inf") == 4
    assert moved(latency + "_sum", route="token", method="POST") > 0
    issued = {"grant_type": "client_credentials", "client_id": service_client.client_id}
    assert moved("authority_tokens_issued_total", **issued) == 3


def test_failed_logins_lockouts_and_refresh_reuse_are_counted(
    http: TestClient, authority: Authority, app_client: Registered, alice: str, clock: FakeClock
) -> None:
    assert login(http, app_client) == 200
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    first = post_token(http, data, app_client).json()["refresh_token"]
    again = {"grant_type": "refresh_token", "refresh_token": first}
    assert post_token(http, again, app_client).status_code == 200
    clock.advance(authority.settings.refresh_reuse_window + 1)
    assert post_token(http, again, app_client).status_code == 400  # a reuse
    assert login(http, app_client, "wrong password!") == 400
    assert login(http, app_client, "wrong password!") == 400
    assert login(http, app_client) == 400  # locked out after two failures

    samples = scrape(http)
    assert value(samples, "authority_refresh_token_reuse_total") == 1
    assert value(samples, "authority_login_failures_total") == 2
    assert value(samples, "authority_login_lockouts_total") == 1
    tokens = "authority_tokens_issued_total"
    who = {"client_id": app_client.client_id}
    assert value(samples, tokens, grant_type="password", **who) == 2
    assert value(samples, tokens, grant_type="refresh_token", **who) == 1


def test_the_key_timings_follow_the_clock(http: TestClient, clock: FakeClock) -> None:
    samples = scrape(http)
    age = value(samples, "authority_signing_key_age_seconds", alg="ES256")
    rotation = value(samples, "authority_key_next_rotation_seconds", alg="ES256")
    # The key was made by the wall clock, around the test clock's start.
    assert abs(age) < 5
    assert rotation == 30 * DAY - age  # AUTHORITY_KEY_ROTATION_DAYS's default
    clock.advance(DAY)
    samples = scrape(http)
    assert value(samples, "authority_signing_key_age_seconds", alg="ES256") == age + DAY
    assert value(samples, "authority_key_next_rotation_seconds", alg="ES256") == rotation - DAY


def test_no_rotation_series_when_none_is_scheduled(authority: Authority) -> None:
    settings = authority.settings.replace(key_rotation_days=0)
    unscheduled = Authority(settings, authority.storage, authority.clock)
    with TestClient(create_app(authority=unscheduled), base_url=ISSUER) as http:
        samples = scrape(http)
    assert label_values(samples, "authority_signing_key_age_seconds", "alg") == {"ES256"}
    assert label_values(samples, "authority_key_next_rotation_seconds", "alg") == set()


def test_the_pool_gauge_counts_connections_lent_out(http: TestClient, authority: Authority) -> None:
    idle = value(scrape(http), "authority_db_pool_connections_in_use")
    with authority.storage.engine.connect():
        held = value(scrape(http), "authority_db_pool_connections_in_use")
    assert held == idle + 1


def test_outages_are_counted_by_kind(
    http: TestClient,
    authority: Authority,
    service_client: Registered,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    def exhausted(*_args: object) -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached")

    monkeypatch.setattr(authority.storage, "get_client", exhausted)
    assert post_token(http, CC, service_client).status_code == 503
    assert post_token(http, CC, service_client).status_code == 503
    assert value(scrape(http), "authority_outages_total", kind="TimeoutError") == 2


# -- bounded labels ---------------------------------------------------------------------------


def test_no_raw_path_method_user_or_address_becomes_a_label(
    http: TestClient, app_client: Registered, alice: str
) -> None:
    assert http.get("/no/such/path/alice-secret-1").status_code == 404
    assert http.request("BREW", "/token").status_code == 405
    assert http.delete("/sessions/some-session-id").status_code == 401
    assert login(http, app_client) == 200
    text = http.get("/metrics", headers=BEARER).text
    samples = parse(text)
    requests = "authority_http_requests_total"
    assert value(samples, requests, route="unmatched", method="GET", status="404") == 1
    assert value(samples, requests, route="token", method="other", status="405") == 1
    assert value(samples, requests, route="end_one_session", method="DELETE", status="401") == 1
    for leaked in ("alice", "some-session-id", "BREW", "testclient", alice):
        assert leaked not in text


def test_the_client_label_is_capped_at_the_first_clients(http: TestClient, admin: Admin) -> None:
    clients: list[Registered] = []
    for i in range(CLIENT_LABELS + 5):
        made, secret = admin.create_client(f"c{i}", ["client_credentials"], ["read"], None, [])
        clients.append(Registered(made.client_id, secret))
    for client in clients:
        assert post_token(http, CC, client).status_code == 200
    assert post_token(http, CC, clients[0]).status_code == 200
    samples = scrape(http)
    tokens = "authority_tokens_issued_total"
    named = label_values(samples, tokens, "client_id")
    assert named == {c.client_id for c in clients[:CLIENT_LABELS]} | {OTHER}
    assert value(samples, tokens, grant_type="client_credentials", client_id=OTHER) == 5
    who = {"grant_type": "client_credentials", "client_id": clients[0].client_id}
    assert value(samples, tokens, **who) == 2
