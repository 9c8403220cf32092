"""The mail backends: the log, a folder, and a real SMTP server (aiosmtpd) with and without TLS."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from authority import mail
from authority.accounts import Letters
from authority.mail import ConsoleMailer, FileMailer, SmtpMailer
from authority.mail.smtp import MailError
from authority.settings import ConfigError

SECRET = "pa:ss/w@rd%"  # percent-encoded in URLs below
ENCODED = "pa%3Ass%2Fw%40rd%25"


def message(to: str = "alice@example.com") -> Any:
    return mail.compose(
        "authority@auth.example", to, "Grüße", "Hello ✓\nhttps://auth.example/x\n", "auth.example"
    )


# -- a TLS certificate and a real SMTP server -----------------------------------------------


@dataclass
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, trusted through ?cafile= only."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(folder / "cert.pem", folder / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclass
class Received:
    envelopes: list[Any] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        # STARTTLS shows in the session, TLS from the first byte in the transport.
        transport = server.transport.get_extra_info("ssl_object")
        self.tls.append(session.ssl is not None or transport is not None)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        ok = data.login == b"mailer" and data.password == SECRET.encode()
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server(received: Received, **options: Any) -> Iterator[int]:
    """aiosmtpd on 127.0.0.1 in its own thread; yields its port."""
    port = free_port()
    controller = Controller(
        received,
        hostname="127.0.0.1",
        port=port,
        authenticator=received.authenticate,
        **options,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def delivered(received: Received) -> Any:
    [envelope] = received.envelopes
    return message_from_bytes(envelope.original_content, policy=policy.default)


# -- SMTP ------------------------------------------------------------------------------------


def test_smtp_without_tls_delivers_when_no_password_is_involved() -> None:
    received = Received()
    with smtp_server(received) as port:
        SmtpMailer.from_url(f"smtp://127.0.0.1:{port}").send(message())

    got = delivered(received)
    assert received.envelopes[0].rcpt_tos == ["alice@example.com"]
    assert received.envelopes[0].mail_from == "authority@auth.example"
    body = got.get_content().replace("\r\n", "\n")
    assert (got["Subject"], body) == ("Grüße", "Hello ✓\nhttps://auth.example/x\n")
    assert received.tls == [False]


def test_smtp_upgrades_with_starttls_when_offered_and_logs_in_over_tls(
    certificate: Certificate,
) -> None:
    received = Received()
    with smtp_server(
        received, tls_context=certificate.server_context(), require_starttls=True
    ) as port:
        url = f"smtp://mailer:{ENCODED}@127.0.0.1:{port}?cafile={certificate.cert}"
        SmtpMailer.from_url(url).send(message())

    assert received.tls == [True]
    assert received.logins == [(b"mailer", SECRET.encode())]
    assert delivered(received)["To"] == "alice@example.com"


def test_smtp_refuses_a_certificate_it_cannot_verify(certificate: Certificate) -> None:
    received = Received()
    with smtp_server(received, tls_context=certificate.server_context()) as port:
        mailer = SmtpMailer.from_url(f"smtp://mailer:{ENCODED}@127.0.0.1:{port}")
        with pytest.raises(ssl.SSLCertVerificationError):
            mailer.send(message())

    assert received.envelopes == [] and received.logins == []


def test_smtp_never_sends_a_password_in_the_clear() -> None:
    received = Received()
    with smtp_server(received, auth_require_tls=False) as port:
        mailer = SmtpMailer.from_url(f"smtp://mailer:{ENCODED}@127.0.0.1:{port}")
        with pytest.raises(MailError, match="the password is not sent in the clear"):
            mailer.send(message())
        # Unless the operator says the link is trusted.
        SmtpMailer.from_url(f"smtp://mailer:{ENCODED}@127.0.0.1:{port}?starttls=off").send(
            message()
        )

    assert received.logins == [(b"mailer", SECRET.encode())]
    assert received.tls == [False]


def test_starttls_require_refuses_a_server_without_it() -> None:
    received = Received()
    with smtp_server(received) as port:
        mailer = SmtpMailer.from_url(f"smtp://127.0.0.1:{port}?starttls=require")
        with pytest.raises(MailError, match="does not offer STARTTLS"):
            mailer.send(message())

    assert received.envelopes == []


def test_smtps_speaks_tls_from_the_first_byte(certificate: Certificate) -> None:
    received = Received()
    # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS throughout.
    options = {"ssl_context": certificate.server_context(), "auth_require_tls": False}
    with smtp_server(received, **options) as port:
        url = f"smtps://mailer:{ENCODED}@127.0.0.1:{port}?cafile={certificate.cert}"
        SmtpMailer.from_url(url).send(message())

    assert received.tls == [True]
    assert received.logins == [(b"mailer", SECRET.encode())]


def test_a_failed_delivery_is_logged_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    received = Received()
    with smtp_server(received, auth_require_tls=False) as port:
        url = f"smtp://mailer:wrong-{ENCODED}@127.0.0.1:{port}?starttls=off"
        mailer = SmtpMailer.from_url(url)
        with caplog.at_level(logging.ERROR, logger="authority.mail"):
            mail.deliver(mailer, message())  # does not raise: it runs after the answer

    [record] = caplog.records
    assert record.getMessage().startswith(
        "could not send 'Grüße' to alice@example.com: SMTPAuthenticationError: (535"
    )
    assert SECRET not in caplog.text and ENCODED not in caplog.text
    assert received.envelopes == []


def test_the_password_never_shows_in_repr() -> None:
    mailer = SmtpMailer.from_url(f"smtps://mailer:{ENCODED}@mail.example")

    assert repr(mailer) == "SmtpMailer(smtps://mailer:***@mail.example:465)"
    assert mailer.password == SECRET
    assert SECRET not in repr(mailer) and SECRET not in str(mailer)


def test_default_ports_and_options() -> None:
    plain = SmtpMailer.from_url("smtp://mail.example")
    assert (plain.port, plain.implicit_tls, plain.starttls, plain.username) == (
        25,
        False,
        "auto",
        None,
    )
    assert plain.timeout == 10
    tuned = SmtpMailer.from_url("smtp://mail.example:587?starttls=require&timeout=3")
    assert (tuned.port, tuned.starttls, tuned.timeout) == (587, "require", 3)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("smtp://mail.example?tls=yes", "unknown option 'tls'"),
        ("smtp://mail.example?starttls=maybe", "starttls must be auto, require or off"),
        ("smtps://mail.example?starttls=off", "starttls must be auto, require or off"),
        ("smtp://mail.example?timeout=0", "timeout must be 0 < seconds <= 300"),
        ("smtp://mail.example?timeout=soon", "timeout must be 0 < seconds <= 300"),
        ("smtp://u:secret@mail.example:99999", "AUTHORITY_EMAIL_URL has an invalid port"),
        ("smtp://", "AUTHORITY_EMAIL_URL needs a host"),
        ("file://relative/dir", "needs an absolute folder path"),
        ("pigeon://coop", "AUTHORITY_EMAIL_URL must be console:"),
    ],
)
def test_a_bad_url_stops_the_start_naming_the_variable_not_the_secret(url: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error) as raised:
        mail.from_url(url)
    assert "secret" not in str(raised.value)


# -- console and file -----------------------------------------------------------------------


def test_the_console_backend_writes_the_whole_message_to_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mailer = mail.from_url("console:")
    assert isinstance(mailer, ConsoleMailer)

    with caplog.at_level(logging.INFO, logger="authority.mail"):
        mailer.send(message())

    [record] = caplog.records
    assert record.levelno == logging.INFO
    logged = record.getMessage()
    assert "To: alice@example.com" in logged
    assert "Hello ✓" in logged and "https://auth.example/x" in logged


def test_the_file_backend_writes_one_private_eml_per_message(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "mail"
    mailer = mail.from_url(f"file://{folder}")
    assert isinstance(mailer, FileMailer)
    assert folder.is_dir()

    mailer.send(message("alice@example.com"))
    mailer.send(message("bob@example.com"))

    files = sorted(folder.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    parsed = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert [m["To"] for m in parsed] == ["alice@example.com", "bob@example.com"]
    assert b"\r\n" in files[0].read_bytes()  # as it would travel (RFC 5322 line ends)
    assert parsed[0]["Message-ID"].endswith("@auth.example>")
    assert parsed[0]["Auto-Submitted"] == "auto-generated"


def test_the_file_backend_keeps_a_letters_link_as_it_was_written(tmp_path: Path) -> None:
    # A grep of the folder for the link finds it whole: no quoted-printable "token=3D...",
    # no line broken with "=" (the letter's link line is longer than 78 characters).
    letters = Letters("https://auth.example", "authority@auth.example", 86400, 1800)
    token = "A" * 43
    FileMailer(tmp_path).send(letters.verification("alice@example.com", token))

    [file] = tmp_path.iterdir()
    raw = file.read_bytes()
    link = f"https://auth.example/accounts/verify-email?token={token}"
    assert f"\r\n{link}\r\n".encode() in raw
    assert b"Content-Transfer-Encoding: 7bit" in raw
    assert b"=3D" not in raw


def test_a_body_that_is_not_ascii_still_arrives_intact(tmp_path: Path) -> None:
    FileMailer(tmp_path).send(message())

    [file] = tmp_path.iterdir()
    parsed = message_from_bytes(file.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content().replace("\r\n", "\n") == "Hello ✓\nhttps://auth.example/x\n"
