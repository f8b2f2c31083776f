#!/usr/bin/env bash
# Fails unless every place that states the release version agrees with the one source of it: the
# `[workspace.package] version` of the root Cargo.toml. Checked: every workspace crate (the plugin's
# GetPluginInfo answers with its CARGO_PKG_VERSION), schema.json, each SDK's package metadata and
# pulumi-plugin.json, the Go module path's major-version suffix, the names of the files in dist/ (when it
# exists) and their SHA256SUMS, and, with --tag, the release tag.
#
# Usage: scripts/check-version.sh [--sources] [--tag vX.Y.Z] [--print]
#   --sources  leave dist/ out (what scripts/dist.sh checks before it builds anything)
#   --tag      also require this tag to be v<version>
#   --print    print only the version on success
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$(command -v python3 || command -v python)}"
exec "$python" - "$root" "$@" <<'EOF'
import hashlib
import json
import pathlib
import re
import subprocess
import sys
import tomllib

root = pathlib.Path(sys.argv[1])
args = sys.argv[2:]
sources_only = "--sources" in args
print_only = "--print" in args
tag = args[args.index("--tag") + 1] if "--tag" in args else None
dist = root / "dist"

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
cargo = tomllib.loads((root / "Cargo.toml").read_text())
version = cargo["workspace"]["package"]["version"]
match = SEMVER.match(version)
if not match:
    sys.exit(f"error: Cargo.toml [workspace.package] version {version!r} is not a semantic version")
major = int(match.group(1))


def pep440(v):
    """The PEP 440 spelling of a semantic version (0.2.0-alpha.1 -> 0.2.0a1), as PyPI will show it."""
    core, _, pre_release = v.partition("-")
    if not pre_release:
        return core
    m = re.fullmatch(r"(alpha|a|beta|b|rc)\.?(\d+)", pre_release)
    if not m:
        return None
    return core + {"alpha": "a", "a": "a", "beta": "b", "b": "b", "rc": "rc"}[m.group(1)] + m.group(2)


checked, problems = [], []


def expect(where, found, wanted=version):
    checked.append(where)
    if found != wanted:
        problems.append(f"{where}: {found!r}, expected {wanted!r}")


def read_json(rel):
    return json.loads((root / rel).read_text())


# The crates: the plugin reports CARGO_PKG_VERSION to the engine (GetPluginInfo).
meta = json.loads(subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
                                 cwd=root, check=True, capture_output=True, text=True).stdout)
for package in meta["packages"]:
    expect(f"crate {package['name']} (CARGO_PKG_VERSION)", package["version"])

expect("schema.json version", read_json("schema.json").get("version"))

package = read_json("sdk/nodejs/package.json")
expect("sdk/nodejs/package.json version", package.get("version"))
expect("sdk/nodejs/package.json pulumi.version", package.get("pulumi", {}).get("version"))

pyproject = tomllib.loads((root / "sdk/python/pyproject.toml").read_text())
expect("sdk/python/pyproject.toml version", pyproject["project"]["version"],
       pep440(version) or f"a PEP 440 spelling of {version}")

for plugin_json in sorted(root.glob("sdk/*/**/pulumi-plugin.json")):
    expect(f"{plugin_json.relative_to(root)} version", json.loads(plugin_json.read_text()).get("version"))

go_mod = (root / "sdk/go/go.mod").read_text()
module = re.search(r"^module\s+(\S+)", go_mod, re.M).group(1)
suffix = re.search(r"/v(\d+)$", module)
checked.append("sdk/go/go.mod module path")
if major >= 2 and (not suffix or int(suffix.group(1)) != major):
    problems.append(f"sdk/go/go.mod: module {module} must end in /v{major} for version {version}")
if major < 2 and suffix:
    problems.append(f"sdk/go/go.mod: module {module} has a /v suffix, but version {version} is below v2")

version_txt = root / "sdk/dotnet/version.txt"
if version_txt.exists():
    expect("sdk/dotnet/version.txt", version_txt.read_text().strip())
for csproj in sorted((root / "sdk/dotnet").glob("*.csproj")):
    found = re.search(r"<Version>([^<]*)</Version>", csproj.read_text())
    expect(f"{csproj.relative_to(root)} <Version>", found.group(1) if found else None)

if tag is not None:
    expect("release tag", tag, f"v{version}")

# What dist/ holds must be named by this version, and SHA256SUMS must describe it exactly.
if not sources_only and dist.is_dir():
    named = [
        r"pulumi-resource-alicloud-v(?P<v>.+)-(linux|darwin|windows)-(amd64|arm64)\.tar\.gz",
        r"alicloud-rs-pulumi-alicloud-(?P<v>.+)\.tgz",
        r"pulumi_alicloud_rs-(?P<pv>[^-]+)-py3-none-any\.whl",
        r"pulumi_alicloud_rs-(?P<pv>.+)\.tar\.gz",
        r"go-sdk-v(?P<v>.+)\.zip",
        r"AlicloudRs\.Pulumi\.Alicloud\.(?P<v>.+)\.nupkg",
    ]
    files = sorted(p.name for p in dist.iterdir() if p.is_file() and p.name != "SHA256SUMS")
    for name in files:
        for pattern in named:
            m = re.fullmatch(pattern, name)
            if m:
                if "v" in m.groupdict():
                    expect(f"dist/{name}", m.group("v"))
                else:
                    expect(f"dist/{name}", m.group("pv"), pep440(version) or version)
                break
        else:
            problems.append(f"dist/{name}: not a release artefact this project makes")
    sums = dist / "SHA256SUMS"
    checked.append("dist/SHA256SUMS")
    if not sums.exists():
        problems.append("dist/SHA256SUMS is missing")
    else:
        listed = {}
        for line in sums.read_text().splitlines():
            digest, _, name = line.partition("  ")
            listed[name.lstrip("*")] = digest
        for name in sorted(set(files) | set(listed)):
            if name not in listed:
                problems.append(f"dist/SHA256SUMS does not list {name}")
            elif name not in files:
                problems.append(f"dist/SHA256SUMS lists {name}, which dist/ does not hold")
            elif hashlib.sha256((dist / name).read_bytes()).hexdigest() != listed[name]:
                problems.append(f"dist/SHA256SUMS: the checksum of {name} does not match")

if problems:
    print(f"error: the release version is {version} (Cargo.toml [workspace.package]), but:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    sys.exit(1)
if print_only:
    print(version)
else:
    print(f"version {version}: {len(checked)} places agree"
          + (" (dist/ not checked)" if sources_only or not dist.is_dir() else ""))
EOF
