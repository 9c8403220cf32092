"""`authority users import`: bring users from Django without making anyone reset a password.

Reads what ``manage.py dumpdata auth.user`` (or ``dumpdata auth``, as JSON or JSON lines)
writes, or a CSV with the header ``username,email,password_hash,is_active``. Hashes are
copied, not recomputed; Django's are checked at login and re-hashed to argon2id then.
Re-running updates, never duplicates. A bad row is reported where it is and skipped; what
authority has no place for (is_staff, groups, names, ...) is counted, so nothing is dropped
without a word. The report maps every Django pk to the user's ``sub``.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from authority.accounts import USERNAME_RULE, normalize_email, valid_username
from authority.admin.import_sources import (
    FORMATS,
    ImportFormatError,
    OtherModel,
    Place,
    rows,
    sniff,
)
from authority.credentials import legacy_hashes
from authority.storage.sql import SqlStorage

__all__ = ["FORMATS", "ImportFormatError", "ImportReport", "Place", "run", "sniff"]
BATCH = 1000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)  # {line, index?, error}
    users: list[dict[str, Any]] = field(default_factory=list)  # {pk, username, sub}
    ignored: dict[str, int] = field(default_factory=dict)  # rows of other models, by model
    dropped: dict[str, int] = field(default_factory=dict)  # users whose field held data
    models: dict[str, int] = field(default_factory=dict)  # user rows read, by model
    seconds: float = 0.0


def _holds_data(value: Any) -> bool:
    return value not in (None, "", False, [], {})


def _epoch(value: Any) -> int | None:
    """Django's date_joined (ISO 8601, as dumpdata writes it) in seconds, if it is one."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def _checked(user: dict[str, Any]) -> dict[str, Any]:
    # The one identity rule, as for registration and the CLI (authority.accounts.identity).
    username, email, stored = user["username"], user["email"], user["password_hash"]
    if not isinstance(username, str):
        raise ValueError("the username is missing")
    if not valid_username(username):
        raise ValueError(f"{username!r}: {USERNAME_RULE}")
    address = normalize_email(email) if isinstance(email, str) else None
    if email is not None and address is None:
        raise ValueError(f"{email!r} is not an email address")
    if not isinstance(stored, str) or len(stored) > 200:
        raise ValueError("the password hash is missing or too long")
    # "!..." is Django's unusable password: imported, and no password will ever match it.
    if not (stored.startswith("!") or legacy_hashes.is_known(stored)):
        raise ValueError(f"unsupported password hash (Django's {legacy_hashes.NAMES}, argon2id)")
    return {**user, "email": address, "is_active": bool(user["is_active"])}


def run(
    storage: SqlStorage,
    data: str,
    fmt: str,
    email_verified: bool,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    if fmt not in FORMATS:
        raise ImportFormatError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    started = time.monotonic()
    report = ImportReport()
    ignored: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    models: Counter[str] = Counter()
    batch: list[dict[str, Any]] = []
    pending: list[tuple[Place, Any, str]] = []  # (place, pk, username) of the batch's rows
    seen = 0

    def fail(place: Place, error: str) -> None:
        report.failed.append({**place.view(), "error": error})

    def flush() -> None:
        created, updated, refused = storage.upsert_users(batch, int(time.time()))
        report.created += created
        report.updated += updated
        subs = storage.subs_by_username(list({name for _, _, name in pending} - set(refused)))
        for place, pk, name in pending:
            if name in refused:
                fail(place, f"{name!r} differs only in case from another username")
            else:
                report.users.append({"pk": pk, "username": name, "sub": subs[name]})
        batch.clear()
        pending.clear()

    for place, result in rows(data, fmt):
        seen += 1
        if isinstance(result, OtherModel):
            ignored[result.model] += 1
            continue
        try:
            user = result if isinstance(result, ValueError) else _checked(result)
        except ValueError as exc:
            user = exc
        if isinstance(user, ValueError):
            fail(place, str(user))
        else:
            if user["model"]:
                models[user["model"]] += 1
            extra = dict(user["extra"])
            joined = _epoch(extra.get("date_joined"))
            if joined is not None:  # kept, as the user's created_at
                del extra["date_joined"]
            dropped.update(k for k, v in extra.items() if _holds_data(v))
            pending.append((place, user["pk"], user["username"]))
            batch.append(
                {
                    **({"created_at": joined} if joined is not None else {}),
                    "sub": str(uuid.uuid4()),
                    "username": user["username"],
                    "email": user["email"],
                    "password_hash": user["password_hash"],
                    "disabled": not user["is_active"],
                    "email_verified": email_verified and user["email"] is not None,
                }
            )
            if len(batch) >= BATCH:
                flush()
        if progress and seen % BATCH == 0:
            progress(seen)
    if batch:
        flush()
    report.failed.sort(key=lambda bad: (int(bad["line"]), bad.get("index", 0)))
    report.ignored, report.models = dict(ignored), dict(models)
    report.dropped = dict(sorted(dropped.items()))
    if progress:
        progress(seen)
    report.seconds = round(time.monotonic() - started, 2)
    return report
