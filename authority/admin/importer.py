"""`authority users import`: bring users from Django without making anyone reset a password.

Reads what `manage.py dumpdata auth.user` writes (a JSON array) or a CSV with the header
``username,email,password_hash,is_active``. Hashes are copied, not recomputed; Django's are
checked at login and re-hashed to argon2id then. Re-running updates, never duplicates; a
bad row is reported by its line and skipped.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from authority.accounts import USERNAME_RULE, normalize_email, valid_username
from authority.credentials import legacy_hashes
from authority.storage.sql import SqlStorage

BATCH = 1000


class ImportFormatError(ValueError):
    """The file as a whole cannot be read; the message says why."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _json_records(text: str) -> Iterator[tuple[int, Any]]:
    """Each element of the top-level array with the line it starts on."""
    decoder = json.JSONDecoder()
    position = text.find("[")
    if position < 0 or text[:position].strip():
        raise ImportFormatError("the JSON file must hold an array, as dumpdata writes it")
    position += 1
    line = 1 + text.count("\n", 0, position)
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            if text[position] == "\n":
                line += 1
            position += 1
        if position >= len(text):
            raise ImportFormatError("the JSON array is not closed")
        if text[position] == "]":
            return
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(f"line {exc.lineno}: {exc.msg}") from None
        yield line, value
        line += text.count("\n", position, end)
        position = end


def _from_django(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict) or record.get("model") != "auth.user":
        raise ValueError("not an auth.user record")
    fields = record.get("fields")
    if not isinstance(fields, dict):
        raise ValueError("the record has no fields")
    return {
        "username": fields.get("username"),
        "email": fields.get("email") or None,
        "password_hash": fields.get("password"),
        "is_active": fields.get("is_active", True),
    }


def _from_csv(row: dict[str, str]) -> dict[str, Any]:
    active = (row.get("is_active") or "true").strip().lower()
    if active not in ("1", "0", "true", "false", "yes", "no"):
        raise ValueError(f"is_active must be true or false, not {active!r}")
    return {
        "username": row.get("username"),
        "email": (row.get("email") or "").strip() or None,
        "password_hash": row.get("password_hash"),
        "is_active": active in ("1", "true", "yes"),
    }


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
        raise ValueError(
            "unsupported password hash (pbkdf2_sha256, argon2, bcrypt_sha256 or argon2id)"
        )
    return {**user, "email": address, "is_active": bool(user["is_active"])}


def records(data: str, fmt: str) -> Iterator[tuple[int, dict[str, Any] | ValueError]]:
    """(line, user) for every row; a row that cannot be used yields its error instead."""
    if fmt == "json":
        source: Iterator[tuple[int, Any]] = _json_records(data)
        convert: Callable[[Any], dict[str, Any]] = _from_django
    else:
        reader = csv.DictReader(io.StringIO(data))
        expected = {"username", "email", "password_hash", "is_active"}
        if not reader.fieldnames or not {"username", "password_hash"} <= set(reader.fieldnames):
            raise ImportFormatError(f"the CSV header must name {', '.join(sorted(expected))}")
        source = ((reader.line_num, row) for row in reader)
        convert = _from_csv
    for line, raw in source:
        try:
            yield line, _checked(convert(raw))
        except ValueError as exc:
            yield line, exc


def run(
    storage: SqlStorage,
    data: str,
    fmt: str,
    email_verified: bool,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    started = time.monotonic()
    report = ImportReport()
    batch: list[dict[str, Any]] = []
    lines: dict[str, int] = {}  # the line of each username in the batch
    seen = 0

    def flush() -> None:
        created, updated, refused = storage.upsert_users(batch, int(time.time()))
        report.created += created
        report.updated += updated
        for username in refused:
            report.failed.append(
                {
                    "line": lines[username],
                    "error": f"{username!r} differs only in case from another username",
                }
            )
        batch.clear()
        lines.clear()

    for line, result in records(data, fmt):
        seen += 1
        if isinstance(result, ValueError):
            report.failed.append({"line": line, "error": str(result)})
        else:
            lines[result["username"]] = line
            batch.append(
                {
                    "sub": str(uuid.uuid4()),
                    "username": result["username"],
                    "email": result["email"],
                    "password_hash": result["password_hash"],
                    "disabled": not result["is_active"],
                    "email_verified": email_verified and result["email"] is not None,
                }
            )
            if len(batch) >= BATCH:
                flush()
        if progress and seen % BATCH == 0:
            progress(seen)
    if batch:
        flush()
    report.failed.sort(key=lambda bad: int(bad["line"]))
    if progress:
        progress(seen)
    report.seconds = round(time.monotonic() - started, 2)
    return report
