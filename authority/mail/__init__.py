"""Outgoing email: the backend AUTHORITY_EMAIL_URL names, and messages built with the stdlib.

- ``console:`` writes each message to the log at INFO (development, like Django's console
  backend: the links in it are live, so never in production);
- ``file:///DIR`` writes one ``.eml`` file per message (tests and staging);
- ``smtp://[user:pass@]host[:port]`` (STARTTLS when the server offers it) and
  ``smtps://...`` (TLS from the first byte); see ``authority.mail.smtp`` for the options.

Sending blocks: callers run it on a thread, after the response (``deliver``).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from authority.mail.backends import ConsoleMailer, FileMailer
from authority.mail.smtp import SmtpMailer
from authority.settings import ConfigError

__all__ = ["ConsoleMailer", "FileMailer", "Mailer", "SmtpMailer", "compose", "deliver", "from_url"]

log = logging.getLogger("authority.mail")
# RFC 5322 §2.1.1: a line holds at most 998 characters.
MAX_LINE = 998


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand one message over for delivery; raises when that fails."""


def from_url(url: str, helo: str = "localhost") -> Mailer:
    """The backend AUTHORITY_EMAIL_URL names; a bad URL stops the start (ConfigError).

    ``helo`` is the name we greet an SMTP server with (the host of the public URL).
    """
    if url == "console:":
        return ConsoleMailer()
    if url.startswith("file://"):
        return FileMailer.from_url(url)
    if url.startswith(("smtp://", "smtps://")):
        return SmtpMailer.from_url(url, helo)
    raise ConfigError(
        "AUTHORITY_EMAIL_URL must be console:, file:///DIR, smtp://[user:pass@]host:port "
        "or smtps://..."
    )


def compose(sender: str, to: str, subject: str, text: str, domain: str) -> EmailMessage:
    """A plain-text UTF-8 message, marked as sent by a machine (RFC 3834)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    if text.isascii() and all(len(line) <= MAX_LINE for line in text.splitlines()):
        # As written, so a link in a delivered file reads (and greps) as it was sent; left to
        # itself the stdlib would pick quoted-printable for any line over 78 characters
        # (``token=3D...``). 7bit travels through every relay.
        message.set_content(text, cte="7bit")
    else:
        # Non-ASCII text stays quoted-printable: 8bit needs the relay's 8BITMIME.
        message.set_content(text)
    return message


def deliver(mailer: Mailer, message: EmailMessage) -> None:
    """Send, and log a failure instead of raising: it runs after the response, on a thread.
    The log names the recipient and the error, never a credential or the message body."""
    try:
        mailer.send(message)
    except Exception as exc:
        log.error(
            "could not send %r to %s: %s: %s",
            message["Subject"],
            message["To"],
            exc.__class__.__name__,
            mailer_safe(mailer, str(exc)),
        )


def mailer_safe(mailer: Mailer, text: str) -> str:
    """``text`` with the SMTP password blanked, should an error ever quote it."""
    secret = getattr(mailer, "password", None)
    return text.replace(secret, "***") if secret else text
