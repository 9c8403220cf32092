"""Settings of the test project; the in-process tests load them with ``settings.configure``,
the end-to-end test through ``asgi.py`` with DRF_ISSUER/DRF_AUDIENCE naming a real authority."""

import os

ISSUER = os.environ.get("DRF_ISSUER", "https://auth.example")
AUDIENCE = os.environ.get("DRF_AUDIENCE", "https://api.example")

SECRET_KEY = "drf-project-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
ROOT_URLCONF = "tests.drf_project.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]
MIDDLEWARE: list[str] = []
# Tokens are checked offline; the database holds only the local users of USER_MAPPING's tests.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
LOGGING_CONFIG = None  # leave the test run's logging as it is

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["authority.verify.drf.AuthorityAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["authority.verify.drf.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

AUTHORITY = {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "JWKS_URI": f"{ISSUER}/jwks.json"}
