#!/usr/bin/env bash
# Static analysis of the Terraform code with checkov (settings in .checkov.yaml), from its own virtualenv
# .venv-checkov: checkov pins boto3, pydantic and other libraries at versions that conflict with
# requirements/dev.lock, so it cannot share .venv. The virtualenv is (re)built when the pinned version changes.
# Usage: devtools/run_checkov.sh [more checkov arguments]
set -euo pipefail

CHECKOV_VERSION="3.3.30"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.venv-checkov"
STAMP="${VENV}/.installed-checkov-${CHECKOV_VERSION}"

if [[ ! -f "${STAMP}" ]]; then
  echo "Installing checkov ${CHECKOV_VERSION} into ${VENV} (once per version)" >&2
  rm -rf "${VENV}"
  "${PYTHON}" -m venv "${VENV}"
  "${VENV}/bin/pip" install --quiet --disable-pip-version-check "checkov==${CHECKOV_VERSION}"
  touch "${STAMP}"
fi

cd "${ROOT}"
exec "${VENV}/bin/checkov" --config-file .checkov.yaml "$@"
