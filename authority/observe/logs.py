"""The log: every record on stderr, in AUTHORITY_LOG_FORMAT, at AUTHORITY_LOG_LEVEL.

``text`` is one human-readable line per record. ``json`` is one JSON object per line: time
(ISO 8601, UTC), level, logger, message, the request id of the request the line was written
for, and on the access line (logger ``authority.access``, on stdout) route, method, status,
latency_ms and client_id. A traceback is the ``exception`` member of its record's line: the
frames and the exception, never a frame's local values.

The JSON is written by a small formatter rather than a library's: the fields are a fixed
list (a record's other attributes, such as a library's ``extra``, are never written, so
nothing reaches the log by accident), and json.dumps escapes every line break.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from authority.events import current_request

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS = "authority.access"
# What the access line carries besides the fields of every line (set as ``extra``).
ACCESS_FIELDS = ("event", "route", "method", "status", "latency_ms", "client_id")
# Libraries whose own debug output is not the authority's log: SQLAlchemy echoes every
# statement with its parameters (password hashes, token hashes) once its logger is at INFO.
QUIET = ("sqlalchemy", "alembic")


class RequestIdFilter(logging.Filter):
    """Gives a record the id of the request it was written for (``request_id``, None outside
    one). The id is a context variable: it reaches the threads a request's work runs in."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            context = current_request.get()
            record.request_id = None if context is None else context.request_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": utc_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        if record.name == ACCESS:
            for name in ACCESS_FIELDS:
                line[name] = getattr(record, name, None)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def utc_time(created: float) -> str:
    """``2024-05-01T12:00:00.123Z``."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def logging_config(log_format: str, level: str, access_lines: bool = False) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of a process: the root logger, so every library's
    records too, on stderr; the access line (``authority.access``) on stdout when
    ``access_lines``, else off. The server adds its own loggers to it."""
    json_lines = {"()": f"{__name__}.JsonFormatter"}
    formatter = json_lines if log_format == "json" else {"format": TEXT}
    quiet = {name: {"level": "WARNING"} for name in QUIET}

    def stream(name: str) -> dict[str, Any]:
        return {
            "class": "logging.StreamHandler",
            "stream": f"ext://sys.{name}",
            "formatter": "authority",
            "filters": ["request_id"],
        }

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"authority": formatter},
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "handlers": {"stderr": stream("stderr"), "stdout": stream("stdout")},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            **quiet,
            ACCESS: {
                "handlers": ["stdout"],
                "level": level if access_lines else "WARNING",
                "propagate": False,
            },
        },
    }


def configure(log_format: str, level: str) -> None:
    """The log of a command (``authority serve`` hands ``logging_config`` to uvicorn, which
    applies it in every worker). As ``logging.basicConfig``: nothing is changed when the root
    logger has a handler already."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT))
    handler.addFilter(RequestIdFilter())
    logging.basicConfig(level=level, handlers=[handler])
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    capture_warnings(log_format)


def capture_warnings(log_format: str) -> None:
    """With ``json``, Python's warnings are log records too, so that every line is JSON."""
    logging.captureWarnings(log_format == "json")
