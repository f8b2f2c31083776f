"""Shared machinery of the end-to-end suite: the emulator process, prepared language runtimes, and stacks
driven through the real `pulumi` CLI with a local backend."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE_DIR = pathlib.Path(os.environ.get("CACHE_DIR", pathlib.Path.home() / ".cache/pulumi-alicloud-rs"))
TOOLS_BIN = pathlib.Path(os.environ.get("TOOLS_BIN", CACHE_DIR / "tools/v3.184.0/bin"))
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
PROGRAMS = pathlib.Path(__file__).resolve().parent / "programs"
NODE_PULUMI = "3.185.0"

REGION = "cn-hangzhou"
ACCESS_KEY = "LTAI5tDemoEmulatorKey01"
SECRET_KEY = "demoEmulatorSecret01"
IMAGE_1 = "m-bp1demoimage00000001"
IMAGE_2 = "m-bp1demoimage00000002"
ACCOUNT_A = "2234567890123456"
ACCOUNT_B = "3234567890123456"
DESKTOP_1 = "ecd-demodesktop0000001"


def run(cmd, cwd=None, env=None, check=True, timeout=600):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"$ {' '.join(map(str, cmd))}\nexit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


class Emulator:
    """The emulator binary on an OS-chosen port, and its control API."""

    def __init__(self, create_seconds=1.0):
        self.proc = subprocess.Popen([TARGET / "alicloud-emulator", "--port", "0", "--image-create-seconds", str(create_seconds)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_emulator/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def state(self):
        return self.control("GET", "state")

    def calls(self):
        return self.control("GET", "calls")["byAction"]

    def shared_with(self, image_id):
        return next(i["sharedWith"] for i in self.state()["ecsImages"] if i["imageId"] == image_id)

    def ecd_images(self):
        return self.state()["ecdImages"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _python_runtime(work):
    venv = run([ROOT / "tools/venv.sh", "e2e", pathlib.Path(__file__).parent / "requirements.txt"]).stdout.strip()
    sdk = work / "sdk-python"
    shutil.copytree(ROOT / "sdk/python", sdk)
    run([f"{venv}/bin/pip", "install", "-q", "--disable-pip-version-check", sdk])
    return lambda source: ({"name": "python", "options": {"virtualenv": venv}}, [])


def _typescript_runtime(work):
    # The SDK is built with tsc and installed from a packed tarball, so that it shares the program's one
    # copy of @pulumi/pulumi (two copies would each keep their own runtime state).
    sdk = work / "sdk-nodejs"
    shutil.copytree(ROOT / "sdk/nodejs", sdk)
    npm = ["npm", "--no-audit", "--no-fund", "--loglevel=error"]
    run([*npm, "install"], cwd=sdk)
    run(["npx", "tsc"], cwd=sdk)
    shutil.copy(sdk / "package.json", sdk / "bin/package.json")
    tarball = run([*npm, "pack", "--pack-destination", work], cwd=sdk / "bin").stdout.strip().splitlines()[-1]
    modules = work / "node-program"
    modules.mkdir()
    shutil.copy(PROGRAMS / "typescript/package.json", modules / "package.json")
    run([*npm, "install", "--save-exact", f"@pulumi/pulumi@{NODE_PULUMI}", work / tarball], cwd=modules)
    return lambda source: ({"name": "nodejs", "options": {"typescript": True}}, [modules / "node_modules"])


def _go_runtime(work):
    env = dict(os.environ, GOFLAGS="-mod=readonly", GONOSUMDB="github.com/pulumi", GOTOOLCHAIN="local")

    def build(source):
        binary = work / f"{source.name}-program"
        if not binary.exists():
            run(["go", "build", "-o", binary, "."], cwd=source, env=env)
        return {"name": "go", "options": {"binary": str(binary)}}, []

    return build


RUNTIMES = {"python": _python_runtime, "typescript": _typescript_runtime, "go": _go_runtime}


class Runtime:
    """One language, prepared once per session."""

    def __init__(self, language, work):
        self.language = language
        work.mkdir(parents=True, exist_ok=True)
        self.project = RUNTIMES[language](work)


class Stack:
    """A project directory with one stack on a local backend, configured for the emulator."""

    def __init__(self, runtime, emulator, base, source=None):
        source = source or PROGRAMS / runtime.language
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"e2e-{source.name}-", dir=base))
        self.emulator = emulator
        project = self.dir / "project"
        project.mkdir()
        runtime_spec, links = runtime.project(source)
        for src in source.iterdir():
            if src.is_file() and src.name not in ("Pulumi.yaml", "go.mod", "go.sum"):
                shutil.copy(src, project / src.name)
        for src in links:
            (project / src.name).symlink_to(src)
        (project / "Pulumi.yaml").write_text(json.dumps({
            "name": source.name,
            "runtime": runtime_spec,
            "plugins": {"providers": [{"name": "alicloud", "path": str(TARGET)}]},
        }))
        (self.dir / "state").mkdir()
        self.project = project
        self.env = dict(
            os.environ,
            PATH=f"{TOOLS_BIN}:{os.environ['PATH']}",
            PULUMI_HOME=str(self.dir / "home"),
            PULUMI_BACKEND_URL=f"file://{self.dir / 'state'}",
            PULUMI_CONFIG_PASSPHRASE="",
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        )
        self.pulumi("stack", "init", "e2e")
        for key, value in [("alicloud:region", REGION), ("alicloud:accessKey", ACCESS_KEY)]:
            self.pulumi("config", "set", key, value)
        self.pulumi("config", "set", "--secret", "alicloud:secretKey", SECRET_KEY)
        for service in ("ecs", "ecd"):
            self.pulumi("config", "set", "--path", f"alicloud:endpoints.{service}", emulator.url)

    def pulumi(self, *args, check=True):
        return run([TOOLS_BIN / "pulumi", *args], cwd=self.project, env=self.env, check=check)

    def configure(self, **values):
        for key, value in values.items():
            if value is None:
                self.pulumi("config", "rm", key, check=False)
            else:
                self.pulumi("config", "set", key, value)

    def up(self, check=True):
        return self.pulumi("up", "--yes", "--skip-preview", "--non-interactive", check=check)

    def preview(self, *extra, check=True):
        return self.pulumi("preview", "--non-interactive", *extra, check=check)

    def refresh(self):
        return self.pulumi("refresh", "--yes", "--skip-preview", "--non-interactive")

    def destroy(self):
        return self.pulumi("destroy", "--yes", "--skip-preview", "--non-interactive")

    def outputs(self):
        return json.loads(self.pulumi("stack", "output", "--json").stdout)

    def resources(self):
        state = json.loads(self.pulumi("stack", "export").stdout)
        return [r for r in state["deployment"].get("resources", []) if r["type"].startswith("alicloud:")]
