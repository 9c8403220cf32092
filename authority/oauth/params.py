"""Request parameters as the grants see them: parsed, de-duplicated by rule, no HTTP."""

from __future__ import annotations

from collections.abc import Mapping

from authority.errors import InvalidRequestError

# RFC 8707 §2: resource may repeat. RFC 6749 §3.2: nothing else may.
REPEATABLE = frozenset({"resource"})


class Params:
    def __init__(self, values: Mapping[str, list[str]]) -> None:
        self._values = values

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def one(self, name: str) -> str | None:
        values = self._values.get(name)
        if not values:
            return None
        if len(values) > 1 and name not in REPEATABLE:
            raise InvalidRequestError(f"parameter {name} must not be repeated")
        return values[0]

    def required(self, name: str) -> str:
        value = self.one(name)
        if value is None:
            raise InvalidRequestError(f"missing parameter: {name}")
        return value

    def with_value(self, name: str, value: str) -> Params:
        """These parameters and ``name`` set to ``value`` (taken from elsewhere: a cookie)."""
        return Params({**self._values, name: [value]})

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name, ()))
