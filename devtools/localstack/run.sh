#!/usr/bin/env bash
# Starts LocalStack 4.14.0 on 127.0.0.1 with the project's plugins; see run.py for the options.
#   devtools/localstack/run.sh                  foreground until Ctrl-C
#   devtools/localstack/run.sh -- CMD [ARG...]  run CMD against it, then stop it
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "${PYTHON:-python3}" "${HERE}/run.py" "$@"
