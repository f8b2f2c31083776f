"""The built provider binary works with the pinned pulumi CLI: plugin install and get-schema."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schema.json").read_text())


def pulumi_env(home):
    env = dict(os.environ)
    env.update(
        PULUMI_HOME=str(home),
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_BACKEND_URL=f"file://{home}",
        PULUMI_CONFIG_PASSPHRASE="",
    )
    return env


@pytest.fixture
def pulumi():
    return os.path.join(os.environ["TOOLS_BIN"], "pulumi")


@pytest.fixture
def provider_bin():
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / "debug" / "pulumi-resource-alicloud"
    assert path.exists(), f"{path} missing: build the provider first"
    return path


def run(cmd, env):
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def test_get_schema_from_binary_is_schema_json(pulumi, provider_bin, tmp_path):
    out = run([pulumi, "package", "get-schema", str(provider_bin)], pulumi_env(tmp_path))
    assert json.loads(out) == SCHEMA


def test_plugin_install_then_get_schema_by_name(pulumi, provider_bin, tmp_path):
    env = pulumi_env(tmp_path)
    version = SCHEMA["version"]
    run([pulumi, "plugin", "install", "resource", "alicloud", version, "--file", str(provider_bin)], env)
    listed = run([pulumi, "plugin", "ls", "--json"], env)
    plugins = [(p["name"], p["kind"], p["version"]) for p in json.loads(listed)]
    assert ("alicloud", "resource", version) in plugins
    out = run([pulumi, "package", "get-schema", "alicloud"], env)
    assert json.loads(out) == SCHEMA
