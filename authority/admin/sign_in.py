"""The rules of a client's browser sign-in settings: redirect URIs, logout redirect URIs,
public (no secret) and consent, and how they fit the client's grants."""

from __future__ import annotations

from dataclasses import dataclass

from authority.admin.errors import AdminError
from authority.oauth import redirects
from authority.oauth.grants import PUBLIC_GRANT_TYPES
from authority.oauth.grants.authorization_code import AuthorizationCodeGrant
from authority.storage import Client

# Browser sign-in is the authorization code flow; what a public client may use is the grants'.
CODE_GRANT = AuthorizationCodeGrant.grant_type
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


@dataclass(frozen=True)
class ClientUpdate:
    """What `clients update` changes; a field left at its default keeps what is stored."""

    add_redirect_uris: tuple[str, ...] = ()
    remove_redirect_uris: tuple[str, ...] = ()
    add_post_logout_redirect_uris: tuple[str, ...] = ()
    remove_post_logout_redirect_uris: tuple[str, ...] = ()
    consent: bool | None = None


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
        others = [g for g in client.grant_types if g not in PUBLIC_GRANT_TYPES]
        if others:
            return (
                "a public client (--public) has no secret to authenticate with, so it may use "
                f"only the {' and '.join(PUBLIC_GRANT_TYPES)} grants, not {', '.join(others)}"
            )
        if not code:
            return "a public client (--public) signs users in: add --grant authorization_code"
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
    """``registered`` with ``add`` appended (a URI already there stays once) and ``remove``
    taken out; removing a URI that is not registered is a mistake worth saying."""
    both = [u for u in add if u in remove]
    if both:
        raise AdminError(f"--add-{kind} and --remove-{kind} both name {both[0]!r}")
    missing = [u for u in remove if u not in registered]
    if missing:
        raise AdminError(f"--remove-{kind}: {missing[0]!r} is not registered for this client")
    added = check_redirect_uris(f"--add-{kind}", list(add), public)
    return tuple(u for u in dict.fromkeys((*registered, *added)) if u not in remove)
