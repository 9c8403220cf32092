"""Provisioning operations behind the CLI: validated at the edge, stored through storage."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, replace
from typing import Any

from authority.accounts import USERNAME_RULE, normalize_email, valid_username
from authority.admin import access
from authority.admin.errors import AdminError
from authority.admin.sign_in import (
    CODE_GRANT,
    CREATE_FLAGS,
    REGRANT_FLAGS,
    UPDATE_FLAGS,
    ClientUpdate,
    check_origins,
    check_redirect_uris,
    check_sign_in,
    edited_origins,
    edited_uris,
)
from authority.credentials import throttle
from authority.credentials.hashing import Passwords, SecretDigest, new_id, new_secret
from authority.credentials.password_policy import PasswordPolicy
from authority.credentials.throttle import Throttle
from authority.keys import DirectoryKeyStore, KeyRing, lifecycle, private_keys
from authority.keys.lifecycle import Timings
from authority.settings import ALGORITHMS, Settings
from authority.storage import Client, Consent, KeyState, SigningKeyInfo, User
from authority.storage.sql import SqlStorage

__all__ = ["Admin", "AdminError", "ClientUpdate", "client_view", "consent_view", "user_view"]


class Admin:
    def __init__(self, settings: Settings, storage: SqlStorage) -> None:
        self.settings = settings
        self.storage = storage
        store = DirectoryKeyStore(settings.keys_dir)
        self.digest = SecretDigest(settings.hash_key or store.hash_key(create=False))

    def _passwords(self) -> Passwords:
        s = self.settings
        return Passwords(s.argon2_time_cost, s.argon2_memory_cost, s.argon2_parallelism)

    # -- clients ---------------------------------------------------------------------------

    def create_client(
        self,
        name: str,
        grant_types: list[str],
        scope: list[str],
        default_scope: list[str] | None,
        audiences: list[str],
        access_token_alg: str | None = None,
        resource_servers: list[str] | None = None,
        introspect_any: bool = False,
        redirect_uris: list[str] | None = None,
        post_logout_redirect_uris: list[str] | None = None,
        public: bool = False,
        consent: bool = False,
        refresh_cookie: bool = False,
        allowed_origins: list[str] | None = None,
    ) -> tuple[Client, str]:
        """A new client and its secret, to show once ("" for a public client: it has none)."""
        name = access.check_name(name)
        grants = access.check_grants(grant_types)
        allowed, defaults = access.check_scopes(scope, default_scope)
        aud = access.check_resources("--audience", audiences)
        served = access.check_resources("--resource-server", resource_servers or [])
        redirect = check_redirect_uris("--redirect-uri", redirect_uris or [], public)
        logout = check_redirect_uris(
            "--post-logout-redirect-uri", post_logout_redirect_uris or [], public
        )
        browser_origins = check_origins("--allowed-origin", allowed_origins or [])
        if access_token_alg is not None:
            self._check_signing_alg(access_token_alg)
        # A public client has no secret: an empty hash, which no presented secret matches.
        secret = "" if public else new_secret()
        client = Client(
            client_id=new_id(),
            name=name,
            secret_hash=self.digest.digest(secret) if secret else "",
            grant_types=grants,
            scopes=allowed,
            default_scopes=defaults,
            audiences=aud,
            disabled=False,
            created_at=int(time.time()),
            access_token_alg=access_token_alg,
            resource_servers=served,
            introspect_any=introspect_any,
            redirect_uris=redirect,
            post_logout_redirect_uris=logout,
            public=public,
            consent=consent,
            refresh_cookie=refresh_cookie,
            allowed_origins=browser_origins,
        )
        check_sign_in(client, CREATE_FLAGS)
        access.check_issues(client)
        self.storage.add_client(client)
        return client, secret

    def update_client(self, client_id: str, change: ClientUpdate) -> Client:
        """Rename a client, replace its grants and scopes, add or remove its audiences,
        redirect URIs, logout redirect URIs and allowed origins, set or clear consent and
        cookie mode; the other settings stay as they are."""
        if change == ClientUpdate():
            raise AdminError("name at least one change (see 'authority clients update --help')")
        stored = self.client(client_id)
        client = access.edited_access(stored, change)
        redirect = edited_uris(
            "redirect-uri",
            client.redirect_uris,
            change.add_redirect_uris,
            change.remove_redirect_uris,
            client.public,
        )
        if CODE_GRANT in client.grant_types and stored.redirect_uris and not redirect:
            raise AdminError(
                f"--remove-redirect-uri would remove the last redirect URI of {client_id!r}: "
                "its authorization_code grant needs one to send the code to"
            )
        logout = edited_uris(
            "post-logout-redirect-uri",
            client.post_logout_redirect_uris,
            change.add_post_logout_redirect_uris,
            change.remove_post_logout_redirect_uris,
            client.public,
        )
        consent = client.consent if change.consent is None else change.consent
        browser_origins = edited_origins(
            client.allowed_origins, change.add_allowed_origins, change.remove_allowed_origins
        )
        cookie = client.refresh_cookie if change.refresh_cookie is None else change.refresh_cookie
        updated = replace(
            client,
            redirect_uris=redirect,
            post_logout_redirect_uris=logout,
            consent=consent,
            refresh_cookie=cookie,
            allowed_origins=browser_origins,
        )
        check_sign_in(updated, UPDATE_FLAGS if change.grant_types is None else REGRANT_FLAGS)
        access.check_issues(updated)
        if not self.storage.set_client_settings(updated):
            raise AdminError(f"no client {client_id!r}")
        return self.client(client_id)

    def set_introspection(
        self, client_id: str, resource_servers: list[str], introspect_any: bool
    ) -> Client:
        """Replace whose access tokens the client may introspect besides its own."""
        served = access.check_resources("--resource-server", resource_servers)
        if not self.storage.set_client_introspection(client_id, served, introspect_any):
            raise AdminError(f"no client {client_id!r}")
        return self.client(client_id)

    def _check_signing_alg(self, alg: str) -> None:
        if alg not in ALGORITHMS:
            raise AdminError(f"--alg must be one of {', '.join(ALGORITHMS)}")
        if not any(
            k.alg == alg and k.state is KeyState.ACTIVE for k in self.storage.list_signing_keys()
        ):
            raise AdminError(
                f"no {alg} key signs yet: run 'authority keys generate --alg {alg}', then "
                f"'authority keys rotate --alg {alg}' once it has been published long enough"
            )

    def client(self, client_id: str) -> Client:
        client = self.storage.get_client(client_id)
        if client is None:
            raise AdminError(f"no client {client_id!r}")
        return client

    # -- users -----------------------------------------------------------------------------

    def create_user(self, username: str, password: str, email: str | None) -> User:
        if not valid_username(username):
            raise AdminError(USERNAME_RULE)
        address = normalize_email(email) if email is not None else None
        if email is not None and address is None:
            raise AdminError(f"{email!r} is not an email address")
        self._check_password(password, username, address)
        user = User(
            sub=str(uuid.uuid4()),
            username=username,
            email=address,
            password_hash=self._passwords().hash(password),
            disabled=False,
            created_at=int(time.time()),
        )
        self.storage.add_user(user)
        return user

    def user(self, username: str) -> User:
        user = self.storage.get_user_by_username(username)
        if user is None:
            raise AdminError(f"no user {username!r}")
        return user

    def throttle(self) -> Throttle:
        return throttle.build(self.settings, throttle.counter(self.settings, self.storage))

    def set_password(
        self, username: str, password: str, now: int, end_sessions: bool = True
    ) -> tuple[User, int]:
        """A new password; unless ``end_sessions`` is False, every session ends (access tokens
        denied, browsers signed out) and reset links void, as a self-service change does.
        Returns the user and how many sessions ended."""
        user = self.user(username)
        self._check_password(password, user.username, user.email)
        password_hash = self._passwords().hash(password)
        if not end_sessions:
            self.storage.set_password_hash(user.sub, password_hash)
            return user, 0
        return user, self.storage.change_password(user.sub, password_hash, now)

    def consents(self, username: str) -> list[tuple[Consent, Client | None]]:
        """The scopes the user approved, per client, newest first."""
        user = self.user(username)
        return [
            (c, self.storage.get_client(c.client_id)) for c in self.storage.list_consents(user.sub)
        ]

    def withdraw_consent(self, username: str, client_id: str) -> User:
        """Forget the user's approval: the client's next sign-in asks again."""
        user = self.user(username)
        if not self.storage.withdraw_consent(user.sub, client_id):
            raise AdminError(f"{user.username} has no remembered consent for client {client_id!r}")
        return user

    def _check_password(self, password: str, username: str, email: str | None) -> None:
        """The one password policy (authority.credentials.password_policy), as for self-service."""
        policy = PasswordPolicy(self.settings.password_min_length)
        problem = policy.problem(password, (username, email))
        if problem is not None:
            raise AdminError(problem)

    # -- keys ------------------------------------------------------------------------------

    def rotate_keys(
        self, alg: str | None, force: bool, now_: bool, revoke_current: bool
    ) -> list[lifecycle.RotationReport]:
        if revoke_current and not now_:
            raise AdminError("--revoke-current is for an emergency rotation: add --now")
        algs = self._rotating(alg)
        if revoke_current and len(algs) > 1:
            raise AdminError("name the compromised key's algorithm with --alg")
        private = private_keys(self.settings)
        timings = Timings.from_settings(self.settings)
        now = int(time.time())
        try:
            return [
                lifecycle.rotate(
                    self.storage, private, a, now, timings, force or now_, revoke_current
                )
                for a in algs
            ]
        except lifecycle.RotationRefused as exc:
            raise AdminError(str(exc)) from None

    def rotate_keys_at_earliest(
        self, alg: str | None
    ) -> list[lifecycle.RotationReport | lifecycle.Scheduled]:
        """Rotate each algorithm (or ``alg``) whose next key may sign now; schedule the
        promotion of each other one for the first moment it may, which the servers' key
        maintenance performs."""
        private = private_keys(self.settings)
        timings = Timings.from_settings(self.settings)
        now = int(time.time())
        try:
            return [
                lifecycle.rotate_at_earliest(self.storage, private, a, now, timings)
                for a in self._rotating(alg)
            ]
        except lifecycle.RotationRefused as exc:
            raise AdminError(str(exc)) from None

    def _rotating(self, alg: str | None) -> list[str]:
        """``alg``, or every algorithm with a key that signs or will."""
        if alg:
            return [alg]
        keys = self.storage.list_signing_keys()
        return sorted({k.alg for k in keys if k.state in (KeyState.ACTIVE, KeyState.NEXT)})

    def generate_key(self, alg: str) -> SigningKeyInfo:
        if alg not in ALGORITHMS:
            raise AdminError(f"--alg must be one of {', '.join(ALGORITHMS)}")
        private = private_keys(self.settings)
        try:
            return lifecycle.add_next(self.storage, private, alg, int(time.time()))
        except lifecycle.RotationRefused as exc:
            raise AdminError(str(exc)) from None

    def purge(self, now: int) -> dict[str, Any]:
        """Every bounded batch until nothing dead is left, expired links, registrations
        abandoned unconfirmed (AUTHORITY_UNVERIFIED_ACCOUNT_TTL), then expired signing keys."""
        links = self.storage.purge_links(now)
        ttl = self.settings.unverified_account_ttl
        abandoned = self.storage.purge_unconfirmed(now - ttl) if ttl else 0
        return {
            **self.storage.purge(now),
            "links": links,
            "unverified_accounts": abandoned,
            "keys": self.prune_keys(),
        }

    def prune_keys(self) -> list[str]:
        return lifecycle.prune(self.storage, private_keys(self.settings), int(time.time()))

    def public_jwks(self) -> dict[str, Any]:
        ring = KeyRing.load(self.storage, private_keys(self.settings))
        return {"keys": [k.public_jwk for k in ring.keys]}


def key_view(key: SigningKeyInfo) -> dict[str, Any]:
    view = asdict(key)
    del view["sealed"]
    return view


def client_view(client: Client) -> dict[str, Any]:
    view = asdict(client)
    del view["secret_hash"], view["previous_secret_hash"]
    lists = ("grant_types", "scopes", "default_scopes", "audiences", "resource_servers")
    for key in (*lists, "redirect_uris", "post_logout_redirect_uris", "allowed_origins"):
        view[key] = list(view[key])
    # How it authenticates at /token (RFC 7591 §2): a public client has no secret.
    view["token_endpoint_auth_method"] = "none" if client.public else "client_secret_basic"
    return view


def consent_view(consent: Consent, client: Client | None) -> dict[str, Any]:
    return {
        "client_id": consent.client_id,
        "client_name": client.name if client else None,
        "scopes": list(consent.scopes),
        "granted_at": consent.granted_at,
    }


def user_view(user: User) -> dict[str, Any]:
    view = asdict(user)
    del view["password_hash"], view["unconfirmed_since"]
    return view
