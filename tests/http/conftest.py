"""The HTTP tests deliver mail to a folder, where the account tests read it; ``untold_http``
is the app of a server told of no change."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.settings import Settings
from authority.web.app import create_app
from tests.conftest import ISSUER
from tests.mailbox import Mailbox


@pytest.fixture
def mailbox(tmp_path: Path) -> Mailbox:
    return Mailbox(tmp_path / "mail")


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return settings.replace(email_url=f"file://{mailbox.folder}")


class NotWatching:
    """A change watcher that watches nothing, as when change notifications are down."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.started.set()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


@pytest.fixture
def untold_http(authority: Authority, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app of a server that is told of no change made elsewhere: only its periodic reload
    and its caches' time to live bound what it holds."""
    monkeypatch.setattr(authority, "watch_changes", NotWatching)
    with TestClient(create_app(authority=authority), base_url=ISSUER) as client:
        yield client
