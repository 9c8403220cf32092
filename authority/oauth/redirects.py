"""Redirect URIs: which a client may register (RFC 6749 §3.1.2, RFC 8252 §7), and which
requested URI matches a registered one (exact string, RFC 9700 §4.1.3)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_LENGTH = 2000
LOOPBACK_HOSTS = ("127.0.0.1", "[::1]", "localhost")
# http on a loopback host: host, optional port, then path and query as registered.
_LOOPBACK = re.compile(
    r"http://(?P<host>127\.0\.0\.1|\[::1\]|localhost)(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<rest>(?:/[^?#]*)?(?:\?[^#]*)?)",
)
# RFC 8252 §7.1: a private-use scheme is a reverse domain name, e.g. com.example.app.
_PRIVATE_SCHEME = re.compile(r"[a-z][a-z0-9+\-]*(?:\.[a-z0-9+\-]+)+")
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def problem(uri: str, public: bool) -> str | None:
    """Why ``uri`` may not be registered as a redirect URI, or None when it may."""
    if not uri or len(uri) > MAX_LENGTH:
        return f"a redirect URI holds 1 to {MAX_LENGTH} characters"
    if _UNSAFE.search(uri):
        return "a redirect URI holds no spaces, control characters or backslashes"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        return f"{uri!r} is not a valid URI"
    if "#" in uri:
        return "a redirect URI carries no fragment"
    if not parts.scheme:
        return f"{uri!r} is not absolute (it has no scheme)"
    if parts.username is not None or parts.password is not None:
        return "a redirect URI carries no user name or password"
    scheme = parts.scheme
    if scheme == "https":
        if not parts.hostname:
            return f"{uri!r} names no host"
        return None
    if scheme == "http":
        if _LOOPBACK.fullmatch(uri) is None:
            return (
                "a redirect URI must be https, or http on a loopback host "
                f"({', '.join(LOOPBACK_HOSTS)})"
            )
        return None
    if _PRIVATE_SCHEME.fullmatch(scheme) is None:
        return (
            f"scheme {scheme!r} is not allowed: use https, http on a loopback host, or (for a "
            "public client) a private-use scheme in reverse domain form like com.example.app"
        )
    if not public:
        return "only a public client (--public) may use a private-use scheme redirect URI"
    return None


def matching(requested: str, registered: tuple[str, ...]) -> str | None:
    """The redirect URI to use for ``requested``, or None if it matches no registered one.

    The match is by exact string. The one exception (RFC 8252 §7.3): for a registered http
    URI on a loopback host, the port may differ, as a native app listens on whatever port
    the system gives it; everything else still matches exactly.
    """
    if len(requested) > MAX_LENGTH:
        return None
    if requested in registered:
        return requested
    asked = _LOOPBACK.fullmatch(requested)
    if asked is None:
        return None
    for uri in registered:
        known = _LOOPBACK.fullmatch(uri)
        if known and (known["host"], known["rest"]) == (asked["host"], asked["rest"]):
            port = asked["port"]
            if port is None or int(port) <= 65535:
                return requested
    return None


def form_target(uri: str) -> str:
    """The Content-Security-Policy source (form-action) of a redirect URI: its origin, or its
    scheme for a private-use one. A page whose form ends in a redirect there names it, as
    browsers check the redirect that follows the POST too."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"
