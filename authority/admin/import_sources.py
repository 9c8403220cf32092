"""What ``authority users import`` reads: Django's ``dumpdata`` (JSON array or JSON lines) or a CSV.

Each source yields rows with where they are (the line; in a JSON array also the element's
index), so a skipped row can be found again. A row of another Django model (groups,
permissions, content types: ``dumpdata auth`` holds them all) is not a user; the importer
counts it and moves on.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

FORMATS = ("json", "jsonl", "csv")
CSV_COLUMNS = ("username", "email", "password_hash", "is_active")
# What authority keeps of a Django user; every other field that holds data is reported.
KEPT_FIELDS = {"username", "email", "password", "is_active"}
# Every Django user model has these (AbstractBaseUser); a custom one may lack the rest.
USER_MODEL_FIELDS = {"password", "last_login"}


class ImportFormatError(ValueError):
    """The input as a whole cannot be read; the message says why."""


@dataclass(frozen=True)
class OtherModel:
    """A dumpdata row of a model that holds no users."""

    model: str


@dataclass(frozen=True)
class Place:
    line: int
    index: int | None = None  # the element of a JSON array

    def view(self) -> dict[str, int]:
        return (
            {"line": self.line} if self.index is None else {"line": self.line, "index": self.index}
        )

    def __str__(self) -> str:
        return f"line {self.line}" + ("" if self.index is None else f" (element [{self.index}])")


def sniff(data: str) -> str:
    """The format of ``data`` from its first character: ``[`` a JSON array, ``{`` JSON lines."""
    start = data.lstrip("\ufeff \t\r\n")[:1]
    if not start:
        raise ImportFormatError("the input is empty")
    return {"[": "json", "{": "jsonl"}.get(start, "csv")


Row = dict[str, Any] | ValueError | OtherModel


def rows(data: str, fmt: str) -> Iterator[tuple[Place, Row]]:
    """(place, user) for each row, ``user`` holding username, email, password_hash,
    is_active, pk, model and ``extra`` (the other fields); a row that cannot be read yields a
    ValueError instead, a row of another model an OtherModel."""
    if fmt == "csv":
        yield from _csv(data)
        return
    source = _json_array(data) if fmt == "json" else _json_lines(data)
    for place, record in source:
        if isinstance(record, ValueError):
            yield place, record
            continue
        try:
            yield place, _from_django(record)
        except ValueError as exc:
            yield place, exc


def _json_array(data: str) -> Iterator[tuple[Place, Any]]:
    """Each element of the top-level array with the line it starts on."""
    decoder = json.JSONDecoder()
    position = data.find("[")
    if position < 0 or data[:position].strip("\ufeff \t\r\n"):
        raise ImportFormatError("the JSON input must hold an array, as dumpdata writes it")
    position += 1
    line = 1 + data.count("\n", 0, position)
    index = 0
    while True:
        while position < len(data) and data[position] in " \t\r\n,":
            if data[position] == "\n":
                line += 1
            position += 1
        if position >= len(data):
            raise ImportFormatError("the JSON array is not closed")
        if data[position] == "]":
            return
        try:
            value, end = decoder.raw_decode(data, position)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(f"line {exc.lineno}: {exc.msg}") from None
        yield Place(line, index), value
        line += data.count("\n", position, end)
        position, index = end, index + 1


def _json_lines(data: str) -> Iterator[tuple[Place, Any]]:
    """``dumpdata --format jsonl``: one object a line; a broken line is one bad row."""
    for number, text in enumerate(data.lstrip("\ufeff").splitlines(), 1):
        if not text.strip():
            continue
        try:
            yield Place(number), json.loads(text)
        except json.JSONDecodeError as exc:
            yield Place(number), ValueError(f"not JSON: {exc.msg}")


def _from_django(record: Any) -> dict[str, Any] | OtherModel:
    if not isinstance(record, dict) or not isinstance(record.get("model"), str):
        raise ValueError("not a dumpdata record (no model)")
    model, fields = record["model"], record.get("fields")
    if not isinstance(fields, dict):
        raise ValueError(f"the {model} record has no fields")
    if model != "auth.user" and not set(fields) >= USER_MODEL_FIELDS:
        return OtherModel(model)
    if "username" not in fields:
        # A custom user model whose USERNAME_FIELD is something else (often email).
        raise ValueError(
            f"{model} has no username field; export username,email,password_hash,is_active "
            "as CSV instead"
        )
    return {
        "model": model,
        "pk": record.get("pk"),
        "username": fields["username"],
        "email": fields.get("email") or None,
        "password_hash": fields.get("password"),
        "is_active": fields.get("is_active", True),
        "extra": {k: v for k, v in fields.items() if k not in KEPT_FIELDS},
    }


def _csv(data: str) -> Iterator[tuple[Place, Row]]:
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff")))
    if not reader.fieldnames or not {"username", "password_hash"} <= set(reader.fieldnames):
        raise ImportFormatError(f"the CSV header must name {', '.join(CSV_COLUMNS)}")
    for row in reader:
        place = Place(reader.line_num)
        active = (row.get("is_active") or "true").strip().lower()
        if active not in ("1", "0", "true", "false", "yes", "no"):
            yield place, ValueError(f"is_active must be true or false, not {active!r}")
            continue
        yield (
            place,
            {
                "model": None,
                "pk": None,
                "username": row.get("username"),
                "email": (row.get("email") or "").strip() or None,
                "password_hash": row.get("password_hash"),
                "is_active": active in ("1", "true", "yes"),
                "extra": {k: v for k, v in row.items() if k not in CSV_COLUMNS and k is not None},
            },
        )
