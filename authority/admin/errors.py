"""The one error of provisioning: the request is invalid, and the message says why."""

from __future__ import annotations


class AdminError(ValueError):
    """A provisioning request is invalid; the message says what to change."""
