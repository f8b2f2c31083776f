#!/usr/bin/env bash
# Runs the official-SDK cross-check against a freshly built emulator, in a cached venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="$("$root/tools/venv.sh" emulator-sdk "$here/requirements.txt")"
export EMULATOR_BIN="${EMULATOR_BIN:-$root/target/debug/alicloud-emulator}"
cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@" .
