"""The JSON log's line (authority.observe.logs) and the server's logging configuration in
either format (authority.web.server.logging_config)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import anyio
import anyio.to_thread
from uvicorn.config import LOGGING_CONFIG

from authority.events import RequestContext, current_request
from authority.observe.logs import JsonFormatter, RequestIdFilter
from authority.settings import Settings
from authority.web.server import logging_config

MAY_1_2024_NOON = 1714564800.123


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("authority", logging.WARNING, __file__, 1, message, args, None)
    made.created = MAY_1_2024_NOON
    made.__dict__.update(extra)
    return made


def line(made: logging.LogRecord) -> dict[str, Any]:
    RequestIdFilter().filter(made)
    text = JsonFormatter().format(made)
    assert "\n" not in text
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def test_a_record_is_one_json_line_with_its_time_in_utc() -> None:
    assert line(record("two\nlines: %s", "here")) == {
        "time": "2024-05-01T12:00:00.123Z",
        "level": "WARNING",
        "logger": "authority",
        "message": "two\nlines: here",
    }


def test_a_records_other_attributes_are_never_written() -> None:
    # A library's extra (uvicorn's color_message), or anything a caller hangs on a record.
    made = record("login", color_message="\x1b[1mlogin\x1b[0m", password="hunter2")
    assert set(line(made)) == {"time", "level", "logger", "message"}


def test_a_line_written_for_a_request_carries_its_id_also_from_a_worker_thread() -> None:
    async def in_request() -> dict[str, Any]:
        current_request.set(RequestContext("req-7", "192.0.2.1", "probe/1"))
        # As an endpoint's blocking work runs: in anyio's threads, with the context copied.
        return await anyio.to_thread.run_sync(lambda: line(record("in a thread")))

    assert anyio.run(in_request)["request_id"] == "req-7"
    assert "request_id" not in line(record("outside a request"))


def test_a_traceback_is_the_lines_exception_and_shows_no_local_value() -> None:
    def sign_in(password: str) -> None:
        raise LookupError("the directory is down")

    password = "-".join(("hunter2", "local"))  # a value the source lines do not show
    try:
        sign_in(password)
    except LookupError:
        made = record("sign-in failed")
        made.exc_info = sys.exc_info()
    written = line(made)
    assert written["exception"].startswith("Traceback (most recent call last):")
    assert written["exception"].endswith("LookupError: the directory is down")
    assert password not in json.dumps(written)


def test_the_access_line_carries_its_fields_even_when_unknown() -> None:
    made = record("GET - 404", event="http.request", route=None, method="GET", status=404)
    made.name = "authority.access"
    assert line(made) | {"time": "-"} == {
        "time": "-",
        "level": "WARNING",
        "logger": "authority.access",
        "message": "GET - 404",
        "event": "http.request",
        "route": None,
        "method": "GET",
        "status": 404,
        "latency_ms": None,
        "client_id": None,
    }


def test_in_text_uvicorn_logs_as_it_always_did_and_the_apps_access_line_is_off() -> None:
    config = logging_config(Settings(), access_log=True)

    for name in ("default", "access"):
        assert config["formatters"][name] == LOGGING_CONFIG["formatters"][name]
    assert config["loggers"]["uvicorn.access"]["filters"] == ["query_secrets"]
    assert config["loggers"]["authority.access"]["level"] == "WARNING"  # below its INFO
    assert config["formatters"]["authority"] == {
        "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"
    }


def test_in_json_every_logger_writes_json_and_one_access_line_is_on() -> None:
    settings = Settings(log_format="json")
    config = logging_config(settings, access_log=True)

    assert config["formatters"] == {"authority": {"()": "authority.observe.logs.JsonFormatter"}}
    assert config["loggers"]["uvicorn.access"] == {"handlers": [], "propagate": False}
    assert config["loggers"]["authority.access"]["level"] == "INFO"
    assert {h["formatter"] for h in config["handlers"].values()} == {"authority"}
    assert logging_config(settings, access_log=False)["loggers"]["authority.access"] == {
        "handlers": ["stdout"],
        "level": "WARNING",
        "propagate": False,
    }
