"""Shared machinery of the end-to-end suite: the emulator process, prepared language runtimes, and stacks
driven through the real `pulumi` CLI with a local backend."""
import hashlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE_DIR = pathlib.Path(os.environ.get("CACHE_DIR", pathlib.Path.home() / ".cache/pulumi-alicloud-rs"))
TOOLS_BIN = pathlib.Path(os.environ.get("TOOLS_BIN", CACHE_DIR / "tools/v3.184.0/bin"))
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
PROGRAMS = pathlib.Path(__file__).resolve().parent / "programs"
NODE_PULUMI = "3.185.0"

# What the emulator's default seed holds, by the names emulator/src/seed.rs gives it.
SEED = json.loads((ROOT / "emulator" / "seed" / "names.json").read_text())
REGION = SEED["REGION"]
ACCESS_KEY = SEED["ACCESS_KEY_ID"]
SECRET_KEY = SEED["ACCESS_KEY_SECRET"]
IMAGE_1 = SEED["IMAGE_1"]
IMAGE_2 = SEED["IMAGE_2"]
ACCOUNT_A = SEED["OTHER_ACCOUNT"]
ACCOUNT_B = SEED["RECIPIENT"]
DESKTOP_1 = SEED["DESKTOP_1"]


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
        # The second line: the ECS instance metadata service, on a port of its own.
        self.metadata_url = self.proc.stdout.readline().strip()
        assert self.metadata_url.startswith("http://127.0.0.1:"), self.metadata_url
        self.holding = False

    def control(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_emulator/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                text = resp.read()
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{method} /_emulator/{path}: HTTP {err.code}: {err.read().decode(errors='replace')}") from None
        return json.loads(text) if text else None

    def fault(self, kind, action=None, **fields):
        """Adds a fault rule; `fields` are the rule's other members (count, latencyMs, code, httpStatus...)."""
        return self.control("POST", "faults", {"kind": kind, **({"action": action} if action else {}), **fields})

    def clear_faults(self):
        self.control("DELETE", "faults")

    def wait_calls(self, action, count, timeout_ms=120_000, running=None):
        """Blocks until `action` has been called `count` times since the last counter reset. With `running`
        (a Background), gives up as soon as that command has ended without the calls being made."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            step = timeout_ms if running is None else min(2000, timeout_ms)
            query = urllib.parse.urlencode({"action": action, "count": count, "timeoutMs": step})
            try:
                return self.control("GET", f"calls/wait?{query}", timeout=step / 1000 + 30)
            except AssertionError as err:
                if "HTTP 408" not in str(err):
                    raise
                if running is not None and running.proc.poll() is not None:
                    done = running.wait()
                    raise AssertionError(f"{action} was not called {count} times before the command ended "
                                         f"(exit {done.returncode}):\n{done.stdout}\n{done.stderr}") from None
                if running is None or time.monotonic() >= deadline:
                    raise

    def call_count(self, action):
        return self.calls().get(action, 0)

    def hold_images(self, hold=True):
        """While held, new ECD images stay `Creating` until released."""
        self.holding = self.holding or hold
        self.control("POST", "config", {"holdImages": hold})

    def release_images(self, image_id=None):
        body = {"regionId": REGION, "imageId": image_id} if image_id else {}
        return self.control("POST", "ecd/release-images", body)["released"]

    def shares(self):
        """Every share in the emulator, as `<imageId>:<accountId>` ids."""
        return {f"{i['imageId']}:{a}" for i in self.state()["ecsImages"] for a in i["sharedWith"]}

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
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def wait_until(self, what, predicate, timeout=120, running=None):
        """Looks at the emulator (`predicate()`, which reads its state) until it holds, for at most `timeout`
        seconds; with `running` (a Background), gives up as soon as that command has ended. `what` names the
        awaited condition in the failure."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if running is not None and running.proc.poll() is not None:
                done = running.wait()
                raise AssertionError(f"the command ended (exit {done.returncode}) before {what}:\n"
                                     f"{done.stdout}\n{done.stderr}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what}: not within {timeout} s; emulator state: {self.state()}")
            time.sleep(0.05)


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


# Type-checks a TypeScript project (cwd: its tsconfig.json, its files and node_modules) with the compiler the
# Pulumi Node.js runtime itself runs programs with (the one @pulumi/pulumi vendors, no other being installed),
# and prints the errors.
TYPECHECK_JS = r"""
const path = require("path");
const vendor = path.join(path.dirname(require.resolve("@pulumi/pulumi/package.json")), "vendor");
const ts = require(path.join(vendor, require("fs").readdirSync(vendor).find(d => d.startsWith("typescript@")), "typescript.js"));
const config = ts.readConfigFile("tsconfig.json", ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, process.cwd());
const program = ts.createProgram(parsed.fileNames, parsed.options);
// As the runtime's ts-node does: the program's own files, not every declaration file they pull in.
const errors = (config.error ? [config.error] : []).concat(...parsed.fileNames.map(f => {
    const file = program.getSourceFile(f);
    return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
}));
for (const d of errors.slice(0, 40)) {
    const where = d.file ? `${d.file.fileName}(${d.file.getLineAndCharacterOfPosition(d.start).line + 1}): ` : "";
    console.log(where + ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}
process.exit(errors.length ? 1 : 0);
"""


def typecheck_once(runtime, project):
    """Type-checks the TypeScript program in `project` the first time the runtime sees its sources: later runs
    of the same program are transpiled only (PULUMI_NODEJS_TRANSPILE_ONLY), so each program's types are
    checked once rather than at the first `pulumi` command of every stack (about 4 s each)."""
    key = hashlib.sha256(b"".join(
        f.name.encode() + b"\0" + f.read_bytes() for f in sorted(project.iterdir())
        if f.suffix in (".ts", ".json") and f.is_file())).hexdigest()
    checked = runtime.__dict__.setdefault("checked", set())
    if key not in checked:
        result = run(["node", "-e", TYPECHECK_JS], cwd=project, check=False)
        assert result.returncode == 0, f"the program in {project} does not type-check:\n{result.stdout}{result.stderr}"
        checked.add(key)


def _go_runtime(work):
    env = dict(os.environ, GOFLAGS="-mod=readonly", GONOSUMDB="github.com/pulumi", GOTOOLCHAIN="local")

    def build(source):
        binary = work / f"{source.name}-program"
        if not binary.exists():
            run(["go", "build", "-o", binary, "."], cwd=source, env=env)
        return {"name": "go", "options": {"binary": str(binary)}}, []

    return build


def _dotnet_runtime(work):
    # No .NET SDK here: a C# project serves only what needs no `dotnet`, the host's code generation. With
    # `binary` (a prebuilt program, never run here) the host asks no `dotnet` for the project's packages.
    return lambda source: ({"name": "dotnet", "options": {"binary": "bin/program"}}, [])


def _yaml_runtime(work):
    # YAML needs no SDK: the host reads the provider's schema (GetSchema) to resolve types and functions.
    return lambda source: ({"name": "yaml"}, [])


RUNTIMES = {"python": _python_runtime, "typescript": _typescript_runtime, "go": _go_runtime,
            "dotnet": _dotnet_runtime, "yaml": _yaml_runtime}

# The file each language's program lives in. A YAML program may also be the project file itself (as in
# examples/): the host reads Main.yaml first, then Pulumi.yaml.
MAIN_FILE = {"python": "__main__.py", "typescript": "index.ts", "go": "main.go", "dotnet": "Program.cs",
             "yaml": "Main.yaml"}


def program_from(language, code, base):
    """A program directory (for `Stack.use_program`) whose main file is `code`, with the project files the
    language's end-to-end program has (package.json and tsconfig.json; go.mod and go.sum, the SDK's
    `replace` made absolute)."""
    source = pathlib.Path(tempfile.mkdtemp(prefix=f"program-{language}-", dir=base))
    (source / MAIN_FILE[language]).write_text(code)
    if language == "typescript":
        for name in ("package.json", "tsconfig.json"):
            shutil.copy(PROGRAMS / "typescript" / name, source / name)
    if language == "go":
        mod = (PROGRAMS / "go/go.mod").read_text()
        relative = "../../../../sdk/go"
        assert f"=> {relative}" in mod, mod
        (source / "go.mod").write_text(mod.replace(f"=> {relative}", f"=> {ROOT / 'sdk/go'}"))
        shutil.copy(PROGRAMS / "go/go.sum", source / "go.sum")
    return source


class Runtime:
    """One language, prepared once per session."""

    def __init__(self, language, work):
        self.language = language
        work.mkdir(parents=True, exist_ok=True)
        self.project = RUNTIMES[language](work)


CREDENTIAL_VARIABLES = ("ALIBABA_CLOUD_", "ALICLOUD_")


class Stack:
    """A project directory with one stack on a local backend, configured for the emulator.

    `keys=False` leaves the AccessKey pair out of the stack config, `region=False` the region. `isolated=True`
    gives the commands a HOME of their own (empty: no `~/.aliyun` nor `~/.alibabacloud` of the machine) and
    drops every `ALIBABA_CLOUD_*` / `ALICLOUD_*` variable, so that credentials come only from what a test
    puts there."""

    def __init__(self, runtime, emulator, base, source=None, keys=True, region=True, isolated=False):
        source = source or PROGRAMS / runtime.language
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"e2e-{source.name}-", dir=base))
        self.emulator = emulator
        self.runtime = runtime
        # The project's name is the first program's: the stack belongs to the project of that name.
        self.name = source.name
        self.project = self.dir / "project"
        self.project.mkdir()
        self.use_program(source)
        (self.dir / "state").mkdir()
        self.env = dict(
            os.environ,
            PATH=f"{TOOLS_BIN}:{os.environ['PATH']}",
            PULUMI_HOME=str(self.dir / "home"),
            PULUMI_BACKEND_URL=f"file://{self.dir / 'state'}",
            PULUMI_CONFIG_PASSPHRASE="",
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        )
        if runtime.language == "typescript":
            # `use_program` has type-checked the program already.
            self.env["PULUMI_NODEJS_TRANSPILE_ONLY"] = "true"
        self.home = None
        if isolated:
            self.home = self.dir / "user-home"
            self.home.mkdir()
            for name in [n for n in self.env if n.startswith(CREDENTIAL_VARIABLES)]:
                del self.env[name]
            self.env["HOME"] = str(self.home)
        self.pulumi("stack", "init", "e2e")
        # One `config set-all` rather than a CLI run per key: each run costs about 0.3 s, on every test.
        settings = [f"alicloud:endpoints.{service}={emulator.url}" for service in ("ecs", "ecd")]
        if region:
            settings.append(f"alicloud:region={REGION}")
        if keys:
            settings.append(f"alicloud:accessKey={ACCESS_KEY}")
        args = [arg for setting in settings for arg in ("--plaintext", setting)]
        if keys:
            args += ["--secret", f"alicloud:secretKey={SECRET_KEY}"]
        self.pulumi("config", "set-all", "--path", *args)

    def use_program(self, source):
        """Makes the program in directory `source` the project's, in place of the one it had; the stack, its
        config and its state stay. For Go, `source` holds a `go.mod` (its `replace` of the SDK relative to
        `source`)."""
        runtime_spec, links = self.runtime.project(source)
        for old in self.project.iterdir():
            # The stack's config, Pulumi.<stack>.yaml, stays.
            if (old.is_symlink() or old.is_file()) and not old.name.startswith("Pulumi."):
                old.unlink()
        for src in source.iterdir():
            if src.is_file() and src.name not in ("Pulumi.yaml", "go.mod", "go.sum"):
                shutil.copy(src, self.project / src.name)
        for src in links:
            (self.project / src.name).symlink_to(src)
        if self.runtime.language == "yaml" and not (source / "Main.yaml").exists() and (source / "Pulumi.yaml").exists():
            # The program is the source's project file itself (as in examples/); the host reads Main.yaml
            # before Pulumi.yaml, which here names the stack's project and points at the provider. With
            # neither, the program is empty.
            shutil.copy(source / "Pulumi.yaml", self.project / "Main.yaml")
        (self.project / "Pulumi.yaml").write_text(json.dumps({
            "name": self.name,
            "runtime": runtime_spec,
            "plugins": {"providers": [{"name": "alicloud", "path": str(TARGET)}]},
        }))
        if self.runtime.language == "typescript":
            typecheck_once(self.runtime, self.project)

    def pulumi(self, *args, check=True, timeout=600):
        return run([TOOLS_BIN / "pulumi", *args], cwd=self.project, env=self.env, check=check, timeout=timeout)

    def start(self, *args):
        """Starts `pulumi <args>` in the background, in a session and process group of its own."""
        return Background([TOOLS_BIN / "pulumi", *args], cwd=self.project, env=dict(self.env), logs=self.dir)

    def configure(self, **values):
        """Sets the program's config values (plain text, keys taken literally); `None` removes a key."""
        removed = [key for key, value in values.items() if value is None]
        settings = [arg for key, value in values.items() if value is not None for arg in ("--plaintext", f"{key}={value}")]
        for key in removed:
            self.pulumi("config", "rm", key, check=False)
        if settings:
            self.pulumi("config", "set-all", *settings)

    def use_environment_credentials(self, key_id=ACCESS_KEY, secret=SECRET_KEY):
        """Drops the keys from the stack config: the provider must take them from the environment."""
        self.pulumi("config", "rm", "alicloud:accessKey")
        self.pulumi("config", "rm", "alicloud:secretKey")
        self.set_environment_credentials(key_id, secret)

    def set_environment_credentials(self, key_id, secret):
        self.env.update(ALIBABA_CLOUD_ACCESS_KEY_ID=key_id, ALIBABA_CLOUD_ACCESS_KEY_SECRET=secret)

    def write_cli_profiles(self, profiles, current=None):
        """Writes the Alibaba Cloud CLI's profile file, `~/.aliyun/config.json`, into the stack's own HOME
        (`isolated=True`); `profiles` are the file's profile objects."""
        assert self.home is not None, "only an isolated stack has a HOME of its own"
        path = self.home / ".aliyun" / "config.json"
        path.parent.mkdir(exist_ok=True)
        document = {"profiles": profiles, **({"current": current} if current else {})}
        path.write_text(json.dumps(document, indent=2))
        path.chmod(0o600)
        return path

    def up(self, *extra, check=True, timeout=600):
        return self.pulumi("up", "--yes", "--skip-preview", "--non-interactive", *extra, check=check, timeout=timeout)

    def preview(self, *extra, check=True):
        return self.pulumi("preview", "--non-interactive", *extra, check=check)

    def refresh(self, *extra, check=True, timeout=600):
        return self.pulumi("refresh", "--yes", "--skip-preview", "--non-interactive", *extra, check=check, timeout=timeout)

    def destroy(self, *extra, check=True, timeout=600):
        return self.pulumi("destroy", "--yes", "--skip-preview", "--non-interactive", *extra, check=check, timeout=timeout)

    def outputs(self):
        return json.loads(self.pulumi("stack", "output", "--json").stdout)

    def export(self, show_secrets=False):
        """The whole checkpoint, as `pulumi stack export` prints it."""
        return json.loads(self.pulumi("stack", "export", *(["--show-secrets"] if show_secrets else [])).stdout)

    def resources(self, show_secrets=False):
        state = self.export(show_secrets)
        return [r for r in state["deployment"].get("resources", []) if r["type"].startswith("alicloud:")]


SHARE_TYPE = "alicloud:ecs:ImageSharePermission"
IMAGE_TYPE = "alicloud:ecd:Image"


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def plain(value):
    """A value from `pulumi stack export --show-secrets`, its secret wrapper (if any) removed."""
    if isinstance(value, dict) and SECRET_SIG in value and "plaintext" in value:
        return json.loads(value["plaintext"])
    return value


def tracked(stack):
    """What the stack's state says exists: share ids, and image id -> (name, description)."""
    resources = stack.resources(show_secrets=True)
    shares = [r["id"] for r in resources if r["type"] == SHARE_TYPE]
    images = [(r["id"], (plain(r.get("outputs", {}).get("imageName")),
                         plain(r.get("outputs", {}).get("description")) or None))
              for r in resources if r["type"] == IMAGE_TYPE]
    assert len(set(shares)) == len(shares), f"a share is tracked twice: {shares}"
    assert len(dict(images)) == len(images), f"an image is tracked twice: {images}"
    return set(shares), dict(images)


def in_cloud(emulator):
    """What the emulator holds, in the same form as `tracked`."""
    state = emulator.state()
    shares = {f"{i['imageId']}:{a}" for i in state["ecsImages"] for a in i["sharedWith"]}
    images = {i["imageId"]: (i.get("name") or None, i.get("description") or None) for i in state["ecdImages"]}
    return shares, images


def assert_consistent(stack, emulator):
    """The emulator holds exactly what the stack's state tracks: nothing untracked, nothing tracked that is
    gone, with the same names and descriptions."""
    state_shares, state_images = tracked(stack)
    cloud_shares, cloud_images = in_cloud(emulator)
    assert state_shares == cloud_shares, f"shares: state {sorted(state_shares)} != emulator {sorted(cloud_shares)}"
    assert state_images == cloud_images, f"images: state {state_images} != emulator {cloud_images}"
    return state_shares, state_images


def _children():
    """Parent pid -> child pids, from /proc."""
    tree = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        pid, rest = text.split(" ", 1)
        ppid = int(rest.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(pid))
    return tree


class Background:
    """A command running in a session of its own, its output going to files."""

    def __init__(self, cmd, cwd, env, logs):
        fd, name = tempfile.mkstemp(prefix="background-", dir=logs)
        os.close(fd)
        self.out_path, self.err_path = pathlib.Path(f"{name}.out"), pathlib.Path(f"{name}.err")
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def interrupt(self):
        """One SIGINT to the `pulumi` process, as one Ctrl-C at a terminal: the CLI cancels the operation
        (the engine sends Cancel to the providers and waits for the steps in flight); a second would make it
        terminate at once."""
        os.kill(self.proc.pid, signal.SIGINT)

    def descendants(self):
        tree, found, todo = _children(), [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(tree.get(pid, []))
        return found

    def kill(self):
        """SIGKILLs the command and every process below it (the engine starts plugins in process groups of
        their own, so the group alone is not enough). The tree is stopped first so that nothing can react
        to the death of another part before its own."""
        stopped = set()
        while True:
            pids = [p for p in self.descendants() if p not in stopped]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGSTOP)
                except ProcessLookupError:
                    pass
                stopped.add(pid)
        groups = set()
        for pid in stopped:
            try:
                groups.add(os.getpgid(pid))
            except ProcessLookupError:
                pass
        for pgid in groups:
            if pgid != os.getpgid(0):
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        for pid in stopped:
            while pathlib.Path(f"/proc/{pid}").exists() and _state(pid) not in ("Z", None):
                assert time.monotonic() < deadline, f"process {pid} survived SIGKILL"
                time.sleep(0.05)
        return stopped

    def wait(self, timeout=600):
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return subprocess.CompletedProcess(self.proc.args, code, self.out_path.read_text(), self.err_path.read_text())


def _state(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None
