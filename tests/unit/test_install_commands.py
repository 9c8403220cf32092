"""Every ``pip install`` the documentation and the Dockerfiles give installs one of this
repository's two distributions, with extras it declares: never PyPI's unrelated ``authority``."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
# Every project of the repository, each by its folder: the server and the verifier.
PROJECTS = {ROOT, ROOT / "packaging" / "authority-verify"}
SOURCES = [
    ROOT / "README.md",
    *sorted((ROOT / "packaging").glob("*/README.md")),
    *sorted((ROOT / "examples").glob("*/README.md")),
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "Dockerfile",
    *sorted((ROOT / "examples").glob("*/Dockerfile")),
]
_PIP_INSTALL = re.compile(r"pip install\s+([^`\n#|&;)]+)")


def declared(project: Path) -> tuple[str, set[str]]:
    """The distribution's name and its extras."""
    with (project / "pyproject.toml").open("rb") as file:
        meta = tomllib.load(file)["project"]
    return canonicalize_name(meta["name"]), set(meta.get("optional-dependencies", {}))


OURS = dict(declared(project) for project in PROJECTS)


def install_targets() -> list[tuple[str, str]]:
    """(file, argument) for every package argument of every ``pip install`` written there."""
    found = []
    for source in SOURCES:
        text = re.sub(r"\\\n\s*", " ", source.read_text())
        for command in _PIP_INSTALL.findall(text):
            for word in shlex.split(command):
                if not word.startswith("-"):
                    found.append((source.relative_to(ROOT).as_posix(), word))
    return found


def test_no_distribution_takes_the_name_pypi_gives_to_an_unrelated_project() -> None:
    assert set(OURS) == {"authority-server", "authority-verify"}


def test_the_readme_installs_the_verifier_for_django_with_its_drf_extra() -> None:
    assert ("README.md", "authority-verify[fastapi]") in install_targets()
    assert "`authority-verify[drf]`" in (ROOT / "README.md").read_text()
    assert "drf" in OURS["authority-verify"]


@pytest.mark.parametrize(("source", "target"), install_targets())
def test_every_install_command_names_our_distribution_and_extras_it_declares(
    source: str, target: str
) -> None:
    if target.startswith((".", "/")):  # a project folder of the checkout, run from its root
        folder, _, extras = target.partition("[")
        project = (ROOT / folder).resolve()
        assert project in PROJECTS, f"{source}: {target} is no project of this repository"
        name, offered = declared(project)
        wanted = set(filter(None, extras.rstrip("]").split(",")))
    else:
        requirement = Requirement(target)
        name, wanted = canonicalize_name(requirement.name), requirement.extras
        if not name.startswith("authority"):
            return  # a third-party package (uvicorn for the example API)
        assert name in OURS, f"{source}: {target} is not one of {sorted(OURS)}"
        offered = OURS[name]
    assert wanted <= offered, f"{source}: {name} has no extra {sorted(wanted - offered)}"
