"""POST /accounts/register: open or closed, the password policy, taken names and addresses."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.settings import Settings
from authority.storage.tables import one_time_tokens
from tests.conftest import ISSUER, FakeClock
from tests.http.account_helpers import NEW_PASSWORD, register
from tests.http.helpers import assert_error
from tests.mailbox import Mailbox, text, token

VERIFY_PATH = "/accounts/verify-email"
USERNAME_RULE = (
    "a username holds 1 to 150 letters or digits of one script, and . _ - @ +; "
    "no spaces, invisible or look-alike characters"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(registration="open")


def test_registration_is_closed_unless_the_operator_opens_it(
    authority: Authority, mailbox: Mailbox
) -> None:
    from authority.web.app import create_app

    closed = authority.settings.replace(registration="closed")
    with TestClient(
        create_app(authority=Authority(closed, authority.storage)), base_url=ISSUER
    ) as http:
        response = register(http, "bob", "bob@example.com")

    assert_error(
        response, 403, "registration_closed", "registration is closed; an operator creates accounts"
    )
    assert authority.storage.get_user_by_username("bob") is None
    assert mailbox.messages() == []


@pytest.mark.parametrize(
    ("data", "description"),
    [
        ({"email": "bob@example.com", "password": NEW_PASSWORD}, "missing parameter: username"),
        ({"username": "bob", "password": NEW_PASSWORD}, "missing parameter: email"),
        ({"username": "bob", "email": "bob@example.com"}, "missing parameter: password"),
        (
            {"username": "two words", "email": "bob@example.com", "password": NEW_PASSWORD},
            USERNAME_RULE,
        ),
        (
            {"username": "bob", "email": "not-an-address", "password": NEW_PASSWORD},
            "email must be an email address",
        ),
        (
            {"username": "bob", "email": "bob@example.com", "password": 12345678901},
            "parameter password must be a string",
        ),
    ],
)
def test_refuses_a_missing_or_malformed_field(
    http: TestClient, data: dict[str, object], description: str, mailbox: Mailbox
) -> None:
    response = http.post("/accounts/register", json=data)

    assert_error(response, 400, "invalid_request", description)
    assert mailbox.messages() == []


@pytest.mark.parametrize(
    ("body", "content_type", "description"),
    [
        (
            b"username=bob",
            "text/plain",
            "the request body must be application/x-www-form-urlencoded or application/json",
        ),
        (b"[1, 2]", "application/json", "the request body must be a JSON object"),
        (b"{nope", "application/json", "the request body is not valid JSON"),
        (
            b'{"username": "bob", "username": "eve"}',
            "application/json",
            "parameter username must not be repeated",
        ),
        (
            b"username=bob&username=eve",
            "application/x-www-form-urlencoded",
            "parameter username must not be repeated",
        ),
    ],
)
def test_refuses_a_body_that_is_neither_a_form_nor_a_json_object(
    http: TestClient, body: bytes, content_type: str, description: str
) -> None:
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    response = http.post("/accounts/register", content=body, headers=headers)

    assert_error(response, 400, "invalid_request", description)


@pytest.mark.parametrize(
    ("password", "description"),
    [
        ("short1!", "a password needs at least 10 characters"),
        ("ü" * 513, "a password may hold at most 1024 bytes"),
        (
            "password1234",
            "the password is too easy to guess: This is a very common password. "
            "Add another word or two. Uncommon words are better.",
        ),
        ("bobby.tables99", "the password is too close to the username or email address"),
        ("robert.droptables", "the password is too close to the username or email address"),
    ],
)
def test_refuses_a_weak_password_and_says_why(
    http: TestClient, authority: Authority, password: str, description: str
) -> None:
    response = register(http, "bobby.tables99", "robert.droptables@example.com", password)

    assert_error(response, 400, "weak_password", description)
    assert authority.storage.get_user_by_username("bobby.tables99") is None


def test_creates_the_user_and_mails_a_verification_link(
    http: TestClient, authority: Authority, mailbox: Mailbox
) -> None:
    response = register(http, "Bob", "Bob.Builder@Example.COM")

    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    assert set(response.json()) == {"sub"}
    sub = response.json()["sub"]
    user = authority.storage.get_user(sub)
    assert user is not None
    assert (user.username, user.email, user.email_verified, user.disabled) == (
        "Bob",
        "bob.builder@example.com",
        False,
        False,
    )
    assert user.password_hash.startswith("$argon2id$")
    assert authority.passwords.verify(user.password_hash, NEW_PASSWORD).ok

    [message] = mailbox.messages()
    assert message["To"] == "bob.builder@example.com"
    assert message["From"] == "authority@localhost"
    assert message["Subject"] == "Confirm your email address"
    assert message["Auto-Submitted"] == "auto-generated"
    assert text(message).startswith("Hello,\n")  # no text the user chose
    assert "expires in 1 day" in text(message)
    link_token = token(message, VERIFY_PATH)
    assert f"{ISSUER}{VERIFY_PATH}?token={link_token}" in text(message)
    assert len(link_token) >= 43  # 256 bits, URL-safe

    # Stored only as its keyed hash: the token itself is nowhere in the database.
    with authority.storage.engine.connect() as conn:
        rows = conn.execute(select(one_time_tokens)).all()
    [row] = rows
    assert row.token_hash == authority.digest.digest(link_token)
    assert (row.purpose, row.sub, row.used_at) == ("verify_email", sub, None)
    assert row.expires_at - row.created_at == 86400
    assert link_token not in repr(rows)


def test_accepts_a_form_asking_for_json_as_well_as_json(
    http: TestClient, authority: Authority
) -> None:
    data = {"username": "carol", "email": "carol@example.com", "password": NEW_PASSWORD}

    response = http.post("/accounts/register", data=data, headers={"Accept": "application/json"})

    assert response.status_code == 201
    assert authority.storage.get_user(response.json()["sub"]) is not None


def test_links_start_with_the_public_url(authority: Authority, mailbox: Mailbox) -> None:
    from authority.web.app import create_app

    public = authority.settings.replace(public_url="https://accounts.example/auth/")
    with TestClient(
        create_app(authority=Authority(public, authority.storage)), base_url=ISSUER
    ) as http:
        assert register(http, "dave", "dave@example.com").status_code == 201

    [message] = mailbox.messages()
    assert token(message, "/auth/accounts/verify-email")
    assert "https://accounts.example/auth/accounts/verify-email?token=" in text(message)


def test_a_taken_username_is_a_conflict_in_any_case(
    http: TestClient, alice: str, authority: Authority, mailbox: Mailbox
) -> None:
    for name in ("alice", "ALICE"):
        response = register(http, name, f"{name}-new@example.com")
        assert_error(response, 409, "username_taken", "this username is taken; choose another")
    assert [u.username for u in authority.storage.list_users()] == ["alice"]
    assert mailbox.messages() == []


def test_a_taken_address_answers_like_a_success_and_tells_its_owner(
    http: TestClient, alice: str, authority: Authority, mailbox: Mailbox
) -> None:
    response = register(http, "mallory", "ALICE@example.com")

    # Indistinguishable from a registration: 201 and a sub, which belongs to no account.
    assert response.status_code == 201
    assert set(response.json()) == {"sub"}
    assert uuid.UUID(response.json()["sub"]).version == 4
    assert authority.storage.get_user(response.json()["sub"]) is None
    assert authority.storage.get_user_by_username("mallory") is None
    [message] = mailbox.messages()
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Someone tried to register with your email address"
    assert "belongs to an account at http://localhost:8000." in text(message)
    assert "alice" not in text(message) and "mallory" not in text(message)
    assert "http" in text(message) and "token=" not in text(message)


def test_mail_to_one_address_is_capped_per_window_and_recovers(
    http: TestClient, authority: Authority, alice: str, mailbox: Mailbox, clock: FakeClock
) -> None:
    # At most login_max_failures (5) mails to one address per login_lockout: attempts
    # beyond are answered the same but send nothing, so registration cannot flood a mailbox.
    for n in range(7):
        assert register(http, f"user{n}", "alice@example.com").status_code == 201
    assert len(mailbox.messages("alice@example.com")) == 5

    clock.advance(authority.settings.login_lockout)
    assert register(http, "user7", "alice@example.com").status_code == 201
    assert len(mailbox.messages("alice@example.com")) == 6


def test_registrations_from_one_client_address_are_capped_per_hour(
    authority: Authority, mailbox: Mailbox, clock: FakeClock
) -> None:
    from authority.web.app import create_app

    capped = authority.settings.replace(registration_max_per_ip=3)
    app = create_app(authority=Authority(capped, authority.storage, clock=clock))
    with TestClient(app, base_url=ISSUER) as http:
        for n in range(3):
            assert register(http, f"user{n}", f"user{n}@example.com").status_code == 201

        refused = register(http, "user3", "user3@example.com")

        assert_error(
            refused,
            429,
            "too_many_requests",
            "too many registrations from this address; try again in an hour",
        )
        assert authority.storage.get_user_by_username("user3") is None
        assert len(mailbox.messages()) == 3
        clock.advance(3599)
        assert register(http, "user3", "user3@example.com").status_code == 429
        clock.advance(1)  # an hour after the first registration
        assert register(http, "user3", "user3@example.com").status_code == 201


# -- what an email address and a username may be --------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "victim@corp.example,postmaster",  # a list: would reach postmaster too
        '"victim"@corp.example',  # a quoted local part
        "victim@corp.example(1)",  # a comment
        "<victim@corp.example>",  # angle brackets
        "Victim <victim@corp.example>",  # a display name
        "victim@[192.0.2.1]",  # an IP literal
        "victim@localhost",  # a domain without a dot
        "victim..x@corp.example",
        "victim@corp.example.",
        "vïctim@corp.example",  # a local part that needs SMTPUTF8
    ],
)
def test_refuses_anything_but_a_plain_address(
    http: TestClient, authority: Authority, email: str, mailbox: Mailbox
) -> None:
    response = register(http, "victim2", email)

    assert_error(response, 400, "invalid_request", "email must be an email address")
    assert authority.storage.list_users() == []
    assert mailbox.messages() == []


def test_an_address_is_kept_one_way_and_capped_as_one_mailbox(
    http: TestClient, authority: Authority, mailbox: Mailbox
) -> None:
    spellings = [
        "Victim@Bücher.Example",
        "victim@xn--bcher-kva.example",
        "VICTIM+1@BÜCHER.example",
        "victim+2@bücher.example",
        "victim+3@bücher.example",
        "victim+4@bücher.example",
        "victim+5@bücher.example",
    ]
    for n, email in enumerate(spellings):
        assert register(http, f"victim{n}", email).status_code == 201

    stored = {u.email for u in authority.storage.list_users()}
    assert stored == {"victim@xn--bcher-kva.example", "victim+1@xn--bcher-kva.example"} | {
        f"victim+{n}@xn--bcher-kva.example" for n in range(2, 6)
    }
    # One mailbox, one cap: 5 mails per window (login_max_failures), whatever the spelling.
    assert len(mailbox.messages()) == 5


@pytest.mark.parametrize(
    "username",
    [
        "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth: NFKC would change it
        "ﬁnn",  # a ligature
        "ali\u200bce",  # zero-width space
        "ali\u200dce",  # zero-width joiner
        "\u202eecila",  # right-to-left override
        "al\u2066ice",  # a bidi isolate
        "a\u00adlice",  # soft hyphen
        "a\u034flice",  # combining grapheme joiner
        "\u0301alice",  # a combining mark on nothing
        "ale\u0301\u0301\u0301\u0301x",  # a pile of marks
        "\u0430lice",  # Cyrillic a, then Latin
        "p\u0430ypal",
        "\u0395\u03bben\u0430",  # Greek, Latin and Cyrillic
        "alice bob",
        "alice\u00a0bob",  # no-break space
        "alice\u3000",  # ideographic space
        "alice\u2028",  # line separator
        "Visit-https://evil.example/prize",  # : and / are no username characters
        "<b>alice</b>",
        "x" * 151,
    ],
)
def test_refuses_confusable_and_invisible_usernames(
    http: TestClient, authority: Authority, username: str, mailbox: Mailbox
) -> None:
    response = register(http, username, "someone@example.com")

    assert_error(response, 400, "invalid_request", USERNAME_RULE)
    assert authority.storage.list_users() == []
    assert mailbox.messages() == []


@pytest.mark.parametrize(
    "username",
    [
        "José",
        "müller.ß",
        "иван_петров",
        "Ελένη",
        "李小龍",
        "やまだ太郎",
        "김철수",
        "स्त्री",
        "bob+1@x-y",
    ],
)
def test_accepts_a_name_of_one_script(
    http: TestClient, authority: Authority, username: str
) -> None:
    response = register(http, username, "someone@example.com")

    assert response.status_code == 201, response.text
    user = authority.storage.get_user(response.json()["sub"])
    assert user is not None and user.username == username


def test_a_username_is_taken_in_every_case_unicode_included(
    http: TestClient, authority: Authority
) -> None:
    assert register(http, "Straße", "one@example.com").status_code == 201
    for other in ("STRASSE", "strasse", "STRAẞE"):
        response = register(http, other, "two@example.com")
        assert_error(response, 409, "username_taken", "this username is taken; choose another")
    assert [u.username for u in authority.storage.list_users()] == ["Straße"]
