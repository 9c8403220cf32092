"""The example relying party's own rules, without an authority: its configuration, and the
answers it gives before it would call one."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from examples.relying_party.app import create_app

CONFIG = {"RP_ISSUER": "http://127.0.0.1:8000", "RP_CLIENT_ID": "app"}


@pytest.mark.parametrize("missing", sorted(CONFIG))
def test_the_app_refuses_to_start_without_its_issuer_or_client_id(missing: str) -> None:
    config = {name: value for name, value in CONFIG.items() if name != missing}
    with pytest.raises(SystemExit) as stopped:
        create_app(config)
    assert str(stopped.value).startswith(f"relying_party: set {missing}, e.g. {missing}=")


def test_a_visitor_without_a_session_is_offered_to_sign_in() -> None:
    with TestClient(create_app(CONFIG)) as http:
        home = http.get("/")
    assert home.status_code == 200
    assert "<title>Not signed in</title>" in home.text
    assert '<a href="/login">Sign in</a>' in home.text


def test_an_answer_from_another_issuer_is_refused_before_any_exchange() -> None:
    """RFC 9207: a mix-up attack's code never reaches the token endpoint."""
    with TestClient(create_app(CONFIG)) as http:
        answer = http.get("/callback", params={"code": "c", "state": "s", "iss": "https://evil"})
    assert answer.status_code == 400
    assert "The answer names another issuer." in answer.text


def test_signing_out_without_a_session_goes_home_and_a_stray_logout_answer_is_refused() -> None:
    with TestClient(create_app(CONFIG)) as http:
        out = http.post("/logout", follow_redirects=False)
        stray = http.get("/signed-out", params={"state": "never-sent"})
    assert (out.status_code, out.headers["location"]) == (303, "/")
    assert stray.status_code == 400
    assert "<title>Sign-out not confirmed</title>" in stray.text
