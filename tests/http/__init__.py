"""HTTP-level tests: the wire contract of every endpoint, through the ASGI app."""

import pytest

# Failing asserts in the shared helpers then show the values they compared.
pytest.register_assert_rewrite("tests.http.helpers")
