"""docker-compose.yml and the Dockerfiles, checked without Docker: the variables they set are
settings the code reads, the commands parse, the services wait for healthy dependencies."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shlex
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from psycopg import pq
from sqlalchemy import make_url

from authority.cli import build_parser
from authority.settings import Settings
from authority.storage.engine import make_engine
from tests.e2e.servers import AUTHORITY

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
API_DOCKERFILE = ROOT / "examples" / "resource_api" / "Dockerfile"
README = ROOT / "README.md"
_INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?-)([^}]*))?\}")


class ReadRecorder(Mapping[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.read.add(name)
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _interpolate(value: object, shell: Mapping[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME-default}`` and ``${NAME:-default}`` (the default also
    when NAME is empty) from the shell's variables; a value taken from them is used as is."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, default = match.groups()
        if name in shell and (shell[name] or operator != ":-"):
            return shell[name]
        return default or ""

    return _INTERPOLATION.sub(substitute, str(value))


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def _environment(service: dict[str, Any], shell: Mapping[str, str] | None = None) -> dict[str, str]:
    """The service's environment as compose passes it, with ``shell``'s variables set (by
    default none)."""
    env = service.get("environment", {})
    if isinstance(env, list):  # the "NAME=value" form
        env = dict(item.split("=", 1) for item in env)
    return {name: _interpolate(value, shell or {}) for name, value in env.items()}


def _healthcheck_command(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test[1:]) if isinstance(test, list) else str(test)


def _instructions(path: Path) -> list[tuple[str, str]]:
    """The final stage's instructions, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    last_from = max(i for i, (word, _) in enumerate(found) if word == "FROM")
    return found[last_from:]


def _one(instructions: list[tuple[str, str]], word: str) -> str:
    values = [rest for name, rest in instructions if name == word]
    assert values, f"no {word}"
    return values[-1]  # the last one wins, as in Docker


def _authority_settings_read() -> set[str]:
    recorder = ReadRecorder({})
    Settings.from_env(recorder)
    names = {name for name in recorder.read if name.startswith("AUTHORITY_")}
    assert "AUTHORITY_ISSUER" in names  # the recorder saw the lookups
    return names


def _parses(argv: list[str]) -> None:
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on an unknown flag or a bad value
        pytest.fail(f"authority {' '.join(argv)} does not parse (exit {exc.code})")


def test_every_authority_variable_set_for_deployment_is_a_setting_with_a_valid_value(
    services: dict[str, Any],
) -> None:
    known = _authority_settings_read()
    env = _environment(services["authority"])
    image_env = [rest for word, rest in _instructions(DOCKERFILE) if word == "ENV"]
    for pair in (p for line in image_env for p in shlex.split(line)):
        name, _, value = pair.partition("=")
        env.setdefault(name, value)
    ours = {name for name in env if name.startswith("AUTHORITY_")}
    assert ours - known == set()
    Settings.from_env(env)  # the values as compose passes them with nothing set: no ConfigError


def test_every_resource_variable_set_for_the_api_is_one_it_reads(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _environment(services["resource-api"])
    assert {"RESOURCE_ISSUER", "RESOURCE_AUDIENCE"} <= set(env)
    assert env["RESOURCE_ISSUER"] == _environment(services["authority"])["AUTHORITY_ISSUER"]
    monkeypatch.setenv("RESOURCE_ISSUER", env["RESOURCE_ISSUER"])
    monkeypatch.setenv("RESOURCE_AUDIENCE", env["RESOURCE_AUDIENCE"])
    module = importlib.import_module("examples.resource_api.app")
    recorder = ReadRecorder(env)
    module.create_app(recorder)  # builds the app; contacts nobody until a token arrives
    assert set(env) - recorder.read == set()


def test_the_stack_is_postgres_authority_and_resource_api_each_with_a_healthcheck(
    services: dict[str, Any],
) -> None:
    assert set(services) == {"postgres", "authority", "resource-api"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    assert "pg_isready" in _healthcheck_command(services["postgres"])
    assert "/readyz" in _healthcheck_command(services["authority"])
    assert "/healthz" in _healthcheck_command(services["resource-api"])


def test_each_service_starts_once_what_it_depends_on_is_healthy(services: dict[str, Any]) -> None:
    assert set(services["authority"]["depends_on"]) == {"postgres"}
    assert set(services["resource-api"]["depends_on"]) == {"authority"}
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, (name, dependency)
            assert dependency in services


def test_the_authority_command_parses_and_its_healthcheck_asks_its_port(
    services: dict[str, Any],
) -> None:
    command = services["authority"]["command"]
    assert command[0] == "serve"
    _parses(command)
    port = build_parser().parse_args(command).port
    assert f"127.0.0.1:{port}/readyz" in _healthcheck_command(services["authority"])
    assert any(str(mapping).endswith(f":{port}") for mapping in services["authority"]["ports"])
    done = subprocess.run(
        [AUTHORITY, "serve", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "--workers" in done.stdout


def test_the_database_url_names_the_postgres_service_its_user_and_database(
    services: dict[str, Any],
) -> None:
    url = urlsplit(_environment(services["authority"])["AUTHORITY_DATABASE_URL"])
    postgres = _environment(services["postgres"])
    assert url.scheme == "postgresql+psycopg"
    assert (url.hostname, url.port) == ("postgres", 5432)
    assert url.username == postgres["POSTGRES_USER"]
    assert url.path == f"/{postgres['POSTGRES_DB']}"


# Each character a URL splits on or decodes: pasted into the URL, any of them broke it.
AWKWARD_PASSWORD = "p@ss:w/rd%41#?x y'\"\\$"


def test_a_database_password_with_any_character_reaches_libpq_unchanged(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    shell = {"POSTGRES_PASSWORD": AWKWARD_PASSWORD}
    authority = _environment(services["authority"], shell)
    assert _environment(services["postgres"], shell)["POSTGRES_PASSWORD"] == AWKWARD_PASSWORD
    Settings.from_env(authority)
    # The URL holds no password, so nothing in it needs escaping; the engine hands psycopg
    # none either, which leaves libpq to take it from PGPASSWORD.
    assert make_url(authority["AUTHORITY_DATABASE_URL"]).password is None
    engine = make_engine(authority["AUTHORITY_DATABASE_URL"])
    try:
        _, connect = engine.dialect.create_connect_args(engine.url)
    finally:
        engine.dispose()
    assert (connect["host"], connect["user"]) == ("postgres", "authority")
    assert "password" not in connect
    monkeypatch.setenv("PGPASSWORD", authority["PGPASSWORD"])
    defaults = {option.keyword: option.val for option in pq.Conninfo.get_defaults()}
    assert defaults[b"password"] == AWKWARD_PASSWORD.encode()


OPERATOR_CHOICES = {
    "AUTHORITY_ISSUER": "https://auth.example.com",
    "AUTHORITY_PUBLIC_URL": "https://login.example.com",
    "AUTHORITY_EMAIL_URL": "smtp://mailer:secret@smtp.example.com:587",
    "AUTHORITY_EMAIL_FROM": "auth@example.com",
    "AUTHORITY_REGISTRATION": "open",
}


def test_the_public_url_mail_and_registration_are_set_from_the_shell(
    services: dict[str, Any],
) -> None:
    env = _environment(services["authority"], OPERATOR_CHOICES)
    assert {name: env[name] for name in OPERATOR_CHOICES} == OPERATOR_CHOICES
    settings = Settings.from_env(env)
    assert (settings.issuer, settings.public_url) == (
        "https://auth.example.com",
        "https://login.example.com",
    )
    assert (settings.email_url, settings.registration) == (
        "smtp://mailer:secret@smtp.example.com:587",
        "open",
    )


def test_every_variable_the_compose_file_reads_is_documented_in_readme(
    services: dict[str, Any],
) -> None:
    section = README.read_text().partition("## Production: docker compose up")[2]
    section = section.partition("\n## ")[0]
    read = {
        match.group(1)
        for service in services.values()
        for value in service.get("environment", {}).values()
        for match in _INTERPOLATION.finditer(str(value))
    }
    assert {"AUTHORITY_ISSUER", "POSTGRES_PASSWORD", "AUTHORITY_REGISTRATION"} <= read
    assert {name for name in read if not re.search(rf"`{name}\b", section)} == set()


def test_every_service_comes_back_after_a_crash_or_reboot_unless_stopped(
    services: dict[str, Any],
) -> None:
    assert {name: s.get("restart") for name, s in services.items()} == dict.fromkeys(
        services, "unless-stopped"
    )


def test_the_resource_api_is_built_from_its_dockerfile(services: dict[str, Any]) -> None:
    build = services["resource-api"]["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).resolve() == API_DOCKERFILE


@pytest.mark.parametrize(
    ("dockerfile", "probe"),
    [(DOCKERFILE, "/readyz"), (API_DOCKERFILE, "/healthz")],
    ids=["authority", "resource-api"],
)
def test_the_image_runs_as_a_non_root_user_and_its_healthcheck_probes_the_server(
    dockerfile: Path, probe: str
) -> None:
    final = _instructions(dockerfile)
    user = _one(final, "USER").split(":")[0]
    assert user not in ("root", "0", "")
    healthcheck = _one(final, "HEALTHCHECK")
    assert " CMD " in f" {healthcheck} " and probe in healthcheck
    command = json.loads(_one(final, "CMD"))
    entrypoint = json.loads(_one(final, "ENTRYPOINT")) if "ENTRYPOINT" in dict(final) else []
    port = command[command.index("--port") + 1]
    assert f"127.0.0.1:{port}{probe}" in healthcheck
    assert command[command.index("--host") + 1] == "0.0.0.0"
    if entrypoint == ["authority"]:
        _parses(command)
    else:
        assert command[:3] == ["python", "-m", "uvicorn"]
        module, _, attribute = command[3].partition(":")
        assert attribute == "app"
        assert importlib.util.find_spec(module) is not None
