#!/usr/bin/env bash
# Regenerates sdk/<language> from schema.json with the pinned Pulumi CLI and language hosts.
# Usage: tools/gen-sdk.sh <pulumi-binary> [language...]
set -euo pipefail
cd "$(dirname "$0")/.."
pulumi="$1"; shift
languages=("${@:-nodejs python go dotnet}")
export PULUMI_HOME="${CACHE_DIR:-$HOME/.cache/pulumi-alicloud-rs}/pulumi-home-gen"
# The language hosts are found next to the CLI.
export PATH="$(dirname "$pulumi"):$PATH"

proxy_pid=""

# sdk/go/go.mod and go.sum are ours, not generated: the generator replaces all of sdk/go, so keep them aside.
keep="$(mktemp -d)"
trap '[[ -n "$proxy_pid" ]] && kill "$proxy_pid" 2>/dev/null || true; rm -rf "$keep"' EXIT

for lang in ${languages[@]}; do
    if [[ "$lang" == go ]]; then
        cp sdk/go/go.mod sdk/go/go.sum "$keep/"
    fi
    rm -rf "sdk/$lang"
    if [[ "$lang" == dotnet && -z "$proxy_pid" ]]; then
        logo_url="$(python3 -c 'import json; print(json.load(open("schema.json"))["logoUrl"])')"
        coproc LOGO { exec python3 tools/logo-proxy.py "$logo_url" docs/logo.png; }
        proxy_pid=$LOGO_PID
        read -r port <&"${LOGO[0]}"
        export HTTP_PROXY="http://127.0.0.1:$port" http_proxy="http://127.0.0.1:$port"
    fi
    "$pulumi" package gen-sdk schema.json --language "$lang" --out sdk >/dev/null
    if [[ "$lang" == go ]]; then
        cp "$keep/go.mod" "$keep/go.sum" sdk/go/
    fi
    echo "generated sdk/$lang"
done
