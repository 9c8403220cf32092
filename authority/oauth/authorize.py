"""The authorization endpoint's flow (RFC 6749 §4.1, RFC 7636, OIDC Core §3.1.2): read a
request against its client, decide what the browser sees next (the login page, the consent
page, or the way back to the client), and issue the code. No HTTP: the web layer carries the
cookie, the forms and the pages.

Until the client and its redirect URI are known good, an error is the caller's to show (an
``OAuthError``, rendered as a page): sending the browser anywhere would make us an open
redirector (RFC 6749 §4.1.2.1). From then on every answer goes back to the client, with
``state`` and ``iss`` (RFC 9207), as an ``AuthorizationResponse``.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from authority.errors import (
    AccessDenied,
    ConsentRequired,
    InvalidRequestError,
    LoginRequired,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClientError,
    UnsupportedResponseType,
    quoted,
)
from authority.oauth import audience as audiences
from authority.oauth import redirects, scopes
from authority.oauth.codes import CodeSealer
from authority.oauth.params import Params
from authority.storage import (
    AuthorizationCode,
    BrowserSession,
    Client,
    ClientStore,
    Consent,
    ConsentStore,
)

log = logging.getLogger("authority.audit")

# Every parameter (state and nonce too) holds at most this many characters: more is refused
# with a clear invalid_request, so no URL we send back outgrows what browsers and proxies take.
MAX_LENGTH = 2000
MAX_RESOURCES = 10
# The parameters of an authorization request, carried through the login and consent forms.
PARAMETERS = (
    *("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge"),
    *("code_challenge_method", "nonce", "resource", "prompt", "max_age", "login_hint"),
    "response_mode",
)
PROMPTS = ("none", "login", "consent")
# RFC 7636 §4.2, RFC 9700 §2.1.1: S256 only ("plain" helps no one who saw the request).
CODE_CHALLENGE_METHODS = ("S256",)
RESPONSE_MODES = ("query", "form_post")
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters; the ABNF allows 43 to 128.
_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_MAX_AGE = re.compile(r"[0-9]{1,10}")


class Page(enum.Enum):
    """What the browser must be shown before the client gets an answer."""

    LOGIN = "login"
    CONSENT = "consent"


@dataclass(frozen=True)
class AuthorizationResponse:
    """The answer that goes back to the client (RFC 6749 §4.1.2, §4.1.2.1): ``fields`` in
    the redirect URI's query, or posted to it by the browser (OAuth 2.0 Form Post)."""

    redirect_uri: str
    form_post: bool
    fields: tuple[tuple[str, str], ...]

    def location(self) -> str:
        # RFC 6749 §3.1.2: a query the URI was registered with is kept.
        separator = "&" if "?" in self.redirect_uri else "?"
        return self.redirect_uri + separator + urlencode(self.fields)

    @property
    def form_target(self) -> str:
        return redirects.form_target(self.redirect_uri)


class Redirected(Exception):
    """The request failed, and the failure goes back to the client."""

    def __init__(self, response: AuthorizationResponse) -> None:
        super().__init__(dict(response.fields).get("error", ""))
        self.response = response


@dataclass(frozen=True)
class AuthorizationRequest:
    """A request known good: its client, where it goes back to, and what it asks for."""

    client: Client
    redirect_uri: str
    form_post: bool
    state: str | None
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    code_challenge: str
    nonce: str | None
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None
    # The request's own parameters, as the login and consent forms send them back.
    fields: tuple[tuple[str, str], ...]

    @property
    def form_target(self) -> str:
        """The CSP source of the redirect URI (form-action): its origin, or its scheme."""
        return redirects.form_target(self.redirect_uri)


class Authorizer:
    def __init__(
        self,
        issuer: str,
        clients: ClientStore,
        codes: CodeSealer,
        consents: ConsentStore,
        code_ttl: int,
    ) -> None:
        self.issuer = issuer
        self._clients = clients
        self._codes = codes
        self._consents = consents
        self._code_ttl = code_ttl

    # -- reading the request ---------------------------------------------------------------

    def parse(self, params: Params) -> AuthorizationRequest:
        """The request, checked in the order RFC 6749 §4.1.2.1 requires. Blocking (the
        client is looked up). Raises an ``OAuthError`` to show as a page while the client or
        its redirect URI is in doubt, ``Redirected`` once the client may be told."""
        client = self._client(params)
        redirect_uri = self._redirect_uri(params, client)
        states = params.all("state")
        state = states[0] if len(states) == 1 and len(states[0]) <= MAX_LENGTH else None
        form_post = params.all("response_mode") == ["form_post"]
        try:
            return self._checked(params, client, redirect_uri, form_post, state)
        except OAuthError as error:
            fields = _error_fields(error)
            raise Redirected(self._answer(redirect_uri, form_post, state, fields)) from None

    def _client(self, params: Params) -> Client:
        client_id = _single(params, "client_id")
        if client_id is None:
            raise InvalidRequestError("missing parameter: client_id")
        client = self._clients.get_client(client_id) if len(client_id) <= 64 else None
        if client is None or client.disabled:
            raise InvalidRequestError(f"unknown client: {quoted(client_id)}")
        return client

    @staticmethod
    def _redirect_uri(params: Params, client: Client) -> str:
        requested = _single(params, "redirect_uri")
        if requested is None:
            raise InvalidRequestError("missing parameter: redirect_uri")
        # RFC 9700 §4.1.3: the exact string registered (a loopback port aside).
        uri = redirects.matching(requested, client.redirect_uris)
        if uri is None:
            raise InvalidRequestError(
                f"redirect_uri is not registered for this client: {quoted(requested)}"
            )
        return uri

    def _checked(
        self,
        params: Params,
        client: Client,
        redirect_uri: str,
        form_post: bool,
        state: str | None,
    ) -> AuthorizationRequest:
        for name in PARAMETERS:
            values = params.all(name)
            if len(values) > 1 and name != "resource":
                raise InvalidRequestError(f"parameter {name} must not be repeated")
            if any(len(value) > MAX_LENGTH for value in values):
                raise InvalidRequestError(
                    f"parameter {name} is longer than {MAX_LENGTH} characters"
                )
        if "request" in params:
            raise RequestNotSupported()
        if "request_uri" in params:
            raise RequestUriNotSupported()
        mode = params.one("response_mode")
        if mode is not None and mode not in RESPONSE_MODES:
            raise InvalidRequestError(
                f"response_mode must be query or form_post, not {quoted(mode)}"
            )
        response_type = params.one("response_type")
        if response_type is None:
            raise InvalidRequestError("missing parameter: response_type")
        if response_type != "code":
            raise UnsupportedResponseType(
                f"response_type must be code, not {quoted(response_type)}"
            )
        if "authorization_code" not in client.grant_types:
            raise UnauthorizedClientError("this client may not use the authorization_code grant")
        challenge = _code_challenge(params)
        scope = scopes.grant(
            scopes.parse(params.one("scope")), client.scopes, client.default_scopes
        )
        resources = params.all("resource")
        if len(resources) > MAX_RESOURCES:
            raise InvalidRequestError(f"at most {MAX_RESOURCES} resource parameters")
        audience = audiences.of_login(resources, client.audiences, scope, self.issuer)
        return AuthorizationRequest(
            client=client,
            redirect_uri=redirect_uri,
            form_post=form_post,
            state=state,
            scope=scope,
            audience=audience,
            code_challenge=challenge,
            nonce=params.one("nonce"),
            prompt=_prompt(params.one("prompt")),
            max_age=_max_age(params.one("max_age")),
            login_hint=params.one("login_hint"),
            fields=tuple((name, value) for name in PARAMETERS for value in params.all(name)),
        )

    # -- deciding --------------------------------------------------------------------------

    def next_step(
        self,
        request: AuthorizationRequest,
        session: BrowserSession | None,
        now: int,
        signed_in_now: bool = False,
    ) -> Page | AuthorizationResponse:
        """What the browser with ``session`` (its single sign-on, if any) gets next: the
        login page, the consent page, or the answer (OIDC Core §3.1.2.3). Blocking (the
        consent is looked up; a code is stored). ``signed_in_now``: ``session`` was started by
        this very request, so prompt=login and max_age are satisfied."""
        if session is None or not (signed_in_now or _still_good(request, session, now)):
            if "none" in request.prompt:
                return self.refuse(request, LoginRequired())
            return Page.LOGIN
        if self._needs_consent(request, session.sub):
            if "none" in request.prompt:
                return self.refuse(request, ConsentRequired())
            return Page.CONSENT
        return self.issue(request, session, now)

    def _needs_consent(self, request: AuthorizationRequest, sub: str) -> bool:
        """A third-party client needs the user's approval of every scope it asks for; any
        client does when it asks with prompt=consent."""
        if "consent" in request.prompt:
            return True
        if not request.client.consent:
            return False
        approved = self._consents.get_consent(sub, request.client.client_id)
        return approved is None or not set(request.scope) <= set(approved.scopes)

    def approve(
        self, request: AuthorizationRequest, session: BrowserSession, now: int
    ) -> AuthorizationResponse:
        """The user allowed the client: remembered for next time, then the code."""
        self._consents.grant_consent(
            Consent(session.sub, request.client.client_id, request.scope, now)
        )
        return self.issue(request, session, now)

    def deny(self, request: AuthorizationRequest) -> AuthorizationResponse:
        log.info("consent denied client_id=%s", request.client.client_id)
        return self.refuse(request, AccessDenied())

    # -- answering -------------------------------------------------------------------------

    def issue(
        self, request: AuthorizationRequest, session: BrowserSession, now: int
    ) -> AuthorizationResponse:
        """RFC 6749 §4.1.2: a new code, bound to the client, the redirect URI, the PKCE
        challenge, the audience and the nonce; sealed, so issuing it writes nothing."""
        code = self._codes.seal(
            AuthorizationCode(
                code_hash="",
                client_id=request.client.client_id,
                redirect_uri=request.redirect_uri,
                code_challenge=request.code_challenge,
                sub=session.sub,
                scope=request.scope,
                audience=request.audience,
                nonce=request.nonce,
                auth_time=session.auth_time,
                amr=session.amr,
                browser_session_id=session.session_id,
                created_at=now,
                expires_at=now + self._code_ttl,
            )
        )
        log.info("authorization code client_id=%s sub=%s", request.client.client_id, session.sub)
        return self._answer(
            request.redirect_uri, request.form_post, request.state, (("code", code),)
        )

    def refuse(self, request: AuthorizationRequest, error: OAuthError) -> AuthorizationResponse:
        return self._answer(
            request.redirect_uri, request.form_post, request.state, _error_fields(error)
        )

    def _answer(
        self,
        redirect_uri: str,
        form_post: bool,
        state: str | None,
        fields: tuple[tuple[str, str], ...],
    ) -> AuthorizationResponse:
        """``fields`` with ``state`` as the client sent it and ``iss`` (RFC 9207 §2)."""
        if state is not None:
            fields = (*fields, ("state", state))
        return AuthorizationResponse(redirect_uri, form_post, (*fields, ("iss", self.issuer)))


def _single(params: Params, name: str) -> str | None:
    """A parameter that says which client and where to: never repeated, never oversized,
    and refused as a page, since nothing it names can be trusted yet."""
    values = params.all(name)
    if len(values) > 1:
        raise InvalidRequestError(f"parameter {name} must not be repeated")
    if values and len(values[0]) > MAX_LENGTH:
        raise InvalidRequestError(f"parameter {name} is longer than {MAX_LENGTH} characters")
    return values[0] if values else None


def _error_fields(error: OAuthError) -> tuple[tuple[str, str], ...]:
    return tuple(error.body().items())


def _code_challenge(params: Params) -> str:
    """RFC 7636 §4.3, as RFC 9700 §2.1.1 has it: PKCE for every client, S256 only. The
    method is required too, as its RFC 7636 default is plain."""
    challenge = params.one("code_challenge")
    if challenge is None:
        raise InvalidRequestError("missing parameter: code_challenge (PKCE is required)")
    method = params.one("code_challenge_method")
    if method not in CODE_CHALLENGE_METHODS:
        raise InvalidRequestError(
            "code_challenge_method must be S256: it is required, and plain is not accepted"
        )
    if _CHALLENGE.fullmatch(challenge) is None:
        raise InvalidRequestError(
            "code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9 and - . _ ~"
        )
    return challenge


def _prompt(raw: str | None) -> frozenset[str]:
    """OIDC Core §3.1.2.1: space-separated; none stands alone."""
    if raw is None:
        return frozenset()
    values = raw.split(" ")
    unknown = [v for v in values if v not in PROMPTS]
    if unknown:
        raise InvalidRequestError(
            f"prompt must be none, login or consent, not {quoted(' '.join(unknown))}"
        )
    if "none" in values and len(values) > 1:
        raise InvalidRequestError("prompt=none must not be combined with another value")
    return frozenset(values)


def _max_age(raw: str | None) -> int | None:
    """OIDC Core §3.1.2.1: seconds since the user last signed in, a non-negative integer."""
    if raw is None:
        return None
    if _MAX_AGE.fullmatch(raw) is None:
        raise InvalidRequestError(
            f"max_age must be a number of seconds (0 or more), not {quoted(raw)}"
        )
    return int(raw)


def _still_good(request: AuthorizationRequest, session: BrowserSession, now: int) -> bool:
    """The sign-in may stand for this request: no prompt=login, and not older than max_age."""
    if "login" in request.prompt:
        return False
    return request.max_age is None or now - session.auth_time <= request.max_age
