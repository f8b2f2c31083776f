#!/usr/bin/env python3
"""Measures the provider in one run, prints one table, writes it as JSON and exits 1 when a target is missed.

Rows (each with its target):
- the release binary: start-to-port (median of 30 starts), idle RSS, size;
- the provider's RSS right after Configure with a bridged-shaped configuration (target ≤ 6 MB);
- the provider's RSS at the end of a `pulumi up` of 50 shares (the engine attaches to a provider this script
  started, through PULUMI_DEBUG_PROVIDERS, so the process outlives the update and can be read);
- gRPC round trips on one connection: GetSchema, Check of an `alicloud:ecd:Image` with a 250-character
  description, Diff (median and p99);
- Alibaba API calls, from the emulator's counters, for `pulumi up`, `pulumi refresh` and `pulumi destroy` of
  50 shares of one image, with the CLI's default `--parallel` (target: the fewest calls the engine's
  in-flight limit allows, see `floor_targets`) and with `--parallel 50` (targets ≤ 6 / 2 / 6), and of 500
  shares over ten images (50 each) with the default (reported, no target);
- the same 500 accounts as ten `ImageShareList`s: calls for up / refresh / destroy (targets ≤ 60 / 10 / 60),
  and `pulumi up` wall time beside the 500 per-account shares (target: at least 10× faster);
- `pulumi up` wall time for 50 shares with the emulator answering at once and with 50 ms added to every call;
- 500 shares over ten images at the default `--parallel`: wall time and calls of up, refresh, destroy and destroy
  with PULUMI_SKIP_CHECKPOINTS=true, batched beside one call per resource (PULUMI_ALICLOUD_SHARE_BATCHING=off);
- the emulator's own loopback benchmark (`cargo bench -p alicloud-emulator --bench loopback`).

Every `pulumi` command runs with a fresh PULUMI_HOME and a file backend in a temporary directory, the plugin
path in Pulumi.yaml pointing at the release build, and the Python SDK from sdk/python installed into a cached
virtualenv (tools/venv.sh). A stage that fails is reported as a missed row and the others still run.

Environment: BENCH_REPEATS (default 3) `pulumi up` runs per latency for the wall-time rows (the median is
reported); BENCH_RPC_CALLS (default 300) calls per RPC; BENCH_LOOPBACK=0 skips the emulator loopback rows.
"""
import argparse
import json
import math
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from datetime import datetime, timezone

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET_DIR = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
_RUSTC = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True, cwd=ROOT).stdout
RUSTC_VERSION = _RUSTC.splitlines()[0]
HOST = re.search(r"^host: (\S+)$", _RUSTC, re.M).group(1)
# The plugin as `make dist` builds it: for the named host triple, so that its symbols are those
# provider/symbol-order.txt lists (see tests/bench/symbol_order.py).
PROVIDER = TARGET_DIR / HOST / "release" / "pulumi-resource-alicloud"
EMULATOR = TARGET_DIR / "release" / "alicloud-emulator"
RESULTS = TARGET_DIR / "bench" / "results.json"
REQUIREMENTS = ROOT / "tests" / "bench" / "requirements.txt"

# What the emulator's default seed holds, by the names emulator/src/seed.rs gives it.
SEED = json.loads((ROOT / "emulator" / "seed" / "names.json").read_text())
REGION = SEED["REGION"]
ACCESS_KEY = (SEED["ACCESS_KEY_ID"], SEED["ACCESS_KEY_SECRET"])
OWNER = SEED["OWNER"]
DESKTOP = SEED["DESKTOP_1"]
# 50 shares of one image: the seed's image and the 50 recipients the seed lists for it.
ONE_IMAGE = [SEED["IMAGE_1"]]
ONE_BASE = int(SEED["FIRST_OF_FIFTY_RECIPIENTS"])
# 500 shares: ten more images of the same owner, each shared with 50 accounts registered for the run.
MANY_IMAGES = [f"m-bp1benchimage{k:06d}" for k in range(1, 11)]
MANY_BASE = 3_100_000_000_000_000
PER_IMAGE = 50
LATENCY_MS = 50

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
RPC_CALLS = int(os.environ.get("BENCH_RPC_CALLS", "300"))
RPC_WARMUP = 20
COMMAND_TIMEOUT = 900


def pulumi_bin():
    tools = os.environ.get("TOOLS_BIN")
    if not tools:
        version = re.search(r"^PULUMI_VERSION := (\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)
        cache = os.environ.get("CACHE_DIR") or pathlib.Path(
            os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "pulumi-alicloud-rs"
        tools = pathlib.Path(cache) / "tools" / version / "bin"
    return pathlib.Path(tools) / "pulumi"


def bench_venv():
    out = subprocess.run([ROOT / "tools" / "venv.sh", "bench", REQUIREMENTS], check=True, capture_output=True,
                         text=True)
    return pathlib.Path(out.stdout.strip())


def ensure_venv(script=__file__):
    """Re-runs `script` (this one by default) with the benchmark virtualenv's Python (the gRPC stubs come
    from its wheel)."""
    venv = bench_venv()
    if pathlib.Path(sys.prefix).resolve() != venv.resolve():
        os.execv(venv / "bin" / "python", [str(venv / "bin" / "python"), str(script), *sys.argv[1:]])
    return venv


# ---------------------------------------------------------------------------------------------------------
# Results


class Table:
    def __init__(self):
        self.rows = []
        self.raw = {}

    def add(self, measure, value, target="", ok=None):
        """ok: True/False against the target, None when the row only reports."""
        self.rows.append({"measure": measure, "value": value, "target": target, "ok": ok})

    def error(self, measure, target, err):
        self.add(measure, f"error: {err}", target, False)

    def missed(self):
        return [r for r in self.rows if r["ok"] is False]


def ok_mark(ok):
    return "" if ok is None else ("yes" if ok else "**no**")


def render(rows):
    lines = ["| measure | value | target | ok? |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['measure']} | {r['value']} | {r['target']} | {ok_mark(r['ok'])} |")
    return "\n".join(lines)


def machine():
    model = ""
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model or "unknown CPU"}


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def fmt_count(n):
    return f"{n:,}"


# ---------------------------------------------------------------------------------------------------------
# Processes


def rss_mb(pid, field="VmRSS"):
    """In MB (10^6 bytes), as the targets are stated; /proc counts in KiB."""
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) * 1024 / 1e6


class Provider:
    """The release provider, started by this script (under `wrapper`, a command that runs the one after it,
    when given); its port is the first line of its stdout."""

    def __init__(self, env=None, wrapper=()):
        self.proc = subprocess.Popen([*wrapper, PROVIDER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env)
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"the provider printed {line!r} instead of its port")
        self.port = int(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Emulator:
    def __init__(self):
        self.proc = subprocess.Popen([EMULATOR, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the emulator printed {self.url!r} instead of its URL")

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_emulator/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def prepare(self, seed, accounts, latency_ms=0):
        """Back to the benchmark seed: no shares, zeroed counters, no faults; then the extra accounts exist."""
        self.call("POST", "seed", seed)
        self.call("POST", "accounts", {"accountIds": accounts})
        if latency_ms:
            self.call("POST", "faults", {"kind": "latency", "latencyMs": latency_ms, "count": 100000})

    def calls(self):
        return self.call("GET", "calls")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def bench_seed():
    seed = json.loads((ROOT / "emulator" / "seed" / "default.json").read_text())
    seed["ecsImages"] = list(seed["ecsImages"]) + [
        {"regionId": REGION, "imageId": image, "ownerId": OWNER, "sharedWith": []} for image in MANY_IMAGES
    ]
    return seed


def many_accounts():
    return [str(MANY_BASE + 1000 * k + i) for k in range(len(MANY_IMAGES)) for i in range(PER_IMAGE)]


# ---------------------------------------------------------------------------------------------------------
# Stages


def stage_process(table):
    """Start-to-port (median of 30), idle RSS one second after start, release binary size."""
    try:
        times, idle = [], None
        for _ in range(30):
            t0 = time.perf_counter()
            provider = Provider()
            times.append((time.perf_counter() - t0) * 1000)
            if idle is None:
                time.sleep(1.0)
                idle = rss_mb(provider.proc.pid)
            provider.stop()
        median = statistics.median(times)
        table.raw["startToPortMs"] = times
        table.add("provider start-to-port, median of 30 (max)", f"{median:.2f} ms ({max(times):.2f} ms)",
                  "≤ 5 ms", median <= 5)
        table.add("provider idle RSS", f"{idle:.1f} MB", "≤ 10 MB", idle <= 10)
    except Exception as err:  # noqa: BLE001 - reported as a missed row
        table.error("provider start-to-port, median of 30", "≤ 5 ms", err)
        table.error("provider idle RSS", "≤ 10 MB", err)
    size = PROVIDER.stat().st_size / 1e6
    table.add("provider release binary size", f"{size:.1f} MB", "≤ 15 MB", size <= 15)


def bridged_config(host):
    """A configuration in the bridged provider's shape: the list form of `endpoints` with bare `host:port`
    values, timeouts as numbers, and keys this provider ignores."""
    return {
        "region": REGION, "accessKey": ACCESS_KEY[0], "secretKey": ACCESS_KEY[1], "protocol": "HTTP",
        "endpoints": [{"ecs": host, "ecd": host, "sts": host, "oss": "oss-cn-hangzhou-internal.aliyuncs.com",
                       "vpc": "vpc-vpc.cn-hangzhou.aliyuncs.com", "ram": "ram.aliyuncs.com"}],
        "accountType": "Domestic", "maxRetryTimeout": 60, "clientReadTimeout": 30000,
        "clientConnectTimeout": 5000, "accountId": OWNER, "skipRegionValidation": True,
        "sourceIp": "192.0.2.10", "secureTransport": "true", "fc": "fc.cn-hangzhou.aliyuncs.com",
    }


def stage_symbol_order(table):
    """How many of the functions provider/symbol-order.txt lists the plugin has under those names: the names
    carry hashes of the toolchain, target, profile and dependency versions, and a name that changed leaves
    its function out of the layout the RSS rows count on."""
    label = "provider/symbol-order.txt: listed functions the plugin has (else `make symbol-order`)"
    target = "≥ 95%"
    try:
        listed = {line for line in (ROOT / "provider" / "symbol-order.txt").read_text().splitlines()
                  if line and not line.startswith("#")}
        out = subprocess.run(["nm", PROVIDER], check=True, capture_output=True, text=True).stdout
        found = listed & {line.split()[-1] for line in out.splitlines() if line.strip()}
        share = len(found) / len(listed)
        table.raw["symbolOrder"] = {"listed": len(listed), "found": len(found)}
        table.add(label, f"{len(found):,} of {len(listed):,} ({share:.0%})", target, share >= 0.95)
    except Exception as err:  # noqa: BLE001 - reported as a missed row
        table.error(label, target, err)


def stage_configure(table):
    """RSS right after Configure with a bridged-shaped configuration: what a stack costs before any call."""
    import grpc
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    label, target = "provider RSS after Configure (bridged-shaped config)", "≤ 6 MB"
    provider = Provider()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{provider.port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            before = rss_mb(provider.proc.pid)
            args = struct_pb2.Struct()
            # Configure makes no call: the endpoint need not answer.
            args.update(bridged_config("127.0.0.1:9"))
            answer = stub.Configure(provider_pb2.ConfigureRequest(args=args, acceptSecrets=True,
                                                                  acceptResources=True), timeout=10)
            if not answer.acceptSecrets:
                raise RuntimeError(f"unexpected answer to Configure: {answer}")
            time.sleep(0.5)
            after = rss_mb(provider.proc.pid)
        table.raw["rssAroundConfigureMb"] = {"before": before, "after": after}
        table.add(label, f"{after:.1f} MB (before: {before:.1f} MB)", target, after <= 6)
    except Exception as err:  # noqa: BLE001 - reported as a missed row
        table.error(label, target, err)
    finally:
        provider.stop()


def stage_rpc(table):
    """Round trips of GetSchema, Check and Diff, one after another on one gRPC connection."""
    import grpc
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    def struct(d):
        s = struct_pb2.Struct()
        s.update(d)
        return s

    urn = "urn:pulumi:bench::alicloud-bench::alicloud:ecd:Image::golden"
    description = ("Golden desktop image for the benchmark. " * 7)[:250]
    inputs = {"desktopId": DESKTOP, "imageName": "golden-desktop", "description": description}
    changed = dict(inputs, description=description[:-1] + "!")
    outputs = dict(inputs, status="Available")
    requests = {
        "GetSchema": ("GetSchema", provider_pb2.GetSchemaRequest(),
                      lambda r: len(r.schema) > 1000),
        "Check": ("Check", provider_pb2.CheckRequest(urn=urn, olds=struct({}), news=struct(inputs),
                                                     name="golden", type="alicloud:ecd:Image"),
                  lambda r: not r.failures and r.inputs["description"] == description),
        "Diff": ("Diff", provider_pb2.DiffRequest(id="m-bp1goldenimage000001", urn=urn, olds=struct(outputs),
                                                  news=struct(changed), old_inputs=struct(inputs),
                                                  name="golden", type="alicloud:ecd:Image"),
                 lambda r: r.changes == provider_pb2.DiffResponse.DIFF_SOME and "description" in r.diffs),
    }
    provider = Provider()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{provider.port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            for name, (method, request, valid) in requests.items():
                label = f"RPC round trip, one connection: {name}" + (
                    " (ecd:Image, 250-character description)" if name == "Check" else "")
                label += f", median / p99 of {RPC_CALLS}"
                try:
                    call = getattr(stub, method)
                    answer = call(request, timeout=10)
                    if not valid(answer):
                        raise RuntimeError(f"unexpected answer to {name}: {str(answer)[:200]}")
                    for _ in range(RPC_WARMUP):
                        call(request, timeout=10)
                    times = []
                    for _ in range(RPC_CALLS):
                        t0 = time.perf_counter_ns()
                        call(request, timeout=10)
                        times.append((time.perf_counter_ns() - t0) / 1e6)
                    median, p99 = statistics.median(times), percentile(times, 99)
                    table.raw[f"rpc{name}Ms"] = times
                    # A round trip of 30 ms on loopback is a stall (Nagle's algorithm against the engine's
                    # delayed ACK holds a two-segment answer ~40 ms), not load.
                    table.add(label, f"{median:.3f} ms / {p99:.3f} ms (max {max(times):.1f} ms)",
                              "median ≤ 1 ms, none ≥ 30 ms", median <= 1 and max(times) < 30)
                except Exception as err:  # noqa: BLE001
                    table.error(label, "median ≤ 1 ms, none ≥ 30 ms", err)
    finally:
        provider.stop()


class Project:
    """The benchmark program in a temporary directory, with its own PULUMI_HOME and file backend."""

    def __init__(self, work, venv, emulator_url):
        self.dir = work / "program"
        self.venv = venv
        shutil.copytree(ROOT / "tests" / "bench" / "program", self.dir)
        self.no_provider = work / "no-provider"
        self.no_provider.mkdir()
        self.plugin_dir(PROVIDER.parent)
        (work / "state").mkdir()
        self.pulumi = pulumi_bin()
        self.env = dict(os.environ, PULUMI_HOME=str(work / "home"), PULUMI_BACKEND_URL=f"file://{work / 'state'}",
                        PULUMI_CONFIG_PASSPHRASE="", PULUMI_SKIP_UPDATE_CHECK="true",
                        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
                        PATH=f"{self.pulumi.parent}:{os.environ['PATH']}")
        for name in ("PULUMI_DEBUG_PROVIDERS", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE_FILE",
                     "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_REGION_ID",
                     "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_REGION"):
            self.env.pop(name, None)
        self.emulator_url = emulator_url

    def plugin_dir(self, path):
        """Where the engine finds the provider binary."""
        (self.dir / "Pulumi.yaml").write_text(
            "name: alicloud-bench\n"
            f"runtime:\n  name: python\n  options:\n    virtualenv: {self.venv}\n"
            f"plugins:\n  providers:\n    - name: alicloud\n      path: {path}\n"
        )

    def run(self, *args, env=None):
        """Runs one pulumi command; returns its wall time in seconds."""
        t0 = time.perf_counter()
        proc = subprocess.run([self.pulumi, *args, "--non-interactive"], cwd=self.dir, env=env or self.env,
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise RuntimeError(f"pulumi {' '.join(args)} exited {proc.returncode}:\n{tail}")
        return elapsed

    def stack(self, name, images, base):
        self.run("stack", "init", name)
        settings = [("alicloud:region", REGION), ("alicloud:accessKey", ACCESS_KEY[0]),
                    ("imageIds", ",".join(images)), ("sharesPerImage", str(PER_IMAGE)), ("accountBase", str(base))]
        for key, value in settings:
            self.run("config", "set", "--stack", name, key, value)
        self.run("config", "set", "--stack", name, "--secret", "alicloud:secretKey", ACCESS_KEY[1])
        for service in ("ecs", "ecd"):
            self.run("config", "set", "--stack", name, "--path", f"alicloud:endpoints.{service}", self.emulator_url)

    def up(self, stack, *extra, env=None):
        return self.run("up", "--stack", stack, "--yes", "--skip-preview", *extra, env=env)

    def refresh(self, stack, *extra, env=None):
        return self.run("refresh", "--stack", stack, "--yes", "--skip-preview", *extra, env=env)

    def destroy(self, stack, *extra, env=None):
        return self.run("destroy", "--stack", stack, "--yes", "--skip-preview", *extra, env=env)


def call_detail(calls):
    by = calls.get("byAction", {})
    return ", ".join(f"{action} {n}" for action, n in sorted(by.items()))


def default_parallel():
    """The CLI's default `--parallel`: 4 × the CPUs it may run on (pulumi v3.184.0, `defaultParallel`)."""
    return 4 * len(os.sched_getaffinity(0))


def floor_targets(shares, parallel):
    """The fewest calls any provider can make when the engine has at most `parallel` operations in flight:
    each wave of creates needs one walk (the check that no account already has the share) and one add per
    10 accounts; each wave of reads one walk; each wave of deletes one removal per 10 accounts."""
    in_flight = min(parallel, shares)
    waves = math.ceil(shares / in_flight)
    per_wave = math.ceil(in_flight / 10)
    return {"create": waves * (1 + per_wave), "refresh": waves, "destroy": waves * per_wave}


def measure_calls(table, project, emulator, stack, label, targets, extra=(), env=None, after_up=None):
    """create / refresh / destroy of `stack`, counting the emulator's calls for each. `targets` maps each
    operation to its most calls, or is None when the rows only report."""
    ops = [("create", project.up), ("refresh", project.refresh), ("destroy", project.destroy)]
    for op, run in ops:
        measure = f"Alibaba API calls, {label}: {op}"
        target = f"≤ {targets[op]}" if targets else ""
        try:
            emulator.call("POST", "calls/reset")
            run(stack, *extra, env=env)
            calls = emulator.calls()
            if op == "create" and after_up:
                after_up()
            total = calls["total"]
            table.raw[f"calls {label} {op}"] = calls
            table.add(measure, f"{fmt_count(total)} ({call_detail(calls)})", target,
                      total <= targets[op] if targets else None)
        except Exception as err:  # noqa: BLE001
            table.error(measure, target, err)
            if op == "create" and after_up:
                table.error("provider RSS after 50 creates (end of `pulumi up`)", "≤ 20 MB", "no update")
            # The stack may hold shares the next stage does not expect: leave it for good.
            return False
    return True


def stage_cli(table, project, emulator, seed):
    accounts = many_accounts()

    # 50 shares of one image, on a provider started here that the engine attaches to, so its memory can be
    # read once the update is over. Meanwhile the plugin path names a directory without the binary: an engine
    # that launched a provider of its own instead of attaching would fail.
    project.stack("one", ONE_IMAGE, ONE_BASE)
    emulator.prepare(seed, accounts)
    provider = Provider(env=project.env)
    env = dict(project.env, PULUMI_DEBUG_PROVIDERS=f"alicloud:{provider.port}")
    project.plugin_dir(project.no_provider)

    def read_rss():
        rss, peak = rss_mb(provider.proc.pid), rss_mb(provider.proc.pid, "VmHWM")
        table.raw["rssAfterCreatesMb"] = {"VmRSS": rss, "VmHWM": peak}
        table.add("provider RSS after 50 creates, end of `pulumi up` (peak)", f"{rss:.1f} MB ({peak:.1f} MB)",
                  "≤ 20 MB", rss <= 20)

    parallel = default_parallel()
    try:
        one_ok = measure_calls(table, project, emulator, "one",
                               f"50 shares of one image, default `--parallel` ({parallel} here)",
                               floor_targets(PER_IMAGE, parallel), env=env, after_up=read_rss)
    finally:
        provider.stop()
        project.plugin_dir(PROVIDER.parent)

    # The same with every operation in flight at once: the targets.
    full_label = f"50 shares of one image, `--parallel {PER_IMAGE}`"
    full_targets = {"create": 6, "refresh": 2, "destroy": 6}
    if one_ok:
        emulator.prepare(seed, accounts)
        one_ok = measure_calls(table, project, emulator, "one", full_label, full_targets,
                               extra=("--parallel", str(PER_IMAGE)))
    else:
        for op, target in full_targets.items():
            table.error(f"Alibaba API calls, {full_label}: {op}", f"≤ {target}",
                        "the 50-share stack was left in an unknown state")

    # `pulumi up` wall time, 50 shares, with the emulator answering at once and 50 ms later; runs alternate.
    walls = {0: [], LATENCY_MS: []}
    wall_error = None if one_ok else "the 50-share stack was left in an unknown state"
    if wall_error is None:
        try:
            for _ in range(REPEATS):
                for latency in (0, LATENCY_MS):
                    emulator.prepare(seed, accounts, latency)
                    walls[latency].append(project.up("one"))
                    emulator.call("DELETE", "faults")
                    project.destroy("one")
        except Exception as err:  # noqa: BLE001
            wall_error = err
    table.raw["upWallSeconds"] = {str(k): v for k, v in walls.items()}
    fast_label = f"`pulumi up` wall time, 50 shares, emulator +0 ms (median of {REPEATS})"
    slow_label = f"`pulumi up` wall time, 50 shares, emulator +{LATENCY_MS} ms per call (median of {REPEATS})"
    if wall_error is None:
        fast, slow = statistics.median(walls[0]), statistics.median(walls[LATENCY_MS])
        table.add(fast_label, f"{fast:.2f} s", "", None)
        table.add(slow_label, f"{slow:.2f} s ({slow / fast:.2f}× the +0 ms case)", "≤ 2× the +0 ms case",
                  slow <= 2 * fast)
    else:
        table.error(fast_label, "", wall_error)
        table.error(slow_label, "≤ 2× the +0 ms case", wall_error)

    # 500 shares over ten images, 50 each, through an ordinarily launched provider.
    project.stack("many", MANY_IMAGES, MANY_BASE)
    emulator.prepare(seed, accounts)
    # The engine starts operations ever more slowly as the stack grows (it saves the state after each), so
    # they reach the provider too far apart to share calls: these rows report, with no target.
    measure_calls(table, project, emulator, "many", f"500 shares of 10 images, default `--parallel` ({parallel})",
                  None)


BATCH_OPS = ["up", "refresh", "destroy", "destroy, PULUMI_SKIP_CHECKPOINTS=true"]
# The provider's switch for one call per resource: every share operation makes its own calls, concurrently.
UNBATCHED = {"PULUMI_ALICLOUD_SHARE_BATCHING": "off"}


def batching_runs(project, emulator, seed, stack, env):
    """One round on `stack`: up, refresh, destroy, then up again and destroy with PULUMI_SKIP_CHECKPOINTS=true.
    Returns {op: (seconds, calls)}."""
    skip = dict(env, PULUMI_SKIP_CHECKPOINTS="true")
    steps = [("up", project.up, env), ("refresh", project.refresh, env), ("destroy", project.destroy, env),
             (None, project.up, env), (BATCH_OPS[3], project.destroy, skip)]
    emulator.prepare(seed, many_accounts())
    measured = {}
    for op, run, run_env in steps:
        emulator.call("POST", "calls/reset")
        seconds = run(stack, env=run_env)
        if op:
            measured[op] = (seconds, emulator.calls())
    return measured


def stage_batching(table, project, emulator, seed):
    """Per-account shares, 500 over ten images (50 each) at the default `--parallel`: wall time and Alibaba calls of
    up, refresh, destroy and destroy with PULUMI_SKIP_CHECKPOINTS=true, batched and with one call per resource
    (the provider with PULUMI_ALICLOUD_SHARE_BATCHING=off), measured the same way: the two alternate, BENCH_REPEATS
    rounds each, medians reported. Target: batching is not slower anywhere and makes no more calls (operations the
    engine starts too far apart to share a call each make their own, as without batching)."""
    modes = {"batched": project.env, "one call per resource": dict(project.env, **UNBATCHED)}
    stacks = {"batched": "batch-on", "one call per resource": "batch-off"}
    walls = {(mode, op): [] for mode in modes for op in BATCH_OPS}
    calls = {}
    error = None
    try:
        for stack in stacks.values():
            project.stack(stack, MANY_IMAGES, MANY_BASE)
        for _ in range(REPEATS):
            for mode, env in modes.items():
                for op, (seconds, counted) in batching_runs(project, emulator, seed, stacks[mode], env).items():
                    walls[(mode, op)].append(seconds)
                    calls[(mode, op)] = counted
    except Exception as err:  # noqa: BLE001 - reported as missed rows
        error = err
    table.raw["batching"] = {f"{mode}: {op}": {"seconds": walls[(mode, op)], "calls": calls.get((mode, op))}
                             for mode in modes for op in BATCH_OPS}
    parallel = default_parallel()
    for op in BATCH_OPS:
        label = f"500 shares of 10 images, default `--parallel` ({parallel}): {op}, batched vs one call per resource"
        target = "not slower, no more calls"
        if error is not None:
            table.error(label, target, error)
            continue
        (batched, one_each) = (statistics.median(walls[(m, op)]) for m in modes)
        (batched_calls, one_each_calls) = (calls[(m, op)]["total"] for m in modes)
        value = (f"{batched:.2f} s, {fmt_count(batched_calls)} calls vs {one_each:.2f} s, "
                 f"{fmt_count(one_each_calls)} calls (median of {REPEATS})")
        table.add(label, value, target, batched <= one_each and batched_calls <= one_each_calls)


def stage_share_list(table, project, emulator, seed):
    """500 accounts over ten images as ten `ImageShareList`s: the calls of up / refresh / destroy (one walk and
    a call per ten accounts to create, one walk per image to refresh, a call per ten accounts to destroy), and
    `pulumi up` wall time beside the same 500 accounts as `ImageSharePermission`s."""
    accounts = many_accounts()
    label = "500 accounts of 10 images as 10 `ImageShareList`s"
    project.stack("list", MANY_IMAGES, MANY_BASE)
    project.run("config", "set", "--stack", "list", "shareList", "true")
    emulator.prepare(seed, accounts)
    if not measure_calls(table, project, emulator, "list", label, {"create": 60, "refresh": 10, "destroy": 60}):
        return
    wall_label = (f"`pulumi up` wall time, 500 accounts of 10 images: 10 `ImageShareList`s vs 500 "
                  f"`ImageSharePermission`s (median of {REPEATS})")
    walls = {"list": [], "walls": []}
    try:
        project.stack("walls", MANY_IMAGES, MANY_BASE)
        for _ in range(REPEATS):
            for stack in ("list", "walls"):
                emulator.prepare(seed, accounts)
                walls[stack].append(project.up(stack))
                project.destroy(stack)
        table.raw["shareListUpWallSeconds"] = walls
        fast, slow = statistics.median(walls["list"]), statistics.median(walls["walls"])
        table.add(wall_label, f"{fast:.2f} s vs {slow:.2f} s ({slow / fast:.1f}× faster)", "≥ 10× faster",
                  slow >= 10 * fast)
    except Exception as err:  # noqa: BLE001
        table.error(wall_label, "≥ 10× faster", err)


def stage_loopback(table):
    measures = [("emulator loopback, DescribeImageSharePermission (50 shares), 8 clients: throughput",
                 "throughput", "≥ 5,000 req/s", lambda v: v >= 5000, "req/s"),
                ("emulator loopback, DescribeImageSharePermission (50 shares), 8 clients: latency p99",
                 "latency p99", "≤ 5 ms", lambda v: v <= 5, "ms")]
    try:
        proc = subprocess.run(["cargo", "bench", "-q", "-p", "alicloud-emulator", "--bench", "loopback"], cwd=ROOT,
                              env=dict(os.environ, BENCH_SECONDS="5", BENCH_CONCURRENCY="8"), capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT)
        if proc.returncode != 0:
            # The benchmark's own error line, not the backtrace under it.
            said = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
            raise RuntimeError(f"exited {proc.returncode}: {said[0] if said else proc.stderr.strip()[-300:]}")
        figures = {}
        for line in proc.stdout.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 2:
                figures[cells[0]] = cells[1]
        table.raw["loopback"] = figures
        for label, key, target, check, unit in measures:
            number = float(figures[key].split()[0].replace(",", ""))
            value = f"{number:,.0f} {unit}" if unit == "req/s" else f"{number:.2f} {unit}"
            table.add(label, value, target, check(number))
    except Exception as err:  # noqa: BLE001
        for label, _, target, _, _ in measures:
            table.error(label, target, err)


def one_line(err):
    text = str(err).strip().replace("|", "/")
    return " ".join(text.split())[:300]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS, help=f"results file (default {RESULTS})")
    parser.add_argument("--only", choices=["share-list"],
                        help="run one group of rows only (its results go to --out all the same)")
    args = parser.parse_args()
    args.out.unlink(missing_ok=True)
    venv = ensure_venv()

    for binary in (PROVIDER, EMULATOR):
        if not binary.exists():
            sys.exit(f"{binary} is missing: `make bench` builds it")
    started = datetime.now(timezone.utc)
    table = Table()
    work = pathlib.Path(tempfile.mkdtemp(prefix="alicloud-bench-"))
    emulator = None
    try:
        if args.only is None:
            print("measuring the provider process ...", file=sys.stderr)
            stage_process(table)
            print("measuring the provider's RSS after Configure ...", file=sys.stderr)
            stage_configure(table)
            stage_symbol_order(table)
            print("measuring RPC round trips ...", file=sys.stderr)
            try:
                stage_rpc(table)
            except Exception as err:  # noqa: BLE001
                table.error("RPC round trips", "median ≤ 1 ms", err)
        print("measuring pulumi up / refresh / destroy against the emulator ...", file=sys.stderr)
        try:
            emulator = Emulator()
            shutil.copytree(ROOT / "sdk" / "python", work / "sdk-python")
            subprocess.run([venv / "bin" / "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                            "--force-reinstall", work / "sdk-python"], check=True, capture_output=True)
            project = Project(work, venv, emulator.url)
            if args.only is None:
                stage_cli(table, project, emulator, bench_seed())
                print("measuring batching against one call per resource ...", file=sys.stderr)
                stage_batching(table, project, emulator, bench_seed())
            print("measuring ImageShareList against per-account shares ...", file=sys.stderr)
            stage_share_list(table, project, emulator, bench_seed())
        except Exception as err:  # noqa: BLE001
            traceback.print_exc()
            table.error("pulumi stages", "", err)
        if args.only is None and os.environ.get("BENCH_LOOPBACK", "1") != "0":
            print("running the emulator loopback benchmark ...", file=sys.stderr)
            stage_loopback(table)
    finally:
        if emulator:
            emulator.stop()
        shutil.rmtree(work, ignore_errors=True)

    for row in table.rows:
        if row["value"].startswith("error: "):
            row["value"] = "error: " + one_line(row["value"][len("error: "):])
    missed = table.missed()
    results = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "rows": table.rows,
        "missed": [r["measure"] for r in missed],
        "raw": table.raw,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")

    m = results["machine"]
    print(f"\nbenchmark of {results['date']} on {m['nproc']} CPUs ({m['cpu']})\n")
    print(render(table.rows))
    print(f"\nresults: {args.out}")
    if missed:
        print(f"\n{len(missed)} target(s) missed:", file=sys.stderr)
        for r in missed:
            print(f"  - {r['measure']}: {r['value']} (target {r['target']})", file=sys.stderr)
        return 1
    print("\nevery target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
