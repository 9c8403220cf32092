"""RFC 6750 §2.1: the access token in ``Authorization: Bearer <token>``, read one way by the
authority's own endpoints and by every resource-server adapter.

    credentials = "Bearer" 1*SP b64token
    b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="

Each caller keeps its own answer to a header that is absent or names another scheme; only
the reading of the header lives here.
"""

from __future__ import annotations

import re

# re.ASCII: with IGNORECASE alone, [A-Za-z] would also match U+017F and U+212A (long s, Kelvin).
_CREDENTIALS = re.compile(r"bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE | re.ASCII)
# RFC 9110 §5.5: a field value's leading and trailing whitespace is not part of it.
_OWS = " \t"

MALFORMED = "use Authorization: Bearer with an access token"
MISSING = "an access token is required"


def names_bearer(authorization: str) -> bool:
    """Whether the header's auth-scheme is Bearer (case-insensitive, RFC 9110 §11.1),
    whatever follows it: another scheme is for another authenticator."""
    scheme = authorization.strip(_OWS).partition(" ")[0]
    return scheme.isascii() and scheme.lower() == "bearer"


def bearer_token(authorization: str) -> str | None:
    """The one b64token of a ``Bearer`` header value; None for another scheme, no token, a
    character outside b64token, or anything after the token."""
    match = _CREDENTIALS.fullmatch(authorization.strip(_OWS))
    return match.group(1) if match else None
