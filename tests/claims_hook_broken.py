"""A claims hook module that cannot be imported (its configuration is missing)."""

raise RuntimeError("HOOK_LDAP_URL is not set\n(a second line the start must not print)")
