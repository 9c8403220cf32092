"""The authorization flow without HTTP: request checks in RFC 6749 §4.1.2.1's order, the
next step for a browser, and the answer's URL."""

from __future__ import annotations

import pytest

from authority.credentials.hashing import SecretDigest
from authority.errors import InvalidRequestError
from authority.oauth.authorize import (
    AuthorizationRequest,
    AuthorizationResponse,
    Authorizer,
    Page,
    Redirected,
)
from authority.oauth.codes import CodeSealer
from authority.oauth.params import Params
from authority.oauth.redirects import form_target
from authority.storage import BrowserSession, Client, Consent

ISSUER = "https://id.example"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
CLIENT = Client(
    client_id="web",
    name="Web",
    secret_hash="",
    grant_types=("authorization_code",),
    scopes=("openid", "read"),
    default_scopes=("openid",),
    audiences=(),
    disabled=False,
    created_at=0,
    redirect_uris=("https://app.example/cb",),
    consent=True,
)
SESSION = BrowserSession("bs-1", "sub-1", 1000, ("pwd",), 1000, 1000, 9000)


class Memory:
    """A client store, code store and consent store in a few dicts."""

    def __init__(self) -> None:
        self.consents: dict[tuple[str, str], Consent] = {}

    def get_client(self, client_id: str) -> Client | None:
        return CLIENT if client_id == CLIENT.client_id else None

    def get_consent(self, sub: str, client_id: str) -> Consent | None:
        return self.consents.get((sub, client_id))

    def grant_consent(self, consent: Consent) -> None:
        self.consents[(consent.sub, consent.client_id)] = consent


SEALER = CodeSealer(SecretDigest(b"k" * 32))


@pytest.fixture
def memory() -> Memory:
    return Memory()


@pytest.fixture
def authorizer(memory: Memory) -> Authorizer:
    return Authorizer(ISSUER, memory, SEALER, memory, 60)  # type: ignore[arg-type]


def params(**changes: str | None) -> Params:
    values: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "web",
        "redirect_uri": "https://app.example/cb",
        "state": "s",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    values.update(changes)
    return Params({k: [v] for k, v in values.items() if v is not None})


def parsed(authorizer: Authorizer, **changes: str | None) -> AuthorizationRequest:
    return authorizer.parse(params(**changes))


def test_an_unknown_client_is_refused_before_anything_else(authorizer: Authorizer) -> None:
    with pytest.raises(InvalidRequestError, match="unknown client: other"):
        parsed(authorizer, client_id="other", response_type="token", redirect_uri="https://x")


def test_a_bad_redirect_uri_is_refused_before_the_response_type(authorizer: Authorizer) -> None:
    with pytest.raises(InvalidRequestError, match="redirect_uri is not registered"):
        parsed(authorizer, redirect_uri="https://evil.example/cb", response_type="token")


def test_the_response_type_is_checked_before_pkce(authorizer: Authorizer) -> None:
    with pytest.raises(Redirected) as refused:
        parsed(authorizer, response_type="token", code_challenge=None)
    assert dict(refused.value.response.fields)["error"] == "unsupported_response_type"


def test_a_good_request_carries_its_own_parameters_in_a_fixed_order(
    authorizer: Authorizer,
) -> None:
    request = parsed(authorizer, scope="read", prompt="login consent", max_age="0")
    assert (request.scope, request.audience) == (("read",), (ISSUER,))
    assert request.prompt == frozenset({"login", "consent"})
    assert request.max_age == 0
    assert [name for name, _ in request.fields] == [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
    ]


def test_no_session_means_the_login_page(authorizer: Authorizer) -> None:
    assert authorizer.next_step(parsed(authorizer), None, 1000) is Page.LOGIN


def test_max_age_counts_from_the_sign_in(authorizer: Authorizer) -> None:
    request = parsed(authorizer, max_age="100", prompt="consent")
    assert authorizer.next_step(request, SESSION, 1100) is Page.CONSENT
    assert authorizer.next_step(request, SESSION, 1101) is Page.LOGIN
    # Signed in by this very request: max_age and prompt=login are satisfied.
    assert authorizer.next_step(request, SESSION, 1101, signed_in_now=True) is Page.CONSENT


def test_approving_remembers_the_scopes_and_issues_a_code(
    authorizer: Authorizer, memory: Memory
) -> None:
    request = parsed(authorizer, scope="openid read", nonce="n")
    assert authorizer.next_step(request, SESSION, 1200) is Page.CONSENT
    answer = authorizer.approve(request, SESSION, 1200)
    code = dict(answer.fields)["code"]
    stored = SEALER.open(code)
    assert stored is not None
    assert stored.code_hash == SecretDigest(b"k" * 32).digest(code)
    assert (stored.auth_time, stored.browser_session_id, stored.expires_at) == (1000, "bs-1", 1260)
    assert memory.consents[("sub-1", "web")].scopes == ("openid", "read")
    # Fewer scopes are covered by what was approved.
    assert isinstance(
        authorizer.next_step(parsed(authorizer, scope="read"), SESSION, 1300),
        AuthorizationResponse,
    )


def test_the_answer_keeps_a_registered_query_and_ends_with_state_and_iss() -> None:
    answer = AuthorizationResponse(
        "https://app.example/cb?a=1", False, (("code", "c d"), ("state", "s"), ("iss", ISSUER))
    )
    assert answer.location() == (
        "https://app.example/cb?a=1&code=c+d&state=s&iss=https%3A%2F%2Fid.example"
    )


@pytest.mark.parametrize(
    ("uri", "target"),
    [
        ("https://app.example:8443/cb?x=1", "https://app.example:8443"),
        ("http://127.0.0.1:5000/cb", "http://127.0.0.1:5000"),
        ("com.example.app:/cb", "com.example.app:"),
    ],
)
def test_the_form_target_of_a_redirect_uri(uri: str, target: str) -> None:
    assert form_target(uri) == target
