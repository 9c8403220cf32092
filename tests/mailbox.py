"""Reading what the file mail backend (AUTHORITY_EMAIL_URL=file:///DIR) delivered."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_LINK = re.compile(r"https?://\S+")


class Mailbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """Every delivered message (to ``to``), oldest first; half-written files are hidden."""
        if not self.folder.exists():
            return []
        found = []
        for path in sorted(self.folder.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            if to is None or message["To"] == to:
                found.append(message)
        return found

    def wait_for(
        self, count: int, to: str | None = None, timeout: float = 15
    ) -> list[EmailMessage]:
        """Poll until ``count`` messages (to ``to``) arrived; mail is sent after the answer."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(to)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} messages arrived in {timeout} s")
            time.sleep(0.05)


def text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def link(message: EmailMessage) -> str:
    """The one link in a message."""
    urls: list[str] = _LINK.findall(text(message))
    [url] = urls
    return url


def token(message: EmailMessage, path: str) -> str:
    """The token of the message's link, which must lead to ``path``."""
    parts = urlsplit(link(message))
    assert parts.path == path, link(message)
    [value] = parse_qs(parts.query)["token"]
    return value
