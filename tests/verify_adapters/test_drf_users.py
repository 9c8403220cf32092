"""DRF's request.user: the token's subject without a mapping, a real Django user with one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client, override_settings

from authority.verify import drf
from tests.drf_project import configure
from tests.drf_project import settings as project_settings
from tests.verify_adapters.tokens import FakeAuthority, invalid_token_challenge


@pytest.fixture(scope="module", autouse=True)
def django_project() -> None:
    configure()
    call_command("migrate", run_syncdb=True, verbosity=0)  # the in-memory users table


@pytest.fixture
def authority() -> FakeAuthority:
    return FakeAuthority()


@pytest.fixture
def alice() -> Iterator[Any]:
    from django.contrib.auth.models import User

    user = User.objects.create_user("alice", "alice@example.com", is_staff=True)
    yield user
    user.delete()


def me(authority: FakeAuthority, mapping: dict[str, Any], **claims: Any) -> Any:
    config = {**project_settings.AUTHORITY, "FETCH": authority.fetch, **mapping}
    with override_settings(AUTHORITY=config):
        token = authority.token(**claims)
        return Client().get("/me", headers={"Authorization": f"Bearer {token}"})


def test_without_a_mapping_the_user_is_the_tokens_subject_named_by_preferred_username(
    authority: FakeAuthority,
) -> None:
    response = me(authority, {}, preferred_username="alice", email="alice@example.com")
    assert response.json() == {
        "type": "TokenUser",
        "pk": "user-42",
        "id": "user-42",
        "username": "alice",
        "email": "alice@example.com",
        "is_authenticated": True,
        "is_staff": False,
    }
    # A token without the claim (a client's own, or no claims hook): the sub.
    response = me(authority, {})
    assert (response.json()["username"], response.json()["email"]) == ("user-42", "")


def test_mapped_by_username_the_user_is_the_local_django_user(
    authority: FakeAuthority, alice: Any
) -> None:
    response = me(authority, {"USER_MAPPING": "username"}, preferred_username="alice")
    assert response.status_code == 200
    assert response.json() == {
        "type": "User",
        "pk": alice.pk,
        "id": alice.pk,
        "username": "alice",
        "email": "alice@example.com",
        "is_authenticated": True,
        "is_staff": True,
    }


def test_mapped_by_sub_the_user_is_found_through_user_field(
    authority: FakeAuthority, alice: Any
) -> None:
    alice.last_name = "user-42"  # any field, or a relation: "profile__authority_sub"
    alice.save()
    mapping = {"USER_MAPPING": "sub", "USER_FIELD": "last_name"}
    response = me(authority, mapping)
    assert (response.status_code, response.json()["id"]) == (200, alice.pk)


@pytest.mark.parametrize(
    ("mapping", "claims", "description"),
    [
        ({"USER_MAPPING": "username"}, {"preferred_username": "bob"}, "has no account here"),
        ({"USER_MAPPING": "username"}, {}, "has no preferred_username to name a user"),
        ({"USER_MAPPING": "sub"}, {}, "has no account here"),  # sub user-42: no such username
    ],
    ids=["unknown-user", "no-username-claim", "unknown-sub"],
)
def test_a_token_whose_user_is_not_found_is_refused_401(
    authority: FakeAuthority,
    alice: Any,
    mapping: dict[str, str],
    claims: dict[str, str],
    description: str,
) -> None:
    response = me(authority, mapping, **claims)
    assert response.status_code == 401
    message = response.json()["detail"]
    assert message.endswith(description)
    assert response.headers["WWW-Authenticate"] == invalid_token_challenge(message)


def test_a_token_of_a_disabled_local_user_is_refused_401(
    authority: FakeAuthority, alice: Any
) -> None:
    alice.is_active = False
    alice.save()
    response = me(authority, {"USER_MAPPING": "username"}, preferred_username="alice")
    assert response.status_code == 401
    assert response.json() == {"detail": "the token's user is disabled here"}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"USER_MAPPING": "email"}, "must be None, 'username' or 'sub'"),
        ({"USER_FIELD": "last_name"}, "USER_FIELD'\\] needs a USER_MAPPING"),
        ({"USER_MAPPING": "sub", "USER_FIELD": ""}, "USER_FIELD'\\] must be a non-empty"),
    ],
)
def test_bad_mapping_settings_are_a_configuration_error(
    mapping: dict[str, str], message: str
) -> None:
    config = {**project_settings.AUTHORITY, **mapping}
    with override_settings(AUTHORITY=config), pytest.raises(ImproperlyConfigured, match=message):
        drf.get_verifier()
