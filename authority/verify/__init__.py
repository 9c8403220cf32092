"""Verify the authority's access tokens in a resource server, offline.

    from authority.verify import Verifier
    verifier = Verifier("https://auth.example", audience="https://api.example")
    claims = verifier.verify(token, scopes=["read"])

Importing this package loads no server code (no Starlette, SQLModel or uvicorn); the
framework adapters live in ``authority.verify.starlette``, ``.fastapi`` and ``.drf``. A
resource server installs the ``authority-verify`` distribution with the extra of its framework
(``authority-verify[fastapi]``); the server's own distribution ships this package too.
"""

from authority.verify.jwt import InsufficientScope, InvalidToken, VerificationError
from authority.verify.verifier import (
    Claims,
    IssuerMismatch,
    KeySetCache,
    Verifier,
    VerifierUnavailable,
)

__all__ = [
    "Claims",
    "InsufficientScope",
    "InvalidToken",
    "IssuerMismatch",
    "KeySetCache",
    "VerificationError",
    "Verifier",
    "VerifierUnavailable",
    "challenge",
]


def challenge(error: VerificationError | None, realm: str = "api") -> str:
    """The RFC 6750 §3 WWW-Authenticate value for a refusal (None: no token was sent)."""
    if error is None:
        return f'Bearer realm="{realm}"'
    value = f'Bearer realm="{realm}", error="{error.error}"'
    description = error.description.replace('"', "'").replace("\\", "/")
    value += f', error_description="{description}"'
    if isinstance(error, InsufficientScope) and error.required:  # scope="" is no scope value
        value += f', scope="{" ".join(error.required)}"'
    return value
