"""``python -m examples.relying_party``: the example app under uvicorn, at the host and port
of ``RP_URL`` (default http://127.0.0.1:8002)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import uvicorn

from examples.relying_party.app import DEFAULT_URL, create_app

if __name__ == "__main__":
    url = urlsplit(os.environ.get("RP_URL", "").strip() or DEFAULT_URL)
    uvicorn.run(
        create_app(), host=url.hostname or "127.0.0.1", port=url.port or 8002, log_level="info"
    )
