"""`pulumi plugin install ... --server <url>` fetches the archive from a plain web server, and a program
with no plugin path then runs against what it installed.

`--checksum` is not used: the pinned CLI (v3.184.0) hashes every read of the download except the last one,
the one that arrives together with end-of-file (as Go's HTTP client delivers it when the server sends a
Content-Length), so it rejects the archive's true SHA-256. The install is checked against
the archive instead: the installed binary must be byte for byte the one in the archive that SHA256SUMS
lists."""
import json

from harness import ACCOUNT_A, IMAGE_1
from install import ARCHIVE, VERSION, Project, archive_binary, installed_plugin, pulumi_env, run, TOOLS_BIN


def install(home, tmp_path, server, *extra):
    env = pulumi_env(home, tmp_path, acquisition=False)
    return run([TOOLS_BIN / "pulumi", "plugin", "install", "resource", "alicloud", f"v{VERSION}",
                "--server", server.url, *extra], env=env, check=False)


def test_plugin_install_from_server_then_up_and_destroy(server, cloud, python_venv, tmp_path):
    home = tmp_path / "pulumi-home"
    asked = len(server.requests)
    proc = install(home, tmp_path, server)
    assert proc.returncode == 0, proc.stderr
    assert server.requests[asked:] == [f"/{ARCHIVE}"]
    plugin = installed_plugin(home)
    assert (plugin / "pulumi-resource-alicloud").read_bytes() == archive_binary()
    assert not plugin.with_name(plugin.name + ".partial").exists()
    listed = json.loads(run([TOOLS_BIN / "pulumi", "plugin", "ls", "--json"],
                            env=pulumi_env(home, tmp_path, acquisition=False)).stdout)
    assert ("resource", "alicloud", VERSION) in [(p["kind"], p["name"], p["version"]) for p in listed]

    # Automatic acquisition stays off: the program can only use the plugin installed above.
    project = Project("python", tmp_path, home, cloud, acquisition=False)
    (project.project / "venv").symlink_to(python_venv)
    asked = len(server.requests)
    project.up()
    share_id = f"{IMAGE_1}:{ACCOUNT_A}"
    assert project.outputs() == {"shareId": share_id}
    assert cloud.shares() == {share_id}
    project.destroy()
    assert cloud.shares() == set()
    assert server.requests[asked:] == []

