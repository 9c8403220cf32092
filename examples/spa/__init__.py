"""A single-page app that keeps its refresh token in the authority's httpOnly cookie."""
