#!/usr/bin/env bash
# Prints the path of a Python virtualenv with the given requirements installed, creating it on first use.
# The venv lives in the cache outside the work tree and is keyed by the requirements' hash.
# Usage: tools/venv.sh <name> <requirements-file> [extra pip args...]
set -euo pipefail
name="$1" req="$2"; shift 2
key="$( (cat "$req"; echo "$*") | sha256sum | cut -c1-12)"
venv="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-alicloud-rs}/venv-$name-$key"
if [[ ! -f "$venv/.complete" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" "$@" >&2
    touch "$venv/.complete"
fi
echo "$venv"
