"""HTTP endpoints, one module each; ``routes`` is the route table discovery is derived from."""
