#!/usr/bin/env bash
# Builds the pinned Pulumi CLI and language hosts from the Go module proxy into a cache outside the work
# tree, keyed by version and by the hash of the pinning files. Idempotent: a second run only prints versions.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's/^PULUMI_VERSION := //p' "$here/../Makefile")"
cache="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-alicloud-rs}/tools/$version"
bin="$cache/bin"
stamp="$cache/stamp"
want="$(cat "$here/go.mod" "$here/go.sum" "$here/dotnet/go.mod" "$here/dotnet/go.sum" "$0" | sha256sum | cut -d' ' -f1)"

# go.sum, committed, pins every module; the checksum database answers for none of the Pulumi modules,
# so it is not asked about them (GONOSUMDB, set by the Makefile).
# Pulumi v3.184.0 was released with Go 1.24; its code generators rely on that release's path/filepath
# behaviour (Go 1.26 changes filepath.Rel and breaks the TypeScript SDK's relative imports), so the
# toolchain is pinned too; the Go command fetches it from the module proxy.
export GOFLAGS=-mod=readonly GOTOOLCHAIN=go1.24.7 CGO_ENABLED=0

if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "building Pulumi $version and its language hosts into $cache (first run takes a few minutes)" >&2
    start=$SECONDS
    mkdir -p "$bin"
    ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version"
    (cd "$here" && go build -trimpath -ldflags "$ldflags" -o "$bin/" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
        github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 \
        github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 \
        github.com/pulumi/pulumi/sdk/go/pulumi-language-go/v3)
    (cd "$here/dotnet" && go build -trimpath -ldflags "-s -w" -o "$bin/" \
        github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3)
    # The Python host runs programs through this script, which ships in the SDK module.
    sdk_dir="$(cd "$here" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
    install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$bin/"
    echo "$want" > "$stamp"
    echo "built in $((SECONDS - start)) s" >&2
fi
echo "pulumi $("$bin/pulumi" version) ($bin)"
for host in nodejs python go dotnet; do
    printf 'pulumi-language-%s ' "$host"
    (cd "$here" && go version -m "$bin/pulumi-language-$host" 2>/dev/null | awk '$1=="mod"{print $3; exit}') || echo "?"
done
