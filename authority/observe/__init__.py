"""What an operator sees of a running authority: metrics and structured logs. It listens to
``authority.events`` and knows nothing of HTTP or SQL."""
