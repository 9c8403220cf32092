"""Self-service accounts (registration, verification, reset, change); no HTTP in here."""

from __future__ import annotations

from authority.accounts.identity import USERNAME_RULE, normalize_email, valid_username
from authority.accounts.letters import RESET_PATH, VERIFY_PATH, Letters
from authority.accounts.service import Accounts, Job

__all__ = [
    "RESET_PATH",
    "USERNAME_RULE",
    "VERIFY_PATH",
    "Accounts",
    "Job",
    "Letters",
    "normalize_email",
    "valid_username",
]
