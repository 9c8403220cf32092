"""What an admin API request carries: a JSON object body (size-limited, application/json) whose
members are read by their types, the query of a listing and the names in the path. Anything
malformed is a 400 naming the member (``field``); a member the operation does not take too."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from authority.errors import InvalidField, InvalidRequestError, NotFound, quoted
from authority.web.requests import JSON, parse_json_object, read_body, text_problem

ABSENT: Any = object()  # a member not given (``Members.nullable_text``), unlike a null one


class Members:
    """The members of one request's JSON object, each read once by its type."""

    def __init__(self, data: dict[str, Any], allowed: frozenset[str]) -> None:
        for name in data:
            if name not in allowed:
                raise InvalidField(
                    f"'{quoted(name)}' is not a member this operation takes", quoted(name)
                )
        self._data = data

    def text(self, name: str, required: bool = False) -> str | None:
        value = self._given(name, required)
        return None if value is None else _text(name, value)

    def texts(self, name: str, required: bool = False) -> list[str] | None:
        """An array of strings."""
        value = self._given(name, required)
        if value is None:
            return None
        if not isinstance(value, list):
            raise InvalidField(f"{name} must be an array of strings", name)
        return [_text(name, item) for item in value]

    def flag(self, name: str) -> bool | None:
        value = self._given(name, False)
        if value is not None and not isinstance(value, bool):
            raise InvalidField(f"{name} must be true or false", name)
        return value

    def nullable_text(self, name: str) -> Any:
        """A string, None for null (which clears), or ``ABSENT`` when not given."""
        if name not in self._data:
            return ABSENT
        value = self._data[name]
        return None if value is None else _text(name, value)

    def raw(self, name: str) -> Any:
        """The member as given, for a rule that reads it itself (None: not given)."""
        return self._given(name, False)

    def _given(self, name: str, required: bool) -> Any:
        value = self._data.get(name)
        if value is None and required:
            raise InvalidField(f"{name} is required", name)
        if value is None and name in self._data:
            raise InvalidField(f"{name} must not be null", name)
        return value


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidField(f"{name} must be a string", name)
    problem = text_problem(value)
    if problem is not None:
        raise InvalidField(f"{name} {problem}", name)
    return value


async def members(request: Request, allowed: frozenset[str] = frozenset()) -> Members:
    """The body's members: an empty body has none; any other must be a JSON object."""
    body = await read_body(request)
    if not body:
        return Members({}, allowed)
    mime, _, charset = request.headers.get("content-type", "").partition(";")
    charset = charset.strip().lower().replace(" ", "")
    if mime.strip().lower() != JSON or charset not in ("", "charset=utf-8", 'charset="utf-8"'):
        raise InvalidRequestError(f"the request body must be {JSON} (UTF-8)")
    return Members(parse_json_object(body), allowed)


class Query:
    """The query parameters of a listing: each one the listing takes, at most once unless it
    is ``repeatable`` (a filter that may name several values)."""

    def __init__(
        self,
        request: Request,
        allowed: frozenset[str],
        repeatable: frozenset[str] = frozenset(),
    ) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in request.query_params.multi_items():
            if name not in allowed | repeatable:
                raise InvalidField(
                    f"'{quoted(name)}' is not a parameter of this listing", quoted(name)
                )
            if name in self._values and name not in repeatable:
                raise InvalidField(f"{name} must not be repeated", name)
            self._values.setdefault(name, []).append(_text(name, value))

    def text(self, name: str) -> str | None:
        return self._values.get(name, [None])[0]

    def texts(self, name: str) -> list[str]:
        return self._values.get(name, [])

    def number(self, name: str, low: int, high: int) -> int | None:
        """A whole number from ``low`` to ``high`` (None: not given)."""
        digits = self.text(name)
        if digits is None:
            return None
        # Its length checked first: int() of thousands of digits is slow (and refused).
        if not (digits.isascii() and digits.isdigit() and len(digits) <= len(str(high))):
            raise InvalidField(f"{name} must be a whole number, {low} to {high}", name)
        if not low <= int(digits) <= high:
            raise InvalidField(f"{name} must be a whole number, {low} to {high}", name)
        return int(digits)


def named(request: Request, name: str, what: str) -> str:
    """A name in the path. One no record can have (a control character: PostgreSQL
    refuses a NUL in text) is answered as unknown, never sent to the database."""
    value: str = request.path_params[name]
    if text_problem(value) is not None:
        raise NotFound(f"no {what} {quoted(repr(value))}")
    return value
