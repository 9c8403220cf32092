"""The logout request's rules (OIDC RP-Initiated Logout 1.0), without HTTP or a database."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from authority.errors import InvalidRequestError
from authority.oauth.logout import LogoutRequest, Logouts
from authority.oauth.params import Params
from authority.oauth.presented import PresentedTokens
from authority.storage import Client

CLIENT = Client(
    client_id="rp",
    name="Relying Party",
    secret_hash="",
    grant_types=("authorization_code",),
    scopes=("openid",),
    default_scopes=(),
    audiences=(),
    disabled=False,
    created_at=0,
    post_logout_redirect_uris=("https://rp.example/bye", "com.example.app:/bye"),
)


class Clients:
    def __init__(self, *clients: Client) -> None:
        self._clients = {c.client_id: c for c in clients}

    def get_client(self, client_id: str) -> Client | None:
        return self._clients.get(client_id)


class Hints(PresentedTokens):
    """id_token_claims answered from a table: the hint's text is its claims' name."""

    def __init__(self, **claims: dict[str, Any]) -> None:
        self._claims = claims

    def id_token_claims(self, token: str) -> dict[str, Any] | None:
        return self._claims.get(token)


def ask(logouts: Logouts, **fields: str) -> LogoutRequest:
    return logouts.request(Params({k: [v] for k, v in fields.items()}))


def refused(logouts: Logouts, description: str, **fields: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ask(logouts, **fields)
    assert caught.value.description == description


def test_a_disabled_client_is_as_unknown_as_a_missing_one() -> None:
    logouts = Logouts(Hints(), Clients(replace(CLIENT, disabled=True)))

    refused(logouts, "unknown client", client_id="rp")
    refused(logouts, "unknown client", client_id="other")


def test_a_hint_with_several_audiences_names_its_azp_or_needs_client_id() -> None:
    hints = Hints(
        azp={"sub": "u", "aud": ["api", "rp"], "azp": "rp"},
        several={"sub": "u", "aud": ["api", "rp"]},
    )
    logouts = Logouts(hints, Clients(CLIENT))

    assert ask(logouts, id_token_hint="azp").client == CLIENT
    assert ask(logouts, id_token_hint="several", client_id="rp").client == CLIENT
    refused(
        logouts,
        "the id_token_hint names several audiences: send client_id",
        id_token_hint="several",
    )


def test_state_without_a_redirect_uri_goes_nowhere() -> None:
    request = ask(Logouts(Hints(), Clients(CLIENT)), client_id="rp", state="s")

    assert request.after() is None
    assert request.form_targets() == ()


@pytest.mark.parametrize(
    ("uri", "after", "target"),
    [
        ("https://rp.example/bye", "https://rp.example/bye?state=a%2Fb", "https://rp.example"),
        ("com.example.app:/bye", "com.example.app:/bye?state=a%2Fb", "com.example.app:"),
    ],
)
def test_the_browser_goes_back_with_state_to_a_target_the_page_allows(
    uri: str, after: str, target: str
) -> None:
    request = ask(
        Logouts(Hints(), Clients(CLIENT)),
        client_id="rp",
        post_logout_redirect_uri=uri,
        state="a/b",
    )

    assert request.after() == after
    assert request.form_targets() == (target,)
    assert request.fields == {"client_id": "rp", "post_logout_redirect_uri": uri, "state": "a/b"}
