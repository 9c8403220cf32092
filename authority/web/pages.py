"""The few HTML pages a link in an email opens: plain forms, no script, one inline style
(allowed by its hash in the Content-Security-Policy, nothing else is)."""

from __future__ import annotations

import base64
import hashlib
from html import escape

_CSS = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1c1e21}"
    "main{max-width:26rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px;"
    "box-shadow:0 1px 3px rgba(0,0,0,.15)}"
    "h1{font-size:1.4rem;margin-top:0}label{display:block;font-weight:600;margin:1rem 0 .3rem}"
    "input{box-sizing:border-box;width:100%;padding:.55rem;font:inherit}"
    "button{margin-top:1.2rem;padding:.6rem 1rem;font:inherit;cursor:pointer}"
    ".hint{color:#555;font-size:.9rem}.error{color:#a00;font-weight:600}"
)
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()

CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main><h1>{escape(title)}</h1>\n{body}\n</main></body></html>\n"
    )


def message(title: str, text: str) -> str:
    return _page(title, f"<p>{escape(text)}</p>")


def error(text: str) -> str:
    return _page("Something went wrong", f'<p class="error">{escape(text)}</p>')


def reset_form(token: str, min_length: int, problem: str | None = None) -> str:
    """The reset link's page. Its form posts to ``reset/confirm`` beside it (a relative URL,
    so it works under any base path); the token rides in a hidden field."""
    alert = f'<p class="error" role="alert">{escape(problem)}</p>\n' if problem else ""
    return _page(
        "Choose a new password",
        f"{alert}"
        '<form method="post" action="reset/confirm" accept-charset="utf-8">\n'
        f'<input type="hidden" name="token" value="{escape(token)}">\n'
        '<label for="new_password">New password</label>\n'
        '<input id="new_password" name="new_password" type="password" '
        f'autocomplete="new-password" required minlength="{min_length}" maxlength="1024">\n'
        f'<p class="hint">At least {min_length} characters. A few unusual words make a '
        "strong password; your name or email address do not.</p>\n"
        '<button type="submit">Set the new password</button>\n'
        "</form>",
    )


def verify_form(token: str) -> str:
    """The verification link's page: opening a link changes nothing, the button does."""
    return _page(
        "Confirm your email address",
        '<form method="post" action="verify-email" accept-charset="utf-8">\n'
        f'<input type="hidden" name="token" value="{escape(token)}">\n'
        "<p>Confirm that this email address belongs to your account.</p>\n"
        '<button type="submit">Confirm my email address</button>\n'
        "</form>",
    )
