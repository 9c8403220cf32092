"""What a CLI run produced, and the shape every failure must have."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        """The one JSON object printed on stdout (and nothing else), less the "database"
        member naming the (masked) database URL, which every such object must have."""
        value = self.document()
        assert isinstance(value.pop("database", None), str), self.out
        return value

    def document(self) -> dict[str, Any]:
        """The one JSON object printed on stdout, whole."""
        assert self.code == 0, self.err
        lines = self.out.splitlines()
        assert len(lines) == 1, self.out
        value = json.loads(lines[0])
        assert isinstance(value, dict)
        return value


Run = Callable[..., Result]


def assert_failed(result: Result, *words: str, code: int = 1) -> None:
    """A failure: the exit code, nothing on stdout, one line on stderr holding ``words``."""
    assert result.code == code
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("authority: ")
    for word in words:
        assert word in lines[0]
