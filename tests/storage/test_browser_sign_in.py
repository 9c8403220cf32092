"""Browser sign-in storage on SQLite and PostgreSQL: browser sessions, codes, consent."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import replace

import pytest

from authority.storage import (
    AuthorizationCode,
    BrowserSession,
    Consent,
    IssuedAccess,
    RedemptionFailure,
    SessionStart,
)
from authority.storage.sql import SqlStorage
from tests.storage.factories import DAY, NOW, found, make_client, make_user, new_hash, start_family


def _browser(storage: SqlStorage, sub: str, now: int = NOW) -> tuple[BrowserSession, str]:
    session = BrowserSession(
        session_id=secrets.token_hex(8),
        sub=sub,
        auth_time=now,
        amr=("pwd",),
        created_at=now,
        last_seen_at=now,
        expires_at=now + DAY,
    )
    secret_hash = new_hash()
    storage.start_browser_session(session, secret_hash)
    return session, secret_hash


def _code(client_id: str, sub: str, browser: str | None = None) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=new_hash(),
        client_id=client_id,
        redirect_uri="https://app.example/cb",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        sub=sub,
        scope=("openid", "profile"),
        audience=("https://api.example",),
        nonce="n-0S6_WzA2Mj",
        auth_time=NOW,
        amr=("pwd",),
        browser_session_id=browser,
        created_at=NOW,
        expires_at=NOW + 60,
    )


def test_a_browser_session_is_found_by_its_secret_until_it_ends(storage: SqlStorage) -> None:
    user = make_user()
    storage.add_user(user)
    session, secret_hash = _browser(storage, user.sub)
    assert storage.find_browser_session(secret_hash, NOW + 1) == session
    assert storage.find_browser_session(new_hash(), NOW + 1) is None
    assert storage.find_browser_session(secret_hash, NOW + DAY) is None  # expired
    assert storage.list_browser_sessions(user.sub, NOW + 1) == [session]
    assert storage.end_browser_session(session.session_id, NOW + 2, sub="someone else") is False
    assert storage.end_browser_session(session.session_id, NOW + 2)
    assert storage.find_browser_session(secret_hash, NOW + 3) is None
    assert storage.list_browser_sessions(user.sub, NOW + 3) == []
    assert storage.end_browser_session(session.session_id, NOW + 4) is False


def test_a_disabled_users_browser_session_is_not_found(storage: SqlStorage) -> None:
    user = make_user()
    storage.add_user(user)
    _, secret_hash = _browser(storage, user.sub)
    storage.set_user_disabled(user.sub, True, NOW)
    assert storage.find_browser_session(secret_hash, NOW + 1) is None


def test_ending_a_browser_session_ends_the_families_started_from_it(storage: SqlStorage) -> None:
    client, user = make_client(), make_user()
    storage.add_client(client)
    storage.add_user(user)
    browser, _ = _browser(storage, user.sub)
    started, _ = start_family(storage, client, user, access=IssuedAccess("jti-1", NOW + 900))
    storage.revoke_family(started.family_id, NOW)  # a family of its own, to compare with
    linked = dataclasses.replace(started, family_id=secrets.token_hex(8))
    linked = dataclasses.replace(linked, browser_session_id=browser.session_id)
    storage.start_family(linked, new_hash(), NOW + DAY, IssuedAccess("jti-2", NOW + 900))
    other, _ = start_family(storage, client, user)
    assert found(storage.get_family(linked.family_id)).browser_session_id == browser.session_id

    assert storage.end_browser_session(browser.session_id, NOW + 5)
    assert found(storage.get_family(linked.family_id)).revoked_at == NOW + 5
    assert storage.is_access_token_denied("jti-2")
    assert found(storage.get_family(other.family_id)).revoked_at is None


def test_logging_out_everywhere_ends_every_browser_session(storage: SqlStorage) -> None:
    user = make_user()
    storage.add_user(user)
    _, first = _browser(storage, user.sub)
    _, second = _browser(storage, user.sub)
    storage.end_sessions(user.sub, NOW + 1)
    assert storage.find_browser_session(first, NOW + 2) is None
    assert storage.find_browser_session(second, NOW + 2) is None


def test_a_code_is_redeemed_once_and_its_replay_names_what_it_started(
    storage: SqlStorage,
) -> None:
    client, user = make_client(), make_user()
    storage.add_client(client)
    storage.add_user(user)
    code = _code(client.client_id, user.sub)
    assert storage.redeemed_family(code.code_hash) is None

    first = storage.redeem_code(code, "family-1", NOW + 1)
    assert (first.code, first.user, first.failure) == (code, user, None)
    again = storage.redeem_code(code, "family-2", NOW + 2)
    assert (again.code, again.failure, again.family_id) == (
        None,
        RedemptionFailure.USED,
        "family-1",
    )
    assert storage.redeemed_family(code.code_hash) == "family-1"


def test_a_redemption_records_the_session_it_starts_in_its_transaction(
    storage: SqlStorage,
) -> None:
    client, user = make_client(), make_user()
    storage.add_client(client)
    storage.add_user(user)
    code = _code(client.client_id, user.sub)
    family, _ = start_family(storage, client, user)  # a template for the family's fields
    started = dataclasses.replace(family, family_id="family-9")

    def refuse(found: AuthorizationCode, _: object) -> SessionStart:
        raise ValueError("a check failed")

    with pytest.raises(ValueError):
        storage.redeem_code(code, "family-9", NOW + 1, refuse)
    assert storage.redeemed_family(code.code_hash) is None  # rolled back: still usable
    done = storage.redeem_code(
        code, "family-9", NOW + 1, lambda found, who: SessionStart(started, new_hash(), NOW + DAY)
    )
    assert done.code == code
    assert found(storage.get_family("family-9")) == started


def test_a_code_of_a_disabled_user_or_an_ended_browser_session_starts_nothing(
    storage: SqlStorage,
) -> None:
    client, user = make_client(), make_user()
    storage.add_client(client)
    storage.add_user(user)
    browser, _ = _browser(storage, user.sub)
    code = _code(client.client_id, user.sub, browser.session_id)
    storage.end_browser_session(browser.session_id, NOW + 1)
    refused = storage.redeem_code(code, "f", NOW + 2)
    assert refused.failure is RedemptionFailure.UNKNOWN
    assert storage.redeemed_family(code.code_hash) is None  # used up, nothing started

    other = _code(client.client_id, user.sub)
    storage.set_user_disabled(user.sub, True, NOW)
    assert storage.redeem_code(other, "f", NOW + 2).failure is RedemptionFailure.UNKNOWN


def test_deleting_a_client_deletes_its_redeemed_codes_and_consents(storage: SqlStorage) -> None:
    client, user = make_client(), make_user()
    storage.add_client(client)
    storage.add_user(user)
    code = _code(client.client_id, user.sub)
    storage.redeem_code(code, "f", NOW + 1)
    storage.grant_consent(Consent(user.sub, client.client_id, ("openid",), NOW))
    assert storage.delete_client(client.client_id, NOW)
    assert storage.list_consents(user.sub) == []
    assert storage.redeemed_family(code.code_hash) is None


def test_purge_removes_old_codes_and_ended_browser_sessions(storage: SqlStorage) -> None:
    client, user = make_client(), make_user()
    storage.add_client(client)
    storage.add_user(user)
    ended, _ = _browser(storage, user.sub)
    live, live_hash = _browser(storage, user.sub)
    storage.end_browser_session(ended.session_id, NOW + 1)
    code = _code(client.client_id, user.sub)
    storage.redeem_code(code, "f", NOW + 1)
    assert storage.purge_sign_ins(NOW + 61) == {"codes": 0, "browser_sessions": 1}
    assert storage.purge_sign_ins(NOW + 60 + 600) == {"codes": 1, "browser_sessions": 0}
    assert storage.find_browser_session(live_hash, NOW + 2) == live


def test_consent_is_remembered_added_to_and_withdrawn(storage: SqlStorage) -> None:
    client, user = make_client(), make_user()
    storage.add_client(client)
    storage.add_user(user)
    assert storage.get_consent(user.sub, client.client_id) is None
    storage.grant_consent(Consent(user.sub, client.client_id, ("openid", "profile"), NOW))
    storage.grant_consent(Consent(user.sub, client.client_id, ("email", "openid"), NOW + 1))
    consent = found(storage.get_consent(user.sub, client.client_id))
    assert consent.scopes == ("openid", "profile", "email")
    assert storage.list_consents(user.sub) == [consent]
    assert storage.withdraw_consent(user.sub, client.client_id)
    assert storage.withdraw_consent(user.sub, client.client_id) is False
    assert storage.list_consents(user.sub) == []


def test_client_browser_fields_round_trip(storage: SqlStorage) -> None:
    client = make_client(
        redirect_uris=("https://app.example/cb", "http://127.0.0.1/cb"),
        post_logout_redirect_uris=("https://app.example/bye",),
        public=True,
        consent=True,
    )
    storage.add_client(client)
    assert storage.get_client(client.client_id) == client
    assert storage.set_client_settings(
        replace(
            client,
            redirect_uris=("https://b.example/cb",),
            post_logout_redirect_uris=(),
            consent=False,
        )
    )
    changed = found(storage.get_client(client.client_id))
    assert (changed.redirect_uris, changed.post_logout_redirect_uris, changed.consent) == (
        ("https://b.example/cb",),
        (),
        False,
    )
