#!/usr/bin/env bash
# Builds the release artefacts into dist/, every one named by the one release version, the
# `[workspace.package] version` of Cargo.toml (scripts/check-version.sh checks that everything else agrees):
#
#   pulumi-resource-alicloud-v<version>-<os>-<arch>.tar.gz  the plugin as `pulumi plugin install` unpacks it:
#                                                          the binary at the root, with LICENSE and README.md
#   alicloud-rs-pulumi-alicloud-<version>.tgz              npm @alicloud-rs/pulumi-alicloud (JavaScript + .d.ts)
#   pulumi_alicloud_rs-<version>-py3-none-any.whl           PyPI pulumi-alicloud-rs, wheel
#   pulumi_alicloud_rs-<version>.tar.gz                     PyPI pulumi-alicloud-rs, sdist
#   go-sdk-v<version>.zip                                   the Go module sdk/go in the Go module zip format
#   AlicloudRs.Pulumi.Alicloud.<version>.nupkg              NuGet, only where a .NET SDK is installed
#   SHA256SUMS                                              sha256sum format, one line per file above
#
# Usage: scripts/dist.sh [all | plugin | nodejs | python | go | dotnet | checksums ...]
#   all (the default) empties dist/ first and runs every part; named parts add to what dist/ holds.
# The plugin is built for, and named after, rustc's host triple; DIST_TARGET=<rust target triple>
# cross-builds it for that target instead (the release workflow names every target). Either way the triple is
# named to cargo, so that a host build has the symbol names provider/symbol-order.txt lists.
# PYTHON names the Python interpreter (default python3, else python).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dist="$root/dist"
python="${PYTHON:-$(command -v python3 || command -v python)}"
export CACHE_DIR="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-alicloud-rs}"

die() { echo "dist: error: $*" >&2; exit 1; }

# Refuse to build anything named by a version that the sources do not all state.
scripts/check-version.sh --sources >&2
version="$(scripts/check-version.sh --sources --print)"

# Archive timestamps: the commit's time, so that a rebuild of one commit gives the same bytes.
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
    SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || date +%s)"
fi
export SOURCE_DATE_EPOCH

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sha256() {
    if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# Runs a command quietly; its output is shown only when it fails.
quiet() {
    local log="$work/log"
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        die "failed: $*"
    fi
}

# The Pulumi names of a Rust target triple's OS and architecture (the ones plugin downloads use).
pulumi_platform() {
    local os arch
    case "$1" in
        *-linux-*) os=linux ;;
        *-apple-darwin) os=darwin ;;
        *-windows-*) os=windows ;;
        *) die "no Pulumi plugin OS for target $1 (Pulumi downloads plugins for linux, darwin and windows)" ;;
    esac
    case "$1" in
        x86_64-*) arch=amd64 ;;
        aarch64-*) arch=arm64 ;;
        *) die "no Pulumi plugin architecture for target $1 (Pulumi downloads plugins for amd64 and arm64)" ;;
    esac
    echo "$os-$arch"
}

part_plugin() {
    local host triple platform exe="" target_dir binary archive
    host="$(rustc -vV | sed -n 's/^host: //p')"
    triple="${DIST_TARGET:-$host}"
    platform="$(pulumi_platform "$triple")"
    [[ "$platform" == windows-* ]] && exe=".exe"
    target_dir="$(cargo metadata --no-deps --format-version 1 --offline |
        "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    echo "plugin: cargo build --release for $triple ($platform)" >&2
    cargo build --locked --release -p pulumi-resource-alicloud --target "$triple"
    binary="$target_dir/$triple/release/pulumi-resource-alicloud$exe"
    archive="$dist/pulumi-resource-alicloud-v$version-$platform.tar.gz"
    # Written with Python's tarfile so that every runner (GNU tar, bsdtar, Git Bash) makes the same archive:
    # fixed owner and times, the binary executable, everything at the root of the archive.
    "$python" - "$archive" "$binary" "pulumi-resource-alicloud$exe" LICENSE README.md <<'EOF'
import gzip, os, sys, tarfile
archive, binary, name, *extras = sys.argv[1:]
mtime = int(os.environ["SOURCE_DATE_EPOCH"])
entries = [(binary, name, 0o755)] + [(path, os.path.basename(path), 0o644) for path in extras]
with open(archive, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as gz, \
        tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
    for path, arcname, mode in entries:
        info = tarfile.TarInfo(arcname)
        info.size, info.mtime, info.mode = os.path.getsize(path), mtime, mode
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        with open(path, "rb") as f:
            tar.addfile(info, f)
EOF
    echo "plugin: ${archive#"$root"/}" >&2
}

part_nodejs() {
    # The SDK's TypeScript is compiled with its own pinned compiler into bin/, which is what gets packed:
    # JavaScript, declarations and source maps, with package.json (its `pulumi` block tells the engine
    # which plugin, version and download server the package needs), README.md and LICENSE.
    local npm=(npm --no-audit --no-fund --loglevel=error) sdk="$work/nodejs" packed
    cp -R sdk/nodejs "$sdk"
    rm -rf "${sdk:?}/bin" "${sdk:?}/node_modules"
    echo "nodejs: npm install, tsc, npm pack" >&2
    (cd "$sdk" && quiet "${npm[@]}" install && quiet npx tsc)
    cp sdk/nodejs/package.json sdk/nodejs/README.md LICENSE "$sdk/bin/"
    packed="$(cd "$sdk/bin" && "${npm[@]}" pack --pack-destination "$dist" 2>/dev/null | tail -n 1)"
    [[ -f "$dist/$packed" ]] || die "npm pack wrote no $packed"
    echo "nodejs: dist/$packed" >&2
}

part_python() {
    # The standard build frontend, pinned in scripts/dist-requirements.txt with the setuptools it builds
    # with (no build isolation: the backend is the pinned one, not whatever is newest). The wheel is built
    # from the sdist, which shows that the sdist is complete.
    local venv sdk="$work/python"
    venv="$(tools/venv.sh dist scripts/dist-requirements.txt)"
    cp -R sdk/python "$sdk"
    # pyproject.toml names README.md beside it; the generator writes the package's README into the package.
    cp sdk/python/pulumi_alicloud_rs/README.md LICENSE "$sdk/"
    echo "python: python -m build (sdist, then the wheel from it)" >&2
    quiet "$venv/bin/python" -m build --no-isolation --outdir "$dist" "$sdk"
    local built
    for built in "$dist"/pulumi_alicloud_rs-*.whl "$dist"/pulumi_alicloud_rs-*.tar.gz; do
        echo "python: dist/${built##*/}" >&2
    done
}

part_go() {
    # A Go module is released by a tag in the repository: for the module in sdk/go the tag is
    # sdk/go/v<version>, and the module proxy builds its zip from the tagged tree. This part writes that
    # zip (Go module zip format: every file under <module>@<version>/, nested modules and VCS directories
    # left out, the repository's LICENSE added as the go command adds it for a module in a subdirectory)
    # and prints the h1: hashes that go.sum will record, so the tagged module can be checked against it.
    "$python" - "$root" "v$version" "$dist/go-sdk-v$version.zip" <<'EOF'
import base64, hashlib, os, pathlib, re, sys, tomllib, zipfile
root, version, out = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
moddir = root / "sdk/go"
module = re.search(r"^module\s+(\S+)", (moddir / "go.mod").read_text(), re.M).group(1)
repository = tomllib.loads((root / "Cargo.toml").read_text())["workspace"]["package"]["repository"]
repo_path = re.sub(r"^https?://", "", repository).removesuffix(".git")
subdir = moddir.relative_to(root).as_posix()
base = re.sub(r"/v\d+$", "", module)
if base != f"{repo_path}/{subdir}":
    sys.exit(f"dist: error: module {module} is not at {subdir} of {repo_path}: the go command could not fetch it by tag")

files = {}
for dirpath, dirnames, filenames in os.walk(moddir):
    here = pathlib.Path(dirpath)
    keep = []
    for d in sorted(dirnames):
        sub = here / d
        if d in (".git", ".hg", ".svn", ".bzr", "vendor") or sub.is_symlink() or (sub / "go.mod").exists():
            continue
        keep.append(d)
    dirnames[:] = keep
    for name in filenames:
        path = here / name
        if path.is_file() and not path.is_symlink():
            files[path.relative_to(moddir).as_posix()] = path.read_bytes()
if "LICENSE" not in files and (root / "LICENSE").exists():
    files["LICENSE"] = (root / "LICENSE").read_bytes()

prefix = f"{module}@{version}/"
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
    for name in sorted(files):
        info = zipfile.ZipInfo(prefix + name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        zf.writestr(info, files[name])


def hash1(named):
    summary = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(named.items()))
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


tag = f"{subdir}/{version}"
print(f"go: dist/{pathlib.Path(out).name}: {module} {version} ({len(files)} files)", file=sys.stderr)
print(f"go: go.sum lines of the release:\n    {module} {version} {hash1({prefix + n: d for n, d in files.items()})}"
      f"\n    {module} {version}/go.mod {hash1({'go.mod': files['go.mod']})}", file=sys.stderr)
print(f"go: tag to push on the release commit: {tag}", file=sys.stderr)
EOF
}

part_dotnet() {
    if ! command -v dotnet >/dev/null; then
        echo "dotnet: NuGet package AlicloudRs.Pulumi.Alicloud $version NOT built: no .NET SDK on this machine" \
             "(the release workflow builds it with dotnet pack)" >&2
        return 0
    fi
    cp -R sdk/dotnet "$work/dotnet"
    echo "dotnet: dotnet pack" >&2
    quiet dotnet pack "$work/dotnet" --configuration Release --output "$dist" -p:Version="$version"
    echo "dotnet: dist/AlicloudRs.Pulumi.Alicloud.$version.nupkg" >&2
}

part_checksums() {
    local name
    (
        cd "$dist"
        for name in *; do
            [[ "$name" == SHA256SUMS || ! -f "$name" ]] && continue
            echo "$(sha256 "$name")  $name"
        done
    ) > "$work/SHA256SUMS"
    mv "$work/SHA256SUMS" "$dist/SHA256SUMS"
    echo "checksums: dist/SHA256SUMS" >&2
}

parts=("$@")
[[ ${#parts[@]} -eq 0 ]] && parts=(all)
if [[ "${parts[*]}" == all ]]; then
    rm -rf "$dist"
    parts=(plugin nodejs python go dotnet checksums)
fi
mkdir -p "$dist"
for part in "${parts[@]}"; do
    case "$part" in
        plugin | nodejs | python | go | dotnet | checksums) "part_$part" ;;
        *) die "unknown part '$part' (all, plugin, nodejs, python, go, dotnet, checksums)" ;;
    esac
done

if [[ " ${parts[*]} " == *" checksums "* ]]; then
    scripts/check-version.sh
fi
echo "dist/ (version $version):"
(cd "$dist" && for name in *; do printf '  %10s  %s\n' "$(wc -c < "$name" | tr -d ' ')" "$name"; done)
# The Go module lives in sdk/go, so its tag carries that prefix (the go part checks the module path).
echo "tags to push on the release commit: v$version, sdk/go/v$version"
