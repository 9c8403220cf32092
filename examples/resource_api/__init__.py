"""A resource server that trusts the authority's access tokens."""
