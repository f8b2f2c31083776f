#!/usr/bin/env bash
# Builds the pinned Pulumi CLI and language hosts from the Go module proxy into a cache outside the work
# tree, keyed by version. Each Go module directory (tools/, tools/dotnet, tools/yaml) is built on its own
# and stamped with the hash of its pins and build flags, so a change to one leaves the others' binaries
# alone. Idempotent: a second run only prints versions.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's/^PULUMI_VERSION := //p' "$here/../Makefile")"
cache="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-alicloud-rs}/tools/$version"
bin="$cache/bin"

# go.sum, committed, pins every module; the checksum database answers for none of the Pulumi modules,
# so it is not asked about them (GONOSUMDB, set by the Makefile).
# Pulumi v3.184.0 was released with Go 1.24; its code generators rely on that release's path/filepath
# behaviour (Go 1.26 changes filepath.Rel and breaks the TypeScript SDK's relative imports), so the
# toolchain is pinned too; the Go command fetches it from the module proxy.
export GOFLAGS=-mod=readonly GOTOOLCHAIN=go1.24.7 CGO_ENABLED=0

# build_module NAME DIR LDFLAGS PACKAGE...: `go build` of the packages of the module in DIR into $bin,
# unless the stamp says these pins were built with these flags already.
build_module() {
    local name="$1" dir="$2" ldflags="$3"; shift 3
    local stamp="$cache/stamp.$name" want
    want="$(cat "$dir/go.mod" "$dir/go.sum" <(echo "$GOTOOLCHAIN $ldflags $*") | sha256sum | cut -d' ' -f1)"
    [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]] && return 0
    echo "building $name into $bin (a first build takes a few minutes)" >&2
    local start=$SECONDS
    mkdir -p "$bin"
    (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/" "$@")
    if [[ "$name" == pulumi ]]; then
        # The Python host runs programs through this script, which ships in the SDK module.
        local sdk_dir
        sdk_dir="$(cd "$dir" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
        install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$bin/"
    fi
    echo "$want" > "$stamp"
    echo "built $name in $((SECONDS - start)) s" >&2
}

build_module pulumi "$here" "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 \
    github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 \
    github.com/pulumi/pulumi/sdk/go/pulumi-language-go/v3
# The .NET host serves only `pulumi package gen-sdk --language dotnet`.
build_module dotnet "$here/dotnet" "-s -w" github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3
# The YAML host runs `runtime: yaml` programs: the schema used directly, with no SDK.
build_module yaml "$here/yaml" "-s -w" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml

echo "pulumi $("$bin/pulumi" version) ($bin)"
for host in nodejs python go dotnet yaml; do
    printf 'pulumi-language-%s ' "$host"
    (go version -m "$bin/pulumi-language-$host" 2>/dev/null | awk '$1=="mod"{print $3; exit}') || echo "?"
done
