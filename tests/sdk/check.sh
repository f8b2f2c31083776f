#!/usr/bin/env bash
# Checks that each generated SDK builds (TypeScript, Go), installs and imports (Python), or parses (C#).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== TypeScript SDK: tsc"
cp -r "$root/sdk/nodejs" "$work/nodejs"
(cd "$work/nodejs" && npm install --no-audit --no-fund --loglevel=error >/dev/null \
    && npm install --no-audit --no-fund --loglevel=error --save-exact @pulumi/pulumi@3.185.0 >/dev/null \
    && npx tsc && test -f bin/index.js && test -f bin/ecs/imageSharePermission.d.ts)
echo "ok"

echo "== Python SDK: install into a venv and import"
venv="$("$root/tools/venv.sh" sdk-check "$root/tests/sdk/requirements.txt")"
cp -r "$root/sdk/python" "$work/python"
"$venv/bin/pip" install -q --disable-pip-version-check "$work/python"
"$venv/bin/python" - <<'PY'
import pulumi_alicloud_rs as alicloud
from pulumi_alicloud_rs import ecs, ecd
assert hasattr(ecs, "ImageSharePermission") and hasattr(ecs, "ImageShareList") and hasattr(ecd, "Image"), "resources missing"
assert callable(ecs.ImageSharePermission.get)
print("imported", alicloud.__name__, "with", ecs.ImageSharePermission.__name__, "and", ecd.Image.__name__)
PY

echo "== Go SDK: go build and go vet"
(cd "$root/sdk/go" && GOFLAGS=-mod=readonly go build ./... && GOFLAGS=-mod=readonly go vet ./...)
echo "ok"

echo "== C# SDK and C# examples: syntax (no .NET SDK here, so not compiled)"
"$venv/bin/python" "$root/tests/sdk/parse_csharp.py" "$root/sdk/dotnet" "$root"/examples/*-csharp
