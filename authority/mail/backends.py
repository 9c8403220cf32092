"""The mail backends that need no server: the log, and a folder of .eml files."""

from __future__ import annotations

import logging
import os
import secrets
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from authority.settings import ConfigError

log = logging.getLogger("authority.mail")


class ConsoleMailer:
    """Each message in the server log at INFO: its headers and its text, decoded, so a link
    can be copied from the log as it is."""

    def send(self, message: EmailMessage) -> None:
        headers = "".join(f"{name}: {value}\n" for name, value in message.items())
        body = message.get_body(("plain",))
        text = body.get_content() if isinstance(body, EmailMessage) else ""
        log.info("email (AUTHORITY_EMAIL_URL=console:)\n%s\n%s", headers, text.rstrip("\n"))


class FileMailer:
    """One ``.eml`` file per message in a folder, readable by the server's user only."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"FileMailer({str(self.folder)!r})"

    @classmethod
    def from_url(cls, url: str) -> FileMailer:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ConfigError("AUTHORITY_EMAIL_URL=file:///DIR needs an absolute folder path")
        folder = Path(unquote(parts.path))
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"AUTHORITY_EMAIL_URL: cannot create the folder {str(folder)!r}: {exc.strerror}"
            ) from None
        return cls(folder)

    def send(self, message: EmailMessage) -> None:
        name = f"{time.time_ns()}-{secrets.token_hex(4)}.eml"
        partial = self.folder / f".{name}.partial"
        # Written aside and renamed, so a reader of the folder never sees half a message.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(message.as_bytes(policy=policy.SMTP))
        os.replace(partial, self.folder / name)
