"""Operator use-cases behind the CLI: first start, provisioning and the Django user import."""
