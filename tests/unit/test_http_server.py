"""The HTTP server's settings, its access-log redaction, and its limits' way into workers."""

from __future__ import annotations

import argparse
import logging
import os
import pickle

import pytest

from authority.cli import commands
from authority.settings import ConfigError, Settings
from authority.web import server as http_server
from authority.web.server import (
    AppFactory,
    HttpLimits,
    LimitedHttpToolsProtocol,
    RedactQuerySecrets,
    ServerConfig,
    http_limits,
    redact_query,
)

# -- settings -----------------------------------------------------------------------------


def test_the_http_limits_default_to_16_kib_10_s_30_s_5_s_and_1000_connections() -> None:
    settings = Settings.from_env({})
    assert (settings.max_header_bytes, settings.header_timeout, settings.body_timeout) == (
        16384,
        10,
        30,
    )
    assert (settings.keepalive_timeout, settings.max_connections) == (5, 1000)


def test_reads_the_http_limits() -> None:
    settings = Settings.from_env(
        {
            "AUTHORITY_MAX_HEADER_BYTES": "32768",
            "AUTHORITY_HEADER_TIMEOUT": "5s",
            "AUTHORITY_BODY_TIMEOUT": "1m",
            "AUTHORITY_KEEPALIVE_TIMEOUT": "75",
            "AUTHORITY_MAX_CONNECTIONS": "200",
        }
    )
    assert (settings.max_header_bytes, settings.header_timeout, settings.body_timeout) == (
        32768,
        5,
        60,
    )
    assert (settings.keepalive_timeout, settings.max_connections) == (75, 200)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("AUTHORITY_MAX_HEADER_BYTES", "16k"),
        ("AUTHORITY_MAX_HEADER_BYTES", "1023"),
        ("AUTHORITY_MAX_HEADER_BYTES", "2000000"),
        ("AUTHORITY_HEADER_TIMEOUT", "0"),
        ("AUTHORITY_HEADER_TIMEOUT", "6m"),
        ("AUTHORITY_BODY_TIMEOUT", "1.5"),
        ("AUTHORITY_BODY_TIMEOUT", "11m"),
        ("AUTHORITY_KEEPALIVE_TIMEOUT", "0"),
        ("AUTHORITY_KEEPALIVE_TIMEOUT", "2h"),
        ("AUTHORITY_MAX_CONNECTIONS", "0"),
        ("AUTHORITY_MAX_CONNECTIONS", "many"),
    ],
)
def test_refuses_a_bad_http_limit_with_one_line_naming_it(var: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({var: value})
    assert var in str(caught.value)
    assert "\n" not in str(caught.value)


def test_max_connections_is_lowered_to_fit_in_the_open_files(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(max_connections=1000)
    assert http_limits(settings, 100000).max_connections == 1000
    with caplog.at_level(logging.WARNING, logger="authority"):
        assert http_limits(settings, 256).max_connections == 256 - http_server.FILES_RESERVED
    assert "AUTHORITY_MAX_CONNECTIONS=1000 does not fit in 256 open files; using 156" in (
        caplog.text
    )


def test_the_limits_and_the_settings_travel_with_the_configuration_into_workers() -> None:
    limits = HttpLimits(max_header_bytes=4096, header_timeout=3, body_timeout=4, max_connections=9)
    settings = Settings.from_env({}, issuer="https://id.example.com")
    config = ServerConfig(
        AppFactory(settings), limits=limits, http=LimitedHttpToolsProtocol, log_config=None
    )
    # uvicorn pickles its configuration into every process of --workers N.
    copy = pickle.loads(pickle.dumps(config))  # noqa: S301 (bytes made just above)
    assert copy.limits == limits
    assert copy.http is LimitedHttpToolsProtocol
    assert copy.app == AppFactory(settings)


def test_serve_hands_the_issuer_it_picks_to_the_server_not_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[Settings] = []
    monkeypatch.delenv("AUTHORITY_ISSUER", raising=False)
    monkeypatch.setattr(commands, "prepare", lambda settings: [])
    monkeypatch.setattr(http_server, "run", lambda settings, *_: served.append(settings))
    args = argparse.Namespace(
        host="127.0.0.1", port=8123, workers=2, access_log=False, json=False, verbose=False
    )
    assert commands.cmd_serve(args) == 0
    assert [s.issuer for s in served] == ["http://localhost:8123"]
    assert "AUTHORITY_ISSUER" not in os.environ


# -- the access log -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/healthz", "/healthz"),
        ("/accounts/verify-email?token=abc", "/accounts/verify-email?token=[redacted]"),
        ("/p?lang=en&token=abc&x=1", "/p?lang=en&token=[redacted]&x=1"),
        ("/p?to%6Ben=abc", "/p?to%6Ben=[redacted]"),  # the name the app decodes
        ("/p?TOKEN=abc&refresh_token=def", "/p?TOKEN=[redacted]&refresh_token=[redacted]"),
        (
            "/p?code=1&state=2&client_secret=3",
            "/p?code=[redacted]&state=[redacted]&client_secret=[redacted]",
        ),
        ("/p?password=hunter2&api_key=k", "/p?password=[redacted]&api_key=[redacted]"),
        ("/p?token=&token", "/p?token=&token"),  # no value, nothing to hide
        ("/p?token=a=b", "/p?token=[redacted]"),
    ],
)
def test_query_values_named_like_secrets_are_redacted(target: str, logged: str) -> None:
    assert redact_query(target) == logged


def test_the_access_log_record_is_redacted_before_any_handler_formats_it() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/accounts/password/reset?token=live", "1.1", 200),
        None,
    )
    assert RedactQuerySecrets().filter(record)
    assert record.getMessage() == (
        '127.0.0.1:5000 - "GET /accounts/password/reset?token=[redacted] HTTP/1.1" 200'
    )
