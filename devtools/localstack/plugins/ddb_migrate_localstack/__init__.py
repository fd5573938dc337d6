"""LocalStack 4.14.0 plugins for the ddb-migrate LocalStack test target (see devtools/localstack/README.md)."""
