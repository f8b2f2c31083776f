#!/usr/bin/env python3
"""Recomputes every signing vector with Alibaba's official Python signer (alibabacloud_openapi_util).

Each vector folder holds `request.json` and the expected results. Published vectors (see README.md) were
copied from Alibaba's documentation and SDK tests; our own were produced by this signer (`--write`). Either
way this script checks that the official signer and the committed files agree, so the Rust tests that read
the same files test our signer against Alibaba's.
"""
import json
import pathlib
import sys

from alibabacloud_openapi_util.client import Client
from Tea.request import TeaRequest

HERE = pathlib.Path(__file__).resolve().parent
write = "--write" in sys.argv


def v3(case):
    req = json.loads((case / "request.json").read_text())
    tea = TeaRequest()
    tea.method = req["method"]
    tea.pathname = req["path"]
    tea.query = dict(req["query"])
    tea.headers = dict(req["headers"])
    auth = Client.get_authorization(tea, "ACS3-HMAC-SHA256", req["payload_hash"], req["access_key_id"], req["access_key_secret"])
    return {"authorization.txt": auth}


def v1(case):
    req = json.loads((case / "request.json").read_text())
    return {"signature.txt": Client.get_rpcsignature(dict(req["params"]), req["method"], req["access_key_secret"])}


passed = failed = 0
for alg, compute in (("v1", v1), ("v3", v3)):
    for case in sorted(p for p in (HERE / alg).iterdir() if p.is_dir()):
        for name, value in compute(case).items():
            path = case / name
            if write and not path.exists():
                path.write_text(value + "\n")
            expected = path.read_text().strip()
            if expected == value:
                passed += 1
            else:
                failed += 1
                print(f"MISMATCH {alg}/{case.name}/{name}: official signer {value!r}, file {expected!r}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
