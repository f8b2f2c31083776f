#!/usr/bin/env python3
"""Measures the provider side by side in one run and prints one table.

- provider start-to-port time (median of repeated starts), idle RSS, release binary size;
- `pulumi up` wall time for 1 and 50 shares of one image, and the part of it during which at least one
  provider RPC was running (from the provider's own `rpc` spans, logged to a file);
- Alibaba API calls per operation for 50 shares (create, refresh, destroy), from the emulator's counters.
"""
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
PROVIDER = TARGET / "pulumi-resource-alicloud"
EMULATOR = TARGET / "alicloud-emulator"
PULUMI = pathlib.Path(os.environ["TOOLS_BIN"]) / "pulumi"
IMAGE = "m-bp1demoimage00000001"


def start_to_port(runs=30):
    times, rss = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen([PROVIDER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        proc.stdout.readline()
        times.append((time.perf_counter() - t0) * 1000)
        if not rss:
            time.sleep(1.0)
            status = pathlib.Path(f"/proc/{proc.pid}/status").read_text()
            rss.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
        proc.terminate()
        proc.wait()
    return statistics.median(times), max(times), rss[0]


class Emulator:
    def __init__(self):
        self.proc = subprocess.Popen([EMULATOR, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = self.proc.stdout.readline().strip()

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_emulator/{path}", data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def counts(self):
        return self.call("GET", "calls")["byAction"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


DURATION = re.compile(r"time\.(busy|idle)=([\d.]+)(ns|µs|us|ms|s)\b")
UNIT = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def rpc_intervals(log):
    """(start, end) in seconds since the epoch of every closed `rpc` span in the provider's log."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if " rpc{" not in line or not line.rstrip().endswith(("s", "ms")) or " close " not in f" {line} ":
            continue
        end = datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()
        length = sum(float(v) * UNIT[u] for _, v, u in DURATION.findall(line))
        out.append((end - length, end))
    return out


def union(intervals):
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start
    return total


def venv_with_sdk(work):
    venv = subprocess.run([ROOT / "tools/venv.sh", "bench", ROOT / "tests/bench/requirements.txt"], check=True, capture_output=True, text=True).stdout.strip()
    shutil.copytree(ROOT / "sdk/python", work / "sdk-python")
    subprocess.run([f"{venv}/bin/pip", "install", "-q", "--disable-pip-version-check", work / "sdk-python"], check=True)
    return venv


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="alicloud-bench-"))
    emulator = Emulator()
    try:
        median_ms, max_ms, rss_mb = start_to_port()
        size_mb = PROVIDER.stat().st_size / 1024 / 1024
        venv = venv_with_sdk(work)
        program = work / "program"
        shutil.copytree(ROOT / "tests/bench/program", program)
        (program / "Pulumi.yaml").write_text(
            "name: alicloud-bench\n"
            f"runtime:\n  name: python\n  options:\n    virtualenv: {venv}\n"
            f"plugins:\n  providers:\n    - name: alicloud\n      path: {TARGET}\n"
        )
        log = work / "provider.log"
        env = dict(os.environ, PULUMI_HOME=str(work / "home"), PULUMI_BACKEND_URL=f"file://{work / 'state'}",
                   PULUMI_CONFIG_PASSPHRASE="", PULUMI_SKIP_UPDATE_CHECK="true",
                   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true", PATH=f"{PULUMI.parent}:{os.environ['PATH']}",
                   PULUMI_ALICLOUD_LOG="pulumi_resource_alicloud::server=info", PULUMI_ALICLOUD_LOG_FILE=str(log))
        (work / "state").mkdir()

        def pulumi(*args):
            t0 = time.perf_counter()
            proc = subprocess.run([PULUMI, *args], cwd=program, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"pulumi {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
            return time.perf_counter() - t0

        rows, calls = [], {}
        for count in (1, 50):
            stack = f"bench{count}"
            pulumi("stack", "init", stack)
            for key, value in [("alicloud:region", "cn-hangzhou"), ("alicloud:accessKey", "LTAI5tDemoEmulatorKey01"),
                               ("count", str(count)), ("imageId", IMAGE)]:
                pulumi("config", "set", key, value)
            pulumi("config", "set", "--secret", "alicloud:secretKey", "demoEmulatorSecret01")
            pulumi("config", "set", "--path", "alicloud:endpoints.ecs", emulator.url)
            pulumi("config", "set", "--path", "alicloud:endpoints.ecd", emulator.url)
            emulator.call("POST", "reset")
            log.write_text("")
            t0 = time.time()
            wall = pulumi("up", "--yes", "--skip-preview")
            busy = union([(s, e) for s, e in rpc_intervals(log) if s >= t0 - 1])
            rows.append((count, wall, busy))
            if count == 50:
                calls["create"] = emulator.counts()
                emulator.call("POST", "calls/reset")
                pulumi("refresh", "--yes", "--skip-preview")
                calls["refresh"] = emulator.counts()
                emulator.call("POST", "calls/reset")
                pulumi("destroy", "--yes", "--skip-preview")
                calls["destroy"] = emulator.counts()
            else:
                pulumi("destroy", "--yes", "--skip-preview")

        print("| measure | value | target |")
        print("|---|---|---|")
        print(f"| provider start-to-port (median of 30 / max) | {median_ms:.2f} ms / {max_ms:.2f} ms | ≤ 5 ms |")
        print(f"| provider idle RSS | {rss_mb:.1f} MB | ≤ 10 MB |")
        print(f"| provider release binary size | {size_mb:.1f} MB | |")
        for count, wall, busy in rows:
            print(f"| `pulumi up`, {count} share(s): wall time | {wall:.2f} s | |")
            print(f"| `pulumi up`, {count} share(s): time inside provider RPCs | {busy:.3f} s ({100 * busy / wall:.1f}%) | {'≤ 10%' if count == 50 else ''} |")
        for op in ("create", "refresh", "destroy"):
            by = calls[op]
            detail = ", ".join(f"{k} {v}" for k, v in sorted(by.items()))
            print(f"| API calls, 50 shares, {op} | {sum(by.values())} ({detail}) | |")
    finally:
        emulator.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
