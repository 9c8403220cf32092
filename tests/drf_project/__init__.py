"""A Django + DRF project that protects its API with authority's access tokens."""
