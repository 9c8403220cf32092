"""The password strength check behind /accounts/*: off the event loop, its wait bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest
from starlette.testclient import TestClient

from authority.credentials import password_policy
from authority.credentials.password_policy import PasswordPolicy
from authority.settings import Settings
from tests.conftest import Registered
from tests.http.account_helpers import (
    NEW_PASSWORD,
    bearer,
    confirm_reset,
    login,
    register,
    request_reset,
)
from tests.http.helpers import assert_error
from tests.mailbox import Mailbox, token

BUSY = (503, "temporarily_unavailable", "too many password checks at once; retry shortly")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(registration="open")


@pytest.fixture
def on_loop(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each strength check: was it run on the event loop's thread?"""
    seen: list[bool] = []
    problem = PasswordPolicy.problem

    def watched(
        self: PasswordPolicy, password: str, user_inputs: Iterable[str | None] = ()
    ) -> str | None:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return problem(self, password, user_inputs)

    monkeypatch.setattr(PasswordPolicy, "problem", watched)
    return seen


def test_registration_reset_and_change_check_the_password_off_the_event_loop(
    http: TestClient, alice: str, app_client: Registered, mailbox: Mailbox, on_loop: list[bool]
) -> None:
    assert register(http, "bob", "bob@example.com").status_code == 201
    assert request_reset(http, "alice@example.com").status_code == 202
    link = token(mailbox.messages("alice@example.com")[-1], "/accounts/password/reset")
    assert confirm_reset(http, link, "a brand new passphrase").status_code == 200
    access = login(http, app_client, "a brand new passphrase").json()["access_token"]
    changed = http.post(
        "/accounts/password/change",
        json={"current_password": "a brand new passphrase", "new_password": NEW_PASSWORD},
        headers=bearer(access),
    )
    assert changed.status_code == 200, changed.text

    assert on_loop == [False, False, False]


def test_a_registration_that_waits_too_long_for_the_check_is_told_to_retry(
    http: TestClient, monkeypatch: pytest.MonkeyPatch, mailbox: Mailbox
) -> None:
    monkeypatch.setattr(password_policy, "MAX_WAIT_SECONDS", 0.05)
    with password_policy._ESTIMATES:  # another check holds the estimator
        response = register(http, "bob", "bob@example.com")

    assert_error(response, *BUSY)
    assert mailbox.messages() == []
    assert register(http, "bob", "bob@example.com").status_code == 201
