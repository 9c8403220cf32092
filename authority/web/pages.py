"""The hosted pages: server-rendered templates (Jinja2, autoescaped), one stylesheet, no
script. The built-in templates live in ``templates/``; AUTHORITY_TEMPLATES_DIR replaces them
file by file (the stylesheet too, as ``authority.css``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

STYLESHEET = "authority.css"


class Pages:
    def __init__(self, override: Path | None = None) -> None:
        loaders: list[Any] = [PackageLoader("authority.web", "templates")]
        if override is not None:
            loaders.insert(0, FileSystemLoader(override))
        self._env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=True,
            undefined=StrictUndefined,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        custom = override / STYLESHEET if override is not None else None
        if custom is not None and custom.is_file():
            self.stylesheet = custom.read_bytes()
        else:
            self.stylesheet = (
                resources.files("authority.web") / "templates" / STYLESHEET
            ).read_bytes()

    def render(self, name: str, stylesheet: str, **context: Any) -> str:
        """The page ``name`` with ``context``; ``stylesheet`` is the URL of the stylesheet."""
        return self._env.get_template(name).render(stylesheet=stylesheet, **context)

    def check(self) -> None:
        """Compile every template now: a broken override fails at start, not on a request."""
        for name in self._env.list_templates(extensions=["html"]):
            self._env.get_template(name)
