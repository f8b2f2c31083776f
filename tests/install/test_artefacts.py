"""What `make dist` wrote: complete, named by one version, and in the shapes installers expect."""
import base64
import hashlib
import json
import os
import pathlib
import subprocess
import tarfile
import zipfile

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2_grpc

from install import (ARCHIVE, DIST, DOWNLOAD_URL, PLUGIN, ROOT, VERSION, archive_binary, one, run, sha256)

PLUGIN_JSON = {"resource": True, "name": "alicloud", "version": VERSION, "server": DOWNLOAD_URL}


def test_sha256sums_lists_every_file_with_its_digest(sums):
    files = sorted(p.name for p in DIST.iterdir() if p.name != "SHA256SUMS")
    assert sorted(sums) == files
    for name in files:
        assert sums[name] == sha256(DIST / name), name


def test_versions_agree_with_the_workspace():
    out = run([ROOT / "scripts/check-version.sh"]).stdout
    assert f"version {VERSION}:" in out


def test_plugin_archive_holds_the_binary_license_and_readme_at_its_root():
    with tarfile.open(DIST / ARCHIVE) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == sorted([PLUGIN, "LICENSE", "README.md"])
        assert all(m.isfile() for m in members.values())
        assert members[PLUGIN].mode & 0o111 == 0o111, oct(members[PLUGIN].mode)
        assert tar.extractfile("LICENSE").read() == (ROOT / "LICENSE").read_bytes()
        assert b"Apache License" in tar.extractfile("LICENSE").read()


def test_plugin_binary_reports_the_release_version(tmp_path):
    binary = tmp_path / PLUGIN
    binary.write_bytes(archive_binary())
    binary.chmod(0o755)
    proc = subprocess.Popen([binary], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(proc.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = provider_pb2_grpc.ResourceProviderStub(channel).GetPluginInfo(empty_pb2.Empty(), timeout=10)
        assert info.version == VERSION
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_npm_tarball_is_built_javascript_with_the_plugin_block():
    with tarfile.open(one("alicloud-rs-pulumi-alicloud-*.tgz")) as tar:
        names = set(tar.getnames())
        package = json.load(tar.extractfile("package/package.json"))
    assert package["name"] == "@alicloud-rs/pulumi-alicloud"
    assert package["version"] == VERSION
    assert package["pulumi"] == PLUGIN_JSON
    for module in ("index", "provider", "ecs/imageSharePermission", "ecd/image"):
        assert {f"package/{module}.js", f"package/{module}.d.ts"} <= names, module
    assert {"package/LICENSE", "package/README.md"} <= names
    sources = [n for n in names if n.endswith(".ts") and not n.endswith(".d.ts")]
    assert not sources, sources
    assert not [n for n in names if "node_modules" in n]


def test_wheel_and_sdist_carry_the_plugin_file():
    with zipfile.ZipFile(one("pulumi_alicloud_rs-*-py3-none-any.whl")) as whl:
        names = set(whl.namelist())
        assert json.loads(whl.read("pulumi_alicloud_rs/pulumi-plugin.json")) == PLUGIN_JSON
        metadata = whl.read(f"pulumi_alicloud_rs-{VERSION}.dist-info/METADATA").decode()
    assert {"pulumi_alicloud_rs/__init__.py", "pulumi_alicloud_rs/py.typed",
            "pulumi_alicloud_rs/ecs/image_share_permission.py"} <= names
    assert f"\nVersion: {VERSION}\n" in metadata
    assert "Requires-Dist: pulumi" in metadata
    with tarfile.open(one("pulumi_alicloud_rs-*.tar.gz")) as sdist:
        root = f"pulumi_alicloud_rs-{VERSION}"
        assert {f"{root}/pyproject.toml", f"{root}/pulumi_alicloud_rs/pulumi-plugin.json"} <= set(sdist.getnames())


def hash1(files):
    """The go command's h1: hash (dirhash.Hash1) of {name: bytes}."""
    summary = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()))
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def test_go_module_zip_is_what_the_go_command_downloads(tmp_path):
    """The zip, served by a file:// module proxy, is accepted by `go mod download` (which checks the zip
    format) and hashes to what the zip holds: the module's files in sdk/go and the repository's LICENSE."""
    module = next(line.split()[1] for line in (ROOT / "sdk/go/go.mod").read_text().splitlines()
                  if line.startswith("module "))
    archive = one("go-sdk-v*.zip")
    version = f"v{VERSION}"
    assert archive.name == f"go-sdk-{version}.zip"
    with zipfile.ZipFile(archive) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    prefix = f"{module}@{version}/"
    assert all(name.startswith(prefix) for name in files)
    tree = {p.relative_to(ROOT / "sdk/go").as_posix(): p.read_bytes()
            for p in (ROOT / "sdk/go").rglob("*") if p.is_file()}
    tree["LICENSE"] = (ROOT / "LICENSE").read_bytes()
    assert {name[len(prefix):]: data for name, data in files.items()} == tree

    proxy = tmp_path / "proxy" / module / "@v"
    proxy.mkdir(parents=True)
    (proxy / "list").write_text(f"{version}\n")
    (proxy / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2026-01-01T00:00:00Z"}))
    (proxy / f"{version}.mod").write_bytes(tree["go.mod"])
    (proxy / f"{version}.zip").write_bytes(archive.read_bytes())
    env = dict(os.environ, GOPROXY=f"file://{tmp_path / 'proxy'}", GOMODCACHE=str(tmp_path / "modcache"),
               GONOSUMDB=module, GOFLAGS="-modcacherw", GOTOOLCHAIN="local")
    downloaded = json.loads(run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=tmp_path,
                                env=env).stdout)
    assert "Error" not in downloaded, downloaded
    assert downloaded["Sum"] == hash1(files)
    assert downloaded["GoModSum"] == hash1({"go.mod": tree["go.mod"]})
    assert pathlib.Path(downloaded["Dir"], "alicloud/ecs/imageSharePermission.go").exists()
