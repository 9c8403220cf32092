"""The password policy, one for registration, reset, change and the operator CLI: a minimum
length, a maximum size, and a strength estimate (zxcvbn) that knows the user's own names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from authority.hashing import MAX_PASSWORD_BYTES

# zxcvbn's scores: 3 is "safely unguessable" (about 10^8 guesses and more), what an online
# attacker against a throttled login cannot reach and an offline one against argon2id pays
# dearly for.
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching grows fast with the length); the first 72
# characters are judged, so a long password is as strong as its beginning, never stronger.
_ESTIMATED_CHARS = 72
_SEPARATORS = re.compile(r"[._+\-@]+")


class PasswordPolicy:
    def __init__(self, min_length: int, min_score: int = MIN_SCORE) -> None:
        self.min_length = min_length
        self.min_score = min_score

    def problem(self, password: str, user_inputs: Iterable[str | None] = ()) -> str | None:
        """Why ``password`` is refused, in one sentence for the user; None when it is fine.

        ``user_inputs`` are words an attacker would try first for this account: its
        username and email address.
        """
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            return f"a password may hold at most {MAX_PASSWORD_BYTES} bytes"
        if len(password) < self.min_length:
            return f"a password needs at least {self.min_length} characters"
        inputs = _user_words(user_inputs)
        # Imported here: its dictionaries cost about 13 MB, and only password setters need them.
        from zxcvbn import zxcvbn

        result = zxcvbn(password[:_ESTIMATED_CHARS], user_inputs=inputs)
        if result["score"] >= self.min_score:
            return None
        if any(m.get("dictionary_name") == "user_inputs" for m in result["sequence"]):
            return "the password is too close to the username or email address"
        feedback = result["feedback"]
        hints = [feedback.get("warning") or "", *feedback.get("suggestions", [])]
        detail = " ".join(h.strip() for h in hints if h.strip())
        reason = "the password is too easy to guess"
        return _ascii(f"{reason}: {detail}" if detail else reason)


def _user_words(values: Iterable[str | None]) -> list[str]:
    """The values, and their parts: "alice.liddell@example.com" gives "alice.liddell",
    "alice" and "liddell" too (a domain's parts are too common to count)."""
    words: list[str] = []
    for value in values:
        if not value:
            continue
        local, _, _ = value.partition("@")
        parts = [p for p in _SEPARATORS.split(local) if len(p) >= 3]
        words.extend(dict.fromkeys([value, local, *parts]))
    return words


def _ascii(text: str) -> str:
    """What RFC 6749 §5.2 allows in error_description: printable ASCII without " and \\."""
    text = text.replace('"', "'").replace("\\", "/")
    return "".join(c for c in text if 0x20 <= ord(c) <= 0x7E)
