#!/usr/bin/env bash
# Creates the virtualenv VENV with PYTHON unless it exists with a working pip. A setup interrupted while the
# virtualenv was being created (or while pip upgraded itself) leaves one without pip, on which every later
# install fails; such a virtualenv is removed and created afresh.
# Usage: devtools/ensure_venv.sh PYTHON VENV
set -euo pipefail

PYTHON="$1"
VENV="$2"

if "${VENV}/bin/python" -m pip --version >/dev/null 2>&1; then
  exit 0
fi
if [[ -e "${VENV}" ]]; then
  echo "${VENV} has no working pip (an interrupted setup?): creating it afresh" >&2
  rm -rf "${VENV}"
fi
"${PYTHON}" -m venv "${VENV}"
