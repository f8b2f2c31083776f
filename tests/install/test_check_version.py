"""scripts/check-version.sh fails, naming the place, when anything states another version than Cargo.toml's
workspace version."""
import json
import re
import shutil

import pytest

from install import DIST, ROOT, VERSION, run

COPIED = ["Cargo.toml", "Cargo.lock", "schema.json", "provider", "alicloud-openapi", "emulator", "sdk",
          "scripts/check-version.sh"]


@pytest.fixture
def tree(tmp_path):
    """A copy of what the script reads, dist/ included."""
    for rel in COPIED:
        src, dst = ROOT / rel, tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("target", "node_modules", "__pycache__"))
        else:
            shutil.copy2(src, dst)
    shutil.copytree(DIST, tmp_path / "dist")
    return tmp_path


def check(tree, *args):
    return run([tree / "scripts/check-version.sh", *args], cwd=tree, check=False)


def test_the_copy_agrees(tree):
    proc = check(tree)
    assert proc.returncode == 0, proc.stderr


def test_schema_version(tree):
    schema = json.loads((tree / "schema.json").read_text())
    schema["version"] = "9.9.9"
    (tree / "schema.json").write_text(json.dumps(schema))
    proc = check(tree, "--sources")
    assert proc.returncode == 1
    assert "schema.json version: '9.9.9', expected '0" in proc.stderr


def test_workspace_version_against_everything(tree):
    cargo = tree / "Cargo.toml"
    cargo.write_text(re.sub(r'(?m)^version = ".*"$', 'version = "9.9.9"', cargo.read_text(), count=1))
    proc = check(tree)
    assert proc.returncode == 1
    for place in ("schema.json version", "sdk/nodejs/package.json version", "sdk/python/pyproject.toml version",
                  "sdk/dotnet/version.txt", "sdk/go/go.mod: module", f"dist/pulumi-resource-alicloud-v{VERSION}"):
        assert place in proc.stderr, place


def test_stale_artefact_and_checksums(tree):
    (tree / "dist" / "pulumi-resource-alicloud-v0.0.1-linux-arm64.tar.gz").write_bytes(b"old")
    proc = check(tree)
    assert proc.returncode == 1
    assert "dist/pulumi-resource-alicloud-v0.0.1-linux-arm64.tar.gz: '0.0.1'" in proc.stderr
    assert "SHA256SUMS does not list pulumi-resource-alicloud-v0.0.1-linux-arm64.tar.gz" in proc.stderr


def test_release_tag(tree):
    assert check(tree, "--sources", "--tag", f"v{VERSION}").returncode == 0
    proc = check(tree, "--sources", "--tag", "v9.9.9")
    assert proc.returncode == 1
    assert "release tag: 'v9.9.9'" in proc.stderr
