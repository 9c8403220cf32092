"""Browser origins (RFC 6454): ``canonical`` spells an origin as a browser sends it, and
``BrowserOrigins`` is the CORS snapshot, read from storage at most once per TTL."""

from __future__ import annotations

import pytest

from authority.oauth.origins import BrowserOrigins, Cors, allows, canonical
from tests.conftest import FakeClock
from tests.storage.factories import make_client

# -- canonical -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://app.example", "https://app.example"),
        ("HTTPS://App.Example:443/", "https://app.example"),
        ("https://app.example:8443", "https://app.example:8443"),
        ("https://app.example:0443", "https://app.example"),
        ("http://localhost", "http://localhost"),
        ("http://LOCALHOST:80", "http://localhost"),
        ("http://localhost:5173/", "http://localhost:5173"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("https://[2001:DB8::1]", "https://[2001:db8::1]"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ],
)
def test_an_origin_is_spelled_as_a_browser_sends_it(given: str, origin: str) -> None:
    assert canonical(given) == origin


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "an origin holds 1 to 300 characters"),
        ("https://" + "a" * 293, "an origin holds 1 to 300 characters"),
        ("https://app.example/app", "is not an origin"),
        ("https://app.example//", "is not an origin"),
        ("https://app.example?x", "is not an origin"),
        ("https://app.example#x", "is not an origin"),
        ("https://user:pw@app.example", "is not an origin"),
        ("https://app.example\\evil", "is not an origin"),
        ("https://app .example", "is not an origin"),
        ("//app.example", "is not an origin"),
        ("null", "is not an origin"),
        ("https://app.example:99999", "is not a valid origin"),
        ("https://app.example:x", "is not a valid origin"),
        ("https://[::1", "is not a valid origin"),
        ("ftp://app.example", "is not an http or https origin"),
        ("chrome-extension://abcdef", "is not an http or https origin"),
        ("https://:443", "is not an http or https origin"),
        ("http://app.example", "an origin must be https, or http on a loopback host"),
        ("http://localhost.app.example", "an origin must be https, or http on a loopback host"),
        ("http://127.0.0.2", "an origin must be https, or http on a loopback host"),
    ],
)
def test_what_is_no_browser_origin_is_refused_with_the_reason(given: str, reason: str) -> None:
    with pytest.raises(ValueError) as refused:
        canonical(given)

    assert reason in str(refused.value)


def test_the_longest_origin_is_accepted() -> None:
    longest = "https://" + "a" * 292

    assert canonical(longest) == longest


def test_a_client_allows_only_its_origins_spelled_exactly() -> None:
    client = make_client(allowed_origins=("https://app.example",), refresh_cookie=True)

    assert allows(client, "https://app.example")
    assert not allows(client, "https://APP.example")
    assert not allows(client, "https://app.example/")
    assert not allows(client, "https://app.example:443")
    assert not allows(client, None)
    assert not allows(make_client(), "https://app.example")


# -- BrowserOrigins ----------------------------------------------------------------------------


class OriginsStore:
    def __init__(self, *origins: tuple[str, bool]) -> None:
        self.origins = list(origins)
        self.reads = 0
        self.failing = False

    def browser_origins(self) -> list[tuple[str, bool]]:
        self.reads += 1
        if self.failing:
            raise ConnectionError("database unreachable")
        return list(self.origins)


def test_nothing_is_allowed_before_the_first_read(clock: FakeClock) -> None:
    store = OriginsStore(("https://app.example", True))
    origins = BrowserOrigins(store, 5, clock=clock)

    assert origins.stale
    assert origins.policy("https://app.example") is None
    assert store.reads == 0


def test_a_cookie_mode_origin_carries_credentials_and_another_clients_does_not(
    clock: FakeClock,
) -> None:
    store = OriginsStore(
        ("https://spa.example", True),
        ("https://plain.example", False),
        ("https://both.example", False),
        ("https://both.example", True),
        ("https://both.example", False),
    )
    origins = BrowserOrigins(store, 5, clock=clock)

    origins.refresh()

    assert not origins.stale
    assert origins.policy("https://spa.example") is Cors.CREDENTIALS
    assert origins.policy("https://plain.example") is Cors.PLAIN
    # An origin some cookie-mode client lists carries credentials, whoever else lists it.
    assert origins.policy("https://both.example") is Cors.CREDENTIALS
    assert origins.policy("https://other.example") is None
    assert origins.policy("HTTPS://spa.example") is None


def test_the_store_is_read_again_only_once_the_snapshot_is_older_than_the_ttl(
    clock: FakeClock,
) -> None:
    store = OriginsStore(("https://app.example", True))
    origins = BrowserOrigins(store, 5, clock=clock)
    origins.refresh()
    store.origins = [("https://new.example", False)]

    clock.advance(4.9)
    origins.refresh()
    assert (store.reads, origins.policy("https://new.example")) == (1, None)
    assert origins.policy("https://app.example") is Cors.CREDENTIALS

    clock.advance(0.1)
    assert origins.stale
    origins.refresh()
    assert store.reads == 2
    assert origins.policy("https://new.example") is Cors.PLAIN
    assert origins.policy("https://app.example") is None


def test_a_ttl_of_zero_still_reads_at_most_once_a_second(clock: FakeClock) -> None:
    store = OriginsStore(("https://app.example", True))
    origins = BrowserOrigins(store, 0, clock=clock)

    origins.refresh()
    origins.refresh()
    assert store.reads == 1

    clock.advance(1)
    origins.refresh()
    assert store.reads == 2


def test_a_failing_store_keeps_the_last_snapshot_and_is_tried_again(clock: FakeClock) -> None:
    store = OriginsStore(("https://app.example", True))
    origins = BrowserOrigins(store, 5, clock=clock)
    origins.refresh()
    clock.advance(5)
    store.failing = True

    with pytest.raises(ConnectionError):
        origins.refresh()

    assert origins.stale
    assert origins.policy("https://app.example") is Cors.CREDENTIALS
    store.failing = False
    store.origins = []
    origins.refresh()
    assert store.reads == 3
    assert origins.policy("https://app.example") is None


def test_an_invalidated_snapshot_is_read_again_before_its_ttl(clock: FakeClock) -> None:
    store = OriginsStore(("https://app.example", True))
    origins = BrowserOrigins(store, 300, clock=clock)
    origins.refresh()
    store.origins = [("https://new.example", False)]

    origins.invalidate()

    assert origins.stale
    origins.refresh()
    assert store.reads == 2
    assert origins.policy("https://new.example") is Cors.PLAIN
    assert not origins.stale


def test_a_snapshot_read_while_a_change_was_told_stays_stale(clock: FakeClock) -> None:
    """The read began before the change committed: it may not hold the change."""
    store = OriginsStore(("https://app.example", True))
    origins = BrowserOrigins(store, 300, clock=clock)

    class ChangedDuringRead(OriginsStore):
        def browser_origins(self) -> list[tuple[str, bool]]:
            origins.invalidate()
            return super().browser_origins()

    origins._store = ChangedDuringRead(("https://app.example", True))
    origins.refresh()

    assert origins.policy("https://app.example") is Cors.CREDENTIALS
    assert origins.stale
