"""Fixtures: one emulator process for the session, reset before every test, and official SDK clients."""

import json
import os
import subprocess
import urllib.request

import pytest
from alibabacloud_ecd20200930.client import Client as EcdClient
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.models import Config

# Seeded in emulator/seed/default.json.
KEY = ("LTAI5tDemoEmulatorKey01", "demoEmulatorSecret01")
OTHER_KEY = ("LTAI5tOtherEmulatorKey2", "otherEmulatorSecret02")
STS = ("STS.DemoEmulatorKey01", "stsDemoSecret01", "demo-sts-token-01")
EXPIRED_STS = ("STS.ExpiredEmulatorKey1", "stsExpiredSecret01", "expired-sts-token-01")
OWNER = "1234567890123456"
OTHER = "2234567890123456"
RECIPIENT = "3234567890123456"  # seeded without keys: images can be shared with it
REGION = "cn-hangzhou"
IMAGE = "m-bp1demoimage00000001"
OTHER_OWNERS_IMAGE = "m-bp1otherimage0000001"
DESKTOP = "ecd-demodesktop0000001"

# The SDK's own switch between the two schemes: unset → ACS3-HMAC-SHA256, "v2" → RPC HMAC-SHA1.
SIGNATURES = {"v3": None, "v1": "v2"}


class Emulator:
    """A running emulator and its control API."""

    def __init__(self, url):
        self.url = url
        self.host = url.removeprefix("http://")

    def control(self, path, body=None, method=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path}",
            data=data,
            method=method or ("POST" if body is not None else "GET"),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def state(self):
        return self.control("state")

    def shares(self, image_id=IMAGE):
        return next(i["sharedWith"] for i in self.state()["ecsImages"] if i["imageId"] == image_id)

    def calls(self):
        return self.control("calls")

    def fault(self, **rule):
        self.control("faults", rule)

    def client(self, product, signature="v3", key=KEY):
        access_key_id, secret, *token = key
        config = Config(
            access_key_id=access_key_id,
            access_key_secret=secret,
            security_token=token[0] if token else None,
            endpoint=self.host,
            protocol="http",
            region_id=REGION,
            signature_algorithm=SIGNATURES[signature],
        )
        return (EcsClient if product == "ecs" else EcdClient)(config)


@pytest.fixture(scope="session")
def emulator_process():
    binary = os.environ["EMULATOR_BIN"]
    process = subprocess.Popen(
        [binary, "--port", "0", "--image-create-seconds", "0.4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"emulator printed {url!r}"
        yield Emulator(url)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def emulator(emulator_process):
    emulator_process.control("reset", {})
    return emulator_process


@pytest.fixture(params=["v3", "v1"])
def signature(request):
    return request.param
