#!/usr/bin/env bash
# terraform validate in the root module, every submodule and every example (init without a backend first; the
# providers come from the plugin cache or mirror that devtools/terraform_setup.py configures; it also holds the
# cache's lock during init).
# Usage: devtools/terraform_validate.sh [DIR...]   (default: the root module, modules/*, examples/*)
set -euo pipefail
TERRAFORM=${TERRAFORM:-terraform}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="${ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
if (($# == 0)); then
  cd "${ROOT}"
  set -- . modules/* examples/*
fi
status=0
for dir in "$@"; do
  [[ -n $(compgen -G "$dir/*.tf") ]] || continue
  if ! init_output=$(TERRAFORM="$TERRAFORM" "${PYTHON:-python3}" -m devtools.terraform_setup --init "$dir" -- -no-color 2>&1); then
    printf 'terraform init failed in %s:\n%s\n' "$dir" "$init_output" >&2
    status=1
    continue
  fi
  if ! "$TERRAFORM" -chdir="$dir" validate -no-color >/dev/null; then
    "$TERRAFORM" -chdir="$dir" validate -no-color >&2 || true
    echo "terraform validate failed in $dir" >&2
    status=1
  fi
done
exit "$status"
