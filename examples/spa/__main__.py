"""``python -m examples.spa``: the single-page app under uvicorn, on 127.0.0.1 and
``SPA_PORT`` (default 5173); open it as http://localhost:5173, the origin registered with
``--allowed-origin``."""

from __future__ import annotations

import os

import uvicorn

from examples.spa.app import create_app

if __name__ == "__main__":
    port = int(os.environ.get("SPA_PORT", "").strip() or "5173")
    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="info")
