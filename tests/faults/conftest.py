"""Fault tests talk to PostgreSQL through a FaultProxy: one per test, on a schema of its own."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.faults.proxy import FaultProxy


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[FaultProxy]:
    parts = urlsplit(postgres_url)
    with FaultProxy((parts.hostname or "127.0.0.1", parts.port or 5432)) as proxy:
        yield proxy


@pytest.fixture
def proxied_url(postgres_url: str, proxy: FaultProxy) -> str:
    """The test schema's URL, through the proxy."""
    parts = urlsplit(postgres_url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"{proxy.host}:{proxy.port}"
    netloc_via = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
    return urlunsplit(parts._replace(netloc=netloc_via))
