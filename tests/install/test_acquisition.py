"""Automatic plugin acquisition: a program whose SDK came from dist/ (npm tarball or wheel), or a YAML
program whose resource options say so, names the plugin, its version and its download server (the
schema's pluginDownloadURL); `pulumi up` with an empty
PULUMI_HOME downloads the archive by itself, here from the loopback server that
PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES points the GitHub release URL at."""
import json
import shutil

import pytest

from harness import ACCOUNT_A, IMAGE_1
from install import ARCHIVE, DOWNLOAD_URL, VERSION, Project, archive_binary, installed_plugin


def override(server):
    """`regex=url`: the schema's pluginDownloadURL, as the engine spells a GitHub source, to the server."""
    return "^" + DOWNLOAD_URL.replace(".", r"\.") + "$=" + server.url


@pytest.mark.parametrize("program", ["typescript", "python", "yaml"])
def test_up_downloads_the_plugin_by_itself(program, request, server, cloud, tmp_path):
    home = tmp_path / "pulumi-home"
    project = Project(program, tmp_path, home, cloud, acquisition=True, overrides=override(server))
    assert "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION" not in project.env
    if program == "typescript":
        modules = request.getfixturevalue("node_modules")
        shutil.copy(modules.parent / "package.json", project.project / "package.json")
        (project.project / "node_modules").symlink_to(modules)
    elif program == "python":
        (project.project / "venv").symlink_to(request.getfixturevalue("python_venv"))
    else:
        # YAML has no SDK to carry them: the program's own resource options must name this release.
        text = (project.project / "Pulumi.yaml").read_text()
        assert f"version: {VERSION}\n" in text and f"pluginDownloadURL: {DOWNLOAD_URL}\n" in text, text
        # The YAML host reads a config value that looks like a number as a number, whatever its declared
        # type: an account ID is given in JSON quotes (tests/e2e/test_yaml.py shows both).
        project.pulumi("config", "set", "shareAccountId", json.dumps(ACCOUNT_A))
    plugin = installed_plugin(home)
    assert not plugin.exists()

    asked = len(server.requests)
    project.up()
    assert server.requests[asked:] == [f"/{ARCHIVE}"]
    assert (plugin / "pulumi-resource-alicloud").read_bytes() == archive_binary()
    assert not plugin.with_name(plugin.name + ".partial").exists()
    share_id = f"{IMAGE_1}:{ACCOUNT_A}"
    assert project.outputs() == {"shareId": share_id}
    assert cloud.shares() == {share_id}

    project.destroy()
    assert cloud.shares() == set()
    assert server.requests[asked + 1:] == [], "the plugin was downloaded again"
