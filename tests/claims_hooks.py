"""A real claims hook (AUTHORITY_CLAIMS_HOOK=tests.claims_hooks:claims), as an operator writes
one; ``mode`` picks how it behaves, ``calls`` records what it was called with and where."""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import dataclass
from typing import Any

from authority.oauth.claims_hook import ClaimsRequest

GROUPS = {"alice": ["staff", "billing"]}
mode = "good"


@dataclass(frozen=True)
class Call:
    request: ClaimsRequest
    on_event_loop: bool


calls: list[Call] = []


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def claims(request: ClaimsRequest) -> Any:
    calls.append(Call(request, _on_event_loop()))
    user = request.user
    if mode == "good":
        return {
            "preferred_username": user.username,
            "email": user.email,
            "groups": GROUPS.get(user.username, []),
        }
    if mode == "nothing":
        return None
    if mode == "sets_sub":
        return {"groups": [], "sub": "admin", "scope": "admin"}
    if mode == "not_json":
        return {"since": datetime.date(2024, 1, 1)}
    if mode == "too_big":
        return {"blob": "x" * 5000}
    if mode == "not_a_dict":
        return ["staff"]
    if mode == "raises":
        raise LookupError("the directory is down")
    raise AssertionError(mode)


not_callable = 42
