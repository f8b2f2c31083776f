#!/usr/bin/env bash
# Runs crosscheck.py in a cached venv with the pinned official Alibaba signer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$("$here/../../../tools/venv.sh" vectors "$here/requirements.txt")"
exec "$venv/bin/python" "$here/crosscheck.py" "$@"
