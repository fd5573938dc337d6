"""Operator command line: ``ddb-migrate``."""

import click


@click.group()
def main() -> None:
    """Zero-downtime DynamoDB migrations."""
