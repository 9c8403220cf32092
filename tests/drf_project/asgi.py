"""The project as an ASGI application, for a real server: ``uvicorn tests.drf_project.asgi:app``."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.drf_project.settings")
app = get_asgi_application()
