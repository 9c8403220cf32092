"""The HTTP tests deliver mail to a folder, where the account tests read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from authority.settings import Settings
from tests.mailbox import Mailbox


@pytest.fixture
def mailbox(tmp_path: Path) -> Mailbox:
    return Mailbox(tmp_path / "mail")


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return settings.replace(email_url=f"file://{mailbox.folder}")
