"""Build hook: the wheel and the sdist take their code from the repository's authority/verify.

In the repository the sources are two levels up, where a static ``force-include`` could find
them; in an unpacked sdist they are already inside the project (``authority/verify``), and a
static ``force-include`` of the repository path would fail there. So the path is chosen here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "authority/verify"


class VerifierSources(BuildHookInterface[BuilderConfig]):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if Path(self.root, PACKAGE).is_dir():
            return  # an unpacked sdist: the sources are part of the project
        repository = Path(self.root).parent.parent / PACKAGE
        if not (repository / "__init__.py").is_file():
            raise FileNotFoundError(f"no {PACKAGE} at {repository}: build from the repository")
        build_data["force_include"][str(repository)] = PACKAGE
