"""What a username and an email address may be: one rule for registration, the operator CLI
and the Django importer.

A username is shown to people and compared by people, so it must read as one thing: letters
and digits of one script (Latin digits and ``. _ - @ +`` go with any), as NFKC writes them
(no fullwidth, ligature or other compatibility forms), with nothing invisible (no spaces,
controls, format characters such as zero-width or direction overrides) and no pile of
combining marks. Usernames are unique ignoring case (``authority.storage.username_key``).
Every username Django's default validator accepts (``[\\w.@+-]+``) and that reads as one
script still passes.

An email address is a plain addr-spec: a dot-atom local part, ``@``, a domain name with a
dot (or its IDN form); no quotes, comments, angle brackets, lists or IP literals. It is kept
one way, so one mailbox is one address: the local part lower-cased, the domain in its ASCII
(IDNA) form.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

MAX_USERNAME = 150
USERNAME_RULE = (
    "a username holds 1 to 150 letters or digits of one script, and . _ - @ +; "
    "no spaces, invisible or look-alike characters"
)
_PUNCTUATION = frozenset("._-@+")
_ASCII_DIGITS = frozenset("0123456789")
# Default-ignorable characters that are letters or marks (the others are format characters):
# invisible, so they would make two names that look alike.
_INVISIBLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0}
    | set(range(0x180B, 0x1810))
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0100, 0xE01F0))
)
# Combining marks in a row after one letter (Indic and Vietnamese need two or three).
_MAX_MARKS = 3
# The script of a character is the first word of its Unicode name ("LATIN SMALL LETTER A",
# "CYRILLIC SMALL LETTER A"), with these names of one script folded together.
_SCRIPT_ALIASES = {
    "CJK": "HAN",
    "IDEOGRAPHIC": "HAN",
    "HIRAGANA": "KANA",
    "KATAKANA": "KANA",
    "KATAKANA-HIRAGANA": "KANA",
    "ARABIC-INDIC": "ARABIC",
    "EXTENDED": "ARABIC",  # EXTENDED ARABIC-INDIC DIGIT ...
}
# Scripts that are written together (UTS #39's "highly restrictive" level).
_WRITTEN_TOGETHER = (
    frozenset({"HAN", "KANA"}),  # Japanese
    frozenset({"HAN", "BOPOMOFO"}),  # Chinese
    frozenset({"HAN", "HANGUL"}),  # Korean
)


def valid_username(username: str) -> bool:
    """Does ``username`` follow the one username rule (see the module's docstring)?"""
    if not 1 <= len(username) <= MAX_USERNAME:
        return False
    if unicodedata.normalize("NFKC", username) != username:
        return False  # fullwidth, ligatures, compatibility forms: a look-alike of another
    scripts: set[str] = set()
    marks = 0
    after_letter = False
    for char in username:
        if ord(char) in _INVISIBLE:
            return False
        category = unicodedata.category(char)
        if category[0] == "M":
            # A combining mark belongs on a letter, and a few in a row are enough.
            marks += 1
            if not after_letter or marks > _MAX_MARKS:
                return False
            script = _script(char)
            if script != "COMBINING":
                scripts.add(script)
            continue
        marks = 0
        after_letter = category[0] == "L"
        if char in _PUNCTUATION or char in _ASCII_DIGITS:
            continue
        if category[0] != "L" and category != "Nd":
            return False  # spaces, controls, format characters, symbols, other punctuation
        scripts.add(_script(char))
    return len(scripts) <= 1 or any(scripts <= family for family in _WRITTEN_TOGETHER)


def _script(char: str) -> str:
    word = unicodedata.name(char, "?").split(" ", 1)[0]
    return _SCRIPT_ALIASES.get(word, word)


def normalize_email(email: str) -> str | None:
    """The address kept one way, so one mailbox is one address; None when it is not a plain
    addr-spec (see the module's docstring). Nothing is looked up: no DNS, no delivery."""
    try:
        address = validate_email(
            email,
            check_deliverability=False,
            allow_smtputf8=False,  # an ASCII local part: every mail server takes it
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            allow_empty_local=False,
        )
    except EmailNotValidError:
        return None
    return f"{address.local_part.lower()}@{address.ascii_domain.lower()}"


def mailbox(address: str) -> str:
    """The mailbox a normalized address delivers to, for counting mails: a "+tag" in the
    local part names the same mailbox on nearly every mail server."""
    local, _, domain = address.rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain}"
