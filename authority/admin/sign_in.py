"""The rules of a client's browser settings: redirect URIs, logout redirect URIs, public (no
secret), consent, cookie mode and allowed origins, and how they fit the client's grants."""

from __future__ import annotations

from dataclasses import dataclass

from authority.admin.errors import AdminError
from authority.oauth import origins, redirects
from authority.oauth.grants import public_grant_types
from authority.oauth.grants.authorization_code import AuthorizationCodeGrant
from authority.oauth.grants.password import PasswordGrant
from authority.oauth.grants.refresh_token import RefreshTokenGrant
from authority.storage import Client

# Browser sign-in is the authorization code flow; what a public client may use is the grants'.
CODE_GRANT = AuthorizationCodeGrant.grant_type
PASSWORD_GRANT = PasswordGrant.grant_type
REFRESH_GRANT = RefreshTokenGrant.grant_type
# How each browser sign-in setting is named on the command line, for `create` and `update`.
CREATE_FLAGS = {
    "redirect_uris": "--redirect-uri",
    "post_logout_redirect_uris": "--post-logout-redirect-uri",
    "consent": "--consent",
}
UPDATE_FLAGS = {
    "redirect_uris": "--add-redirect-uri",
    "post_logout_redirect_uris": "--add-post-logout-redirect-uri",
    "consent": "--consent",
}
# When an update changes the grants, the settings the client already has are what no longer fit.
REGRANT_FLAGS = {
    "redirect_uris": "a redirect URI (remove it with --remove-redirect-uri)",
    "post_logout_redirect_uris": "a post-logout redirect URI (remove it with "
    "--remove-post-logout-redirect-uri)",
    "consent": "consent (clear it with --no-consent)",
}


@dataclass(frozen=True)
class ClientUpdate:
    """What `clients update` changes; a field left at its default keeps what is stored."""

    add_redirect_uris: tuple[str, ...] = ()
    remove_redirect_uris: tuple[str, ...] = ()
    add_post_logout_redirect_uris: tuple[str, ...] = ()
    remove_post_logout_redirect_uris: tuple[str, ...] = ()
    consent: bool | None = None
    add_allowed_origins: tuple[str, ...] = ()
    remove_allowed_origins: tuple[str, ...] = ()
    refresh_cookie: bool | None = None
    # What the client may be issued (authority.admin.access): None keeps what is stored;
    # grants and scopes are replaced, audiences added or removed as the URIs above.
    name: str | None = None
    grant_types: tuple[str, ...] | None = None
    scopes: tuple[str, ...] | None = None
    default_scopes: tuple[str, ...] | None = None
    add_audiences: tuple[str, ...] = ()
    remove_audiences: tuple[str, ...] = ()


def check_origins(flag: str, given: list[str]) -> tuple[str, ...]:
    """Allowed origins as a browser sends them (authority.oauth.origins), once each."""
    found = []
    for origin in given:
        try:
            found.append(origins.canonical(origin))
        except ValueError as exc:
            raise AdminError(f"{flag}: {exc}") from None
    return tuple(dict.fromkeys(found))


def edited_origins(
    registered: tuple[str, ...], add: tuple[str, ...], remove: tuple[str, ...]
) -> tuple[str, ...]:
    """``registered`` with ``add`` appended and ``remove`` taken out (see ``edited``)."""
    added = check_origins("--allowed-origin", list(add))
    removed = check_origins("--remove-allowed-origin", list(remove))
    return edited(registered, added, removed, "--allowed-origin", "--remove-allowed-origin")


def edited(
    registered: tuple[str, ...],
    added: tuple[str, ...],
    removed: tuple[str, ...],
    add_flag: str,
    remove_flag: str,
) -> tuple[str, ...]:
    """``registered`` with ``added`` appended (one already there stays once) and ``removed``
    taken out; removing one that is not there is a mistake worth saying."""
    both = [v for v in added if v in removed]
    if both:
        raise AdminError(f"{add_flag} and {remove_flag} both name {both[0]!r}")
    missing = [v for v in removed if v not in registered]
    if missing:
        raise AdminError(f"{remove_flag}: {missing[0]!r} is not registered for this client")
    return tuple(v for v in dict.fromkeys((*registered, *added)) if v not in removed)


def check_redirect_uris(flag: str, uris: list[str], public: bool) -> tuple[str, ...]:
    """Redirect URIs as a client may register them (authority.oauth.redirects), once each."""
    for uri in uris:
        reason = redirects.problem(uri, public)
        if reason is not None:
            shown = repr(uri if len(uri) <= 80 else uri[:80] + "...")
            raise AdminError(f"{flag} {shown}: {reason}")
    return tuple(dict.fromkeys(uris))


def check_sign_in(client: Client, flags: dict[str, str]) -> None:
    """A client's browser sign-in settings fit its grants; ``flags`` names the settings."""
    reason = sign_in_problem(client, flags)
    if reason is not None:
        raise AdminError(reason)


def sign_in_problem(client: Client, flags: dict[str, str]) -> str | None:
    """Why a client's browser sign-in settings do not fit its grants, or None when they do."""
    code = CODE_GRANT in client.grant_types
    if client.public:
        allowed = public_grant_types(client)
        others = [g for g in client.grant_types if g not in allowed]
        if others:
            reason = (
                "a public client (--public) has no secret to authenticate with, so it may use "
                f"only the {', '.join(allowed[:-1])} and {allowed[-1]} grants, not "
                f"{', '.join(others)}"
            )
            if PASSWORD_GRANT in others:
                reason += (
                    " (the password grant only with --refresh-cookie: a first-party "
                    "single-page app)"
                )
            return reason
        if not code and not (client.refresh_cookie and PASSWORD_GRANT in client.grant_types):
            return (
                "a public client (--public) signs users in: add --grant authorization_code "
                "(or, for a first-party single-page app, --grant password with --refresh-cookie)"
            )
    if client.refresh_cookie:
        if REFRESH_GRANT not in client.grant_types:
            return (
                "--refresh-cookie carries the refresh token, which this client never gets: "
                "add --grant refresh_token"
            )
        if not client.allowed_origins:
            return (
                "--refresh-cookie needs at least one --allowed-origin: the origin of the pages "
                "that may use the cookie"
            )
    if code and not client.redirect_uris:
        return (
            "the authorization_code grant needs at least one --redirect-uri, where the browser "
            "brings the code back"
        )
    if not code:
        settings = ("redirect_uris", "post_logout_redirect_uris", "consent")
        for name in (n for n in settings if getattr(client, n)):
            return (
                f"{flags[name]} is for browser sign-in, which this client does not use: it "
                "needs --grant authorization_code"
            )
    return None


def edited_uris(
    kind: str,
    registered: tuple[str, ...],
    add: tuple[str, ...],
    remove: tuple[str, ...],
    public: bool,
) -> tuple[str, ...]:
    """``registered`` with ``add`` appended and ``remove`` taken out (see ``edited``)."""
    added = check_redirect_uris(f"--add-{kind}", list(add), public)
    return edited(registered, added, tuple(remove), f"--add-{kind}", f"--remove-{kind}")
