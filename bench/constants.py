"""Paths, addresses, credentials and request bodies shared by the benchmark's modules."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA_REQUEST = HERE / "wrk" / "request.lua"
LUA_REFRESH = HERE / "wrk" / "refresh_pool.lua"
RESULTS = HERE / "results"
HOST = "127.0.0.1"
AUDIENCE = "https://api.example"
SCOPE = "read write"
USERNAME = "bench-user"
PASSWORD = "bench correct horse battery staple"
PG_BASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WRK_TIMEOUT = "30s"  # password logins queue for a second or more at 32 connections
REPORT_MARKER = "<!-- bench/run.py keeps everything below this line when it rewrites the file -->"
ALGS = ("ES256", "RS256", "EdDSA")

CC_BODY = "grant_type=client_credentials&scope=read%20write&resource=https%3A%2F%2Fapi.example"
PW_BODY = (
    f"grant_type=password&username={USERNAME}&password={PASSWORD.replace(' ', '%20')}"
    "&scope=read%20write"
)
