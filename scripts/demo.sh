#!/usr/bin/env bash
# make demo: a real `pulumi up` → `refresh` → `destroy` of examples/quickstart-typescript against the local
# Alibaba Cloud emulator. No account needed; everything runs on 127.0.0.1 and is removed at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-alicloud-rs}"
tools="${TOOLS_BIN:-$cache/tools/v3.184.0/bin}"
work="$(mktemp -d)"
emulator_pid=""
cleanup() {
    [[ -n "$emulator_pid" ]] && kill "$emulator_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }

# Prints what the emulator holds that the seed did not: shares and ECD images.
holdings() {
    curl -s "$url/_emulator/state" | python3 -c '
import json, sys
state = json.load(sys.stdin)
made = 0
for image in state["ecsImages"]:
    for account in image["sharedWith"]:
        print("  ECS image %s shared with account %s" % (image["imageId"], account))
        made += 1
for image in state["ecdImages"]:
    print("  ECD image %s named %r: %s" % (image["imageId"], image["name"], image["status"]))
    made += 1
print("  (%d in all)" % made)
sys.exit(made if len(sys.argv) > 1 else 0)
' "$@"
}

step "Building the provider and the emulator"
(cd "$root" && cargo build -q -p pulumi-resource-alicloud -p alicloud-emulator)

step "Starting the Alibaba Cloud emulator"
"$root/target/debug/alicloud-emulator" --port 0 --image-create-seconds 3 >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!
for _ in $(seq 50); do [[ -s "$work/emulator.out" ]] && break; sleep 0.1; done
url="$(head -n1 "$work/emulator.out")"
echo "emulator listening on $url (ECS 2014-05-26, ECD 2020-09-30)"

step "Preparing the TypeScript program (examples/quickstart-typescript) and the SDK"
npm=(npm --no-audit --no-fund --loglevel=error)
cp -r "$root/sdk/nodejs" "$work/sdk"
(cd "$work/sdk" && "${npm[@]}" install >/dev/null && npx tsc && cp package.json bin/)
tarball="$(cd "$work/sdk/bin" && "${npm[@]}" pack --pack-destination "$work" | tail -n1)"
mkdir "$work/project"
cp "$root/examples/quickstart-typescript/"{index.ts,package.json,tsconfig.json} "$work/project/"
cat >"$work/project/Pulumi.yaml" <<YAML
name: quickstart
runtime: nodejs
plugins:
  providers:
    - name: alicloud
      path: $root/target/debug
YAML
(cd "$work/project" && "${npm[@]}" install --save-exact @pulumi/pulumi@3.185.0 "$work/$tarball" >/dev/null)

export PATH="$tools:$PATH" PULUMI_HOME="$work/home" PULUMI_BACKEND_URL="file://$work/state" \
    PULUMI_CONFIG_PASSPHRASE="" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "$work/state"
cd "$work/project"
pulumi stack init demo >/dev/null
pulumi config set alicloud:region cn-hangzhou
pulumi config set alicloud:accessKey LTAI5tDemoEmulatorKey01
pulumi config set --secret alicloud:secretKey demoEmulatorSecret01
pulumi config set --path alicloud:endpoints.ecs "$url"
pulumi config set --path alicloud:endpoints.ecd "$url"

step "pulumi up: share image m-bp1demoimage00000001 and make an ECD image (waits until it is Available)"
pulumi up --yes --skip-preview

step "Stack outputs"
pulumi stack output

step "What the emulator now holds"
holdings

step "pulumi refresh: the stack matches the cloud"
pulumi refresh --yes --skip-preview

step "pulumi destroy"
pulumi destroy --yes --skip-preview

step "Done: the emulator holds nothing the demo made"
holdings --must-be-empty
