#!/usr/bin/env bash
# Creates the virtualenvs of the LocalStack target (issue #13) and installs into them:
#   .venv-localstack         Python 3.13: localstack-core[runtime]==4.14.0 with the v4.14.0 runtime pins, and the
#                            project's plugins (devtools/localstack/plugins).
#   .venv-localstack-lambda  Python 3.12: the pinned boto3 that stands in for the Lambda runtime's own.
# Idempotent: LocalStack is reinstalled only when the pins change; the plugins are reinstalled every time.
# Environment: PYTHON313, PYTHON312 (interpreters), LOCALSTACK_CONSTRAINTS (the pins file).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
PYTHON313="${PYTHON313:-${HOME}/.pyenv/versions/3.13.0/bin/python}"
PYTHON312="${PYTHON312:-${HOME}/.pyenv/versions/3.12.1/bin/python}"
# The pins of localstack-core's requirements-runtime.txt at tag v4.14.0: today's releases of its unpinned
# dependencies break it (cbor2 6, pyopenssl 26).
CONSTRAINTS="${LOCALSTACK_CONSTRAINTS:-${HERE}/constraints-4.14.0.txt}"
VENV="${ROOT}/.venv-localstack"
LAMBDA_VENV="${ROOT}/.venv-localstack-lambda"
PIP_VERSION="25.2"

for f in "${PYTHON313}" "${PYTHON312}" "${CONSTRAINTS}"; do
  [[ -e "${f}" ]] || { echo "setup.sh: ${f} not found" >&2; exit 1; }
done

"${ROOT}/devtools/ensure_venv.sh" "${PYTHON313}" "${VENV}"
"${ROOT}/devtools/ensure_venv.sh" "${PYTHON312}" "${LAMBDA_VENV}"

stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }

want="$(stamp "${CONSTRAINTS}" "${HERE}/setup.sh")"
if [[ "$(cat "${VENV}/.localstack-installed" 2>/dev/null)" != "${want}" ]]; then
  "${VENV}/bin/python" -m pip install --quiet "pip==${PIP_VERSION}"
  "${VENV}/bin/python" -m pip install --quiet --constraint "${CONSTRAINTS}" "localstack-core[runtime]==4.14.0"
  echo "${want}" > "${VENV}/.localstack-installed"
fi
# The plugins: no dependency of their own beyond localstack-core, which is already there.
# Built from a copy, so that the build leaves no build/ or *.egg-info in the repository.
build_dir="$(mktemp -d)"
trap 'rm -rf "${build_dir}"' EXIT
cp -r "${HERE}/plugins" "${build_dir}/plugins"
"${VENV}/bin/python" -m pip install --quiet --no-deps --force-reinstall "${build_dir}/plugins"
"${VENV}/bin/python" -m pip check >/dev/null || { "${VENV}/bin/python" -m pip check >&2; exit 1; }

want="$(stamp "${HERE}/lambda-runtime-requirements.txt")"
if [[ "$(cat "${LAMBDA_VENV}/.installed" 2>/dev/null)" != "${want}" ]]; then
  "${LAMBDA_VENV}/bin/python" -m pip install --quiet "pip==${PIP_VERSION}"
  "${LAMBDA_VENV}/bin/python" -m pip install --quiet --requirement "${HERE}/lambda-runtime-requirements.txt"
  echo "${want}" > "${LAMBDA_VENV}/.installed"
fi
echo "LocalStack 4.14.0: ${VENV}; Lambda runtime: ${LAMBDA_VENV}"
