"""AUTHORITY_METRICS and its access: refused at start, in one line, unless a scraper can be
told apart from anyone (a token) or kept apart (a port of its own)."""

from __future__ import annotations

import pytest

from authority.settings import ConfigError, Settings

TOKEN = "0123456789abcdef0123"


def _error(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_metrics_are_off_by_default() -> None:
    settings = Settings.from_env({})
    assert settings.metrics is False
    assert (settings.metrics_token, settings.metrics_port) == (None, None)
    assert settings.metrics_host == "127.0.0.1"


def test_metrics_on_need_a_token_or_a_port() -> None:
    message = _error({"AUTHORITY_METRICS": "on"})
    assert message.startswith("AUTHORITY_METRICS=on needs AUTHORITY_METRICS_TOKEN")
    assert "AUTHORITY_METRICS_PORT" in message


@pytest.mark.parametrize(
    "env",
    [
        {"AUTHORITY_METRICS_TOKEN": TOKEN},
        {"AUTHORITY_METRICS_PORT": "9464"},
        {"AUTHORITY_METRICS_PORT": "9464", "AUTHORITY_METRICS_HOST": "0.0.0.0"},
        {"AUTHORITY_METRICS_TOKEN": TOKEN, "AUTHORITY_METRICS_PORT": "9464"},
    ],
)
def test_metrics_on_start_with_a_token_or_a_port(env: dict[str, str]) -> None:
    settings = Settings.from_env({"AUTHORITY_METRICS": "on", **env})
    assert settings.metrics is True
    assert settings.metrics_token == env.get("AUTHORITY_METRICS_TOKEN")
    assert settings.metrics_port == (9464 if "AUTHORITY_METRICS_PORT" in env else None)


@pytest.mark.parametrize(
    "token",
    ["short-token", "a token with spaces in it", "tøken-" + "x" * 20, "x" * 20 + "=x", '"' * 20],
)
def test_a_token_a_scraper_could_not_send_as_bearer_is_refused_unechoed(token: str) -> None:
    message = _error({"AUTHORITY_METRICS": "on", "AUTHORITY_METRICS_TOKEN": token})
    assert message.startswith("AUTHORITY_METRICS_TOKEN must be 16 or more")
    assert token not in message


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_a_bad_metrics_port_is_refused(port: str) -> None:
    message = _error({"AUTHORITY_METRICS": "on", "AUTHORITY_METRICS_PORT": port})
    assert message.startswith("AUTHORITY_METRICS_PORT=")


def test_the_token_is_masked_in_repr() -> None:
    settings = Settings(metrics=True, metrics_token=TOKEN)
    assert TOKEN not in repr(settings)
