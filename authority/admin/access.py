"""What a client may be issued: its grants, scopes, default scopes and audiences, the same
rules for `clients create` and `clients update`."""

from __future__ import annotations

from dataclasses import replace

from authority.admin.errors import AdminError
from authority.admin.sign_in import CODE_GRANT, PASSWORD_GRANT, REFRESH_GRANT, ClientUpdate, edited
from authority.oauth import audience as audiences
from authority.oauth import scopes
from authority.oauth.grants import GRANT_TYPES
from authority.oauth.grants.client_credentials import ClientCredentialsGrant
from authority.storage import Client

# The grants that sign a user in, each starting a session the refresh_token grant continues.
USER_GRANTS = (PASSWORD_GRANT, CODE_GRANT)
CLIENT_CREDENTIALS_GRANT = ClientCredentialsGrant.grant_type
ADMIN_SCOPE = scopes.ADMIN


def check_name(name: str) -> str:
    if not name.strip() or len(name) > 200:
        raise AdminError("a client name must hold 1 to 200 characters", field="name")
    return name.strip()


def check_grants(grant_types: list[str]) -> tuple[str, ...]:
    """Known grants, once each."""
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if unknown or not grant_types:
        raise AdminError(f"--grant must be one or more of: {', '.join(GRANT_TYPES)}")
    return tuple(dict.fromkeys(grant_types))


def check_issues(client: Client) -> None:
    """The client's grants issue something: refresh_token alone only continues a session
    another grant started, and no other grant would ever start one. (Checked after the
    browser rules, whose reason is the more telling one for a public client.)"""
    if client.grant_types == (REFRESH_GRANT,):
        raise AdminError(
            "--grant refresh_token alone issues nothing: a refresh token only continues a "
            f"session that {' or '.join(USER_GRANTS)} starts; add one of them"
        )


def admin_access(
    grant_types: list[str], scope: list[str], admin: bool
) -> tuple[list[str], list[str]]:
    """The grants and scopes a new client asks for; with --admin, the client_credentials
    grant (when no grant is named) and the admin scope besides the others named."""
    if not admin:
        return grant_types, scope
    return grant_types or [CLIENT_CREDENTIALS_GRANT], [ADMIN_SCOPE, *scope]


def check_admin(client: Client, admin: bool) -> None:
    """The admin API's scope belongs to admin clients alone: one created with --admin holds
    it for good, with the client_credentials grant alone; no other client may be given it,
    neither at its creation nor by an update."""
    holds = ADMIN_SCOPE in client.scopes
    if holds and not admin:
        raise AdminError(
            f"the {ADMIN_SCOPE} scope is for admin clients only: create one with "
            "'authority clients create NAME --admin'",
            field="scopes",
        )
    if admin and not holds:
        raise AdminError(
            f"an admin client keeps the {ADMIN_SCOPE} scope in --scope: disable or delete it "
            "to end its access",
            field="scopes",
        )
    if admin and client.grant_types != (CLIENT_CREDENTIALS_GRANT,):
        raise AdminError(
            f"an admin client (--admin) uses the {CLIENT_CREDENTIALS_GRANT} grant alone",
            field="grant_types",
        )


def check_scopes(
    scope: list[str], default_scope: list[str] | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The allowed scopes and the default ones (all allowed when not named), once each."""
    for field, tokens in (("scopes", scope), ("default_scopes", default_scope or [])):
        try:
            scopes.check_syntax(tokens)
        except ValueError as exc:
            raise AdminError(str(exc), field=field) from None
    defaults = list(scope) if default_scope is None else default_scope
    if not set(defaults) <= set(scope):
        raise AdminError("--default-scope must be a subset of --scope")
    return tuple(dict.fromkeys(scope)), tuple(dict.fromkeys(defaults))


def check_resources(flag: str, uris: list[str]) -> tuple[str, ...]:
    """Audiences, named as RFC 8707 resources (absolute URIs, no fragment), once each."""
    bad = [u for u in uris if not audiences.is_resource_uri(u)]
    if bad:
        raise AdminError(f"{flag} must be an absolute URI without fragment: {bad[0]}")
    return tuple(dict.fromkeys(uris))


def warnings(client: Client) -> list[str]:
    """What works as configured but is most likely a mistake, for the operator to read."""
    users = [g for g in client.grant_types if g in USER_GRANTS]
    if users and not client.scopes:
        return [
            f"the {' and '.join(users)} grant with no --scope issues access tokens that allow "
            'nothing, not even /userinfo: add --scope (e.g. "openid profile" and your APIs\')'
        ]
    return []


def edited_access(client: Client, change: ClientUpdate) -> Client:
    """``client`` with the name, grants, scopes, default scopes and audiences ``change``
    names; the others stay. Replaced scopes keep the default scopes they still allow."""
    name = client.name if change.name is None else check_name(change.name)
    grants = client.grant_types
    if change.grant_types is not None:
        grants = check_grants(list(change.grant_types))
    allowed = client.scopes if change.scopes is None else change.scopes
    if change.default_scopes is not None:
        defaults: list[str] | None = list(change.default_scopes)
    elif change.scopes is not None:
        defaults = [s for s in client.default_scopes if s in allowed]
        dropped = [s for s in client.default_scopes if s not in allowed]
        if dropped:
            raise AdminError(
                f"--scope drops the default scope {dropped[0]!r}: name the default scopes "
                "with --default-scope"
            )
    else:
        defaults = list(client.default_scopes)
    allowed, default = check_scopes(list(allowed), defaults)
    added = check_resources("--add-audience", list(change.add_audiences))
    removed = check_resources("--remove-audience", list(change.remove_audiences))
    aud = edited(client.audiences, added, removed, "--add-audience", "--remove-audience")
    return replace(
        client, name=name, grant_types=grants, scopes=allowed, default_scopes=default, audiences=aud
    )
