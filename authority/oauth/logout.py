"""OIDC RP-Initiated Logout 1.0 §2-3: what a logout request names (the client, where the
browser goes after) and whether it may. No HTTP, no SQL: the web layer asks the user to
confirm and ends the browser session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from authority.errors import InvalidRequestError
from authority.oauth import redirects
from authority.oauth.params import Params
from authority.oauth.presented import PresentedTokens, audiences
from authority.storage import Client, ClientStore

# The parameters of §2 this server acts on (ui_locales and logout_hint are ignored), in the
# order the confirmation form carries them back.
PARAMETERS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


@dataclass(frozen=True)
class LogoutRequest:
    fields: dict[str, str]  # the request's own parameters, for the confirmation form
    client: Client | None
    redirect_uri: str | None  # a registered post_logout_redirect_uri, or None
    state: str | None

    def after(self) -> str | None:
        """§3: where the browser goes once signed out, ``state`` added to the URI's query;
        None: the server's own signed-out page."""
        if self.redirect_uri is None or self.state is None:
            return self.redirect_uri
        separator = "&" if urlsplit(self.redirect_uri).query else "?"
        return self.redirect_uri + separator + urlencode({"state": self.state})

    def form_targets(self) -> tuple[str, ...]:
        """The CSP form-action source of the redirect after the confirmation's POST (browsers
        check the redirect too): the redirect URI's origin, or ``scheme:`` for a private-use
        scheme."""
        if self.redirect_uri is None:
            return ()
        return (redirects.form_target(self.redirect_uri),)


class Logouts:
    def __init__(self, tokens: PresentedTokens, clients: ClientStore) -> None:
        self._tokens = tokens
        self._clients = clients

    def request(self, params: Params) -> LogoutRequest:
        """The logout ``params`` ask for, or InvalidRequestError: the caller shows that as a
        page and never redirects anywhere on a refused request."""
        fields = {name: value for name in PARAMETERS if (value := params.one(name)) is not None}
        client_id = fields.get("client_id")
        hint = fields.get("id_token_hint")
        if hint is not None:
            client_id = _hinted_client(self._tokens.id_token_claims(hint), client_id)
        client = None
        if client_id is not None:
            client = self._clients.get_client(client_id)
            if client is None or client.disabled:
                raise InvalidRequestError("unknown client")
        uri = fields.get("post_logout_redirect_uri")
        if uri is not None:
            _check_redirect(uri, client)
        return LogoutRequest(fields, client, uri, fields.get("state"))


def _hinted_client(claims: dict[str, Any] | None, client_id: str | None) -> str:
    """The client an id_token_hint was issued to; with ``client_id`` also given, the hint
    must have been issued to it (§2)."""
    if claims is None:
        raise InvalidRequestError("the id_token_hint is not an ID token issued by this server")
    aud = audiences(claims)
    if client_id is not None:
        if client_id not in aud:
            raise InvalidRequestError("the id_token_hint was not issued to this client_id")
        return client_id
    if len(aud) == 1:
        return aud[0]
    azp = claims.get("azp")
    if isinstance(azp, str) and azp in aud:
        return azp
    raise InvalidRequestError("the id_token_hint names several audiences: send client_id")


def _check_redirect(uri: str, client: Client | None) -> None:
    """§3: only a URI registered for the client, by exact string: anything else would make
    this server an open redirector."""
    if client is None:
        raise InvalidRequestError(
            "post_logout_redirect_uri needs a client_id or id_token_hint naming the client"
        )
    if uri not in client.post_logout_redirect_uris:
        raise InvalidRequestError("post_logout_redirect_uri is not registered for this client")
