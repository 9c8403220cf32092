"""A code from /authorize is what /token redeems: the two halves of the code flow meet."""

from __future__ import annotations

from starlette.testclient import TestClient

from authority.runtime import Authority
from tests.conftest import ISSUER
from tests.http.authorize_helpers import (
    REDIRECT_URI,
    VERIFIER,
    add_web_client,
    log_in,
    redirect_query,
    request_params,
)
from tests.http.helpers import post_token, unverified_claims


def test_a_public_client_redeems_the_code_of_a_browser_sign_in(
    http: TestClient, authority: Authority, alice: str
) -> None:
    spa = add_web_client(authority.storage, public=True)
    response = log_in(http, request_params(spa))
    code = redirect_query(response)["code"]
    session = authority.browser.find(response.cookies["authority_session"], authority.now())
    assert session is not None
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
        "client_id": spa.client_id,
    }
    answer = post_token(http, exchange)
    assert answer.status_code == 200, answer.text
    id_token = unverified_claims(answer.json()["id_token"])
    assert (id_token["iss"], id_token["sub"], id_token["aud"]) == (ISSUER, alice, spa.client_id)
    assert (id_token["nonce"], id_token["sid"]) == ("n-0S6_WzA2Mj", session.session_id)
    assert post_token(http, exchange).json()["error"] == "invalid_grant"  # single use
