"""``python -m ddbmigrate``: same as the ``ddb-migrate`` command."""

from ddbmigrate.cli import main

main()
