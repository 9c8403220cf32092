"""The OAuth 2 protocol core: no HTTP, no SQL.

Client authentication, one module per grant, scopes, audiences (RFC 8707), token minting,
presented-token checks, introspection (RFC 7662) and revocation (RFC 7009).
"""
