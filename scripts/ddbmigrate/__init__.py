"""The ``ddb-migrate`` operator CLI."""

import sys
from pathlib import Path

# An installed wheel carries the Lambdas' shared library (``migration_core``) in ``_vendor`` rather than at the top
# of site-packages. It is imported under its own name, as in the Lambda zips, so that the CLI and the Lambdas share
# one module and its error classes. A checkout has no ``_vendor``: the venv imports ``lambda_src`` directly.
_VENDOR = Path(__file__).with_name("_vendor")
if _VENDOR.is_dir() and str(_VENDOR) not in sys.path:
    sys.path.insert(0, str(_VENDOR))
