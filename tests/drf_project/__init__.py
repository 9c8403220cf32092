"""A Django + DRF project that protects its API with authority's access tokens."""

from __future__ import annotations


def configure() -> None:
    """Configure Django once per process, in-process: no DJANGO_SETTINGS_MODULE is left in
    the environment of the suite's other tests or of the processes they start."""
    import django
    from django.conf import settings

    from tests.drf_project import settings as project

    if not settings.configured:
        names = {name: getattr(project, name) for name in dir(project) if name.isupper()}
        settings.configure(**names)
        django.setup()
