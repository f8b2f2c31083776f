"""What the install tests share: the artefacts in dist/, a plain HTTP server that serves them the way a
release page would, and Pulumi projects that get the provider only the way users do (no plugin path, a
PULUMI_HOME of their own, no provider binary on PATH)."""
import hashlib
import http.server
import json
import os
import pathlib
import shutil
import sys
import tarfile
import tempfile
import threading

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/e2e"))
from harness import ACCESS_KEY, ACCOUNT_A, IMAGE_1, REGION, SECRET_KEY, TOOLS_BIN, run  # noqa: E402

DIST = ROOT / "dist"
PROGRAMS = pathlib.Path(__file__).resolve().parent / "programs"
PLUGIN = "pulumi-resource-alicloud"
SCHEMA = json.loads((ROOT / "schema.json").read_text())
VERSION = SCHEMA["version"]
DOWNLOAD_URL = SCHEMA["pluginDownloadURL"]
NODE_PULUMI = "3.185.0"


def platform():
    """Pulumi's name for this machine's OS and architecture, as in plugin archive names."""
    machine = os.uname().machine
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[machine]
    return f"{sys.platform.replace('win32', 'windows')}-{arch}"


ARCHIVE = f"{PLUGIN}-v{VERSION}-{platform()}.tar.gz"


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def checksums():
    """dist/SHA256SUMS as {file name: hex digest}."""
    sums = {}
    for line in (DIST / "SHA256SUMS").read_text().splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    return sums


def archive_binary():
    """The bytes of the plugin binary inside this platform's archive."""
    with tarfile.open(DIST / ARCHIVE) as tar:
        return tar.extractfile(PLUGIN).read()


def one(pattern):
    found = sorted(DIST.glob(pattern))
    assert len(found) == 1, f"dist/ should hold one {pattern}, holds {[p.name for p in found]}"
    return found[0]


class DistServer:
    """dist/ over plain HTTP on loopback, in a thread; remembers every path asked for."""

    def __init__(self):
        self.requests = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(DIST), **kwargs)

            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def clean_path():
    """PATH with the pinned CLI first and no directory that holds a provider binary, so that the engine
    can only use the plugin in PULUMI_HOME."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (pathlib.Path(d) / PLUGIN).exists()]
    return os.pathsep.join([str(TOOLS_BIN), *dirs])


def pulumi_env(home, state, acquisition, overrides=None):
    """The environment of a `pulumi` command: a fresh PULUMI_HOME and a local backend; automatic plugin
    acquisition on or off; download URL overrides, if any; no Alibaba credentials from the machine."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ALIBABA_CLOUD_", "ALICLOUD_", "PULUMI_"))}
    env.update(
        PATH=clean_path(),
        PULUMI_HOME=str(home),
        PULUMI_BACKEND_URL=f"file://{state}",
        PULUMI_CONFIG_PASSPHRASE="",
        PULUMI_SKIP_UPDATE_CHECK="true",
    )
    if not acquisition:
        env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    if overrides:
        env["PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES"] = overrides
    return env


def installed_plugin(home):
    """The plugin directory the engine installs into for this version."""
    return pathlib.Path(home) / "plugins" / f"resource-alicloud-v{VERSION}"


class Project:
    """A copy of one program under tests/install/programs with one stack on a local backend, configured
    for the emulator. The program's dependencies are linked in by the caller (node_modules, venv)."""

    def __init__(self, program, base, home, emulator, acquisition, overrides=None):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"install-{program}-", dir=base))
        self.project = self.dir / "project"
        shutil.copytree(PROGRAMS / program, self.project)
        assert "plugins" not in (self.project / "Pulumi.yaml").read_text()
        (self.dir / "state").mkdir()
        self.home = pathlib.Path(home)
        self.env = pulumi_env(self.home, self.dir / "state", acquisition, overrides)
        self.pulumi("stack", "init", "install")
        self.pulumi("config", "set", "alicloud:region", REGION)
        self.pulumi("config", "set", "alicloud:accessKey", ACCESS_KEY)
        self.pulumi("config", "set", "--secret", "alicloud:secretKey", SECRET_KEY)
        for service in ("ecs", "ecd"):
            self.pulumi("config", "set", "--path", f"alicloud:endpoints.{service}", emulator.url)
        self.pulumi("config", "set", "shareImageId", IMAGE_1)
        self.pulumi("config", "set", "shareAccountId", ACCOUNT_A)

    def pulumi(self, *args, check=True):
        return run([TOOLS_BIN / "pulumi", *args], cwd=self.project, env=self.env, check=check)

    def up(self):
        return self.pulumi("up", "--yes", "--skip-preview", "--non-interactive")

    def destroy(self):
        return self.pulumi("destroy", "--yes", "--skip-preview", "--non-interactive")

    def outputs(self):
        return json.loads(self.pulumi("stack", "output", "--json").stdout)
