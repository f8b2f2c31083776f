#!/usr/bin/env bash
# Runs the end-to-end suite: builds the provider and emulator, prepares a venv, and runs pytest
# (its summary line closes the output). Expects the pinned toolchain (make tools).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build -q -p pulumi-resource-alicloud -p alicloud-emulator
venv="$(tools/venv.sh e2e tests/e2e/requirements.txt)"
cd tests/e2e
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@"
