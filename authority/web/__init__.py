"""The HTTP edge, the only package that knows Starlette.

The app, request parsing, responses, the hosted pages and one module per endpoint.
"""
