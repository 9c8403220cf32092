"""authority: a small, fast OAuth 2 token authority."""

__version__ = "0.1.0"
