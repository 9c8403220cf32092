"""Credentials: password hashing and the hashes imported from Django, secret digests,
the password policy and login throttling."""
