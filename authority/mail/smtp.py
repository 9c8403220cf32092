"""Delivery to an SMTP server (RFC 5321): ``smtp://`` with STARTTLS (RFC 3207) or ``smtps://``
with TLS from the first byte (RFC 8314).

Options in the query string:
- ``starttls=auto`` (default for smtp://): upgrade when the server offers STARTTLS;
  ``require``: refuse to send unless it does; ``off``: never upgrade;
- ``cafile=PATH``: trust this CA bundle instead of the system's (an internal relay);
- ``timeout=SECONDS`` (default 10) for connecting and for each reply.
A password is only ever sent over TLS, unless ``starttls=off`` says the link is trusted.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qsl, unquote, urlsplit

from authority.settings import ConfigError

_STARTTLS = ("auto", "require", "off")


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: str = "auto"
    cafile: str | None = None
    timeout: float = 10.0
    helo: str = "localhost"

    def __repr__(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        return f"SmtpMailer({scheme}://{user}{self.host}:{self.port})"

    @classmethod
    def from_url(cls, url: str, helo: str = "localhost") -> SmtpMailer:
        # Messages name the variable, never the URL: it may hold the password.
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise ConfigError("AUTHORITY_EMAIL_URL has an invalid port") from None
        if not parts.hostname:
            raise ConfigError("AUTHORITY_EMAIL_URL needs a host: smtp://[user:pass@]host:port")
        implicit = parts.scheme == "smtps"
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(options) - {"starttls", "cafile", "timeout"})
        if unknown:
            raise ConfigError(
                f"AUTHORITY_EMAIL_URL: unknown option {unknown[0]!r}; "
                "use starttls, cafile or timeout"
            )
        starttls = options.get("starttls", "auto")
        if starttls not in _STARTTLS or (implicit and "starttls" in options):
            raise ConfigError(
                "AUTHORITY_EMAIL_URL: starttls must be auto, require or off (smtp:// only)"
            )
        try:
            timeout = float(options.get("timeout", "10"))
        except ValueError:
            timeout = 0
        if not 0 < timeout <= 300:
            raise ConfigError("AUTHORITY_EMAIL_URL: timeout must be 0 < seconds <= 300")
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 25),
            implicit_tls=implicit,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            starttls=starttls,
            cafile=options.get("cafile") or None,
            timeout=timeout,
            helo=helo,
        )

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, self.helo, timeout=self.timeout, context=self._tls()
            )
        return smtplib.SMTP(self.host, self.port, self.helo, timeout=self.timeout)

    def send(self, message: EmailMessage) -> None:
        with self._connect() as smtp:
            smtp.ehlo()
            secure = self.implicit_tls
            if not secure and self.starttls != "off":
                if smtp.has_extn("starttls"):
                    # A certificate that does not verify fails here: no quiet fallback.
                    smtp.starttls(context=self._tls())
                    smtp.ehlo()
                    secure = True
                elif self.starttls == "require":
                    raise MailError("the SMTP server does not offer STARTTLS (starttls=require)")
            if self.username is not None:
                if not secure and self.starttls != "off":
                    raise MailError(
                        "the SMTP server offers no TLS; the password is not sent in the clear "
                        "(add ?starttls=off if this link is trusted)"
                    )
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
