"""Fixtures: one emulator process for the session (its API and its instance metadata service), reset before
every test, and official SDK clients."""

import json
import os
import subprocess
import urllib.request

import pytest
from alibabacloud_ecd20200930.client import Client as EcdClient
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_sts20150401.client import Client as StsClient
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
ROLE = "acs:ram::1234567890123456:role/emulator-role"
ROLE_NAME = "emulator-role"
EXTERNAL_ID_ROLE = "acs:ram::1234567890123456:role/external-id-role"
CROSS_ACCOUNT_ROLE = "acs:ram::2234567890123456:role/cross-account-role"
OIDC_PROVIDER = "acs:ram::1234567890123456:oidc-provider/emulator-oidc"
OIDC_ISSUER = "https://oidc.emulator.invalid"
OIDC_AUDIENCE = "sts.aliyuncs.com"

# The SDK's own switch between the two schemes: unset → ACS3-HMAC-SHA256, "v2" → RPC HMAC-SHA1.
SIGNATURES = {"v3": None, "v1": "v2"}


class Emulator:
    """A running emulator, its control API and its instance metadata service."""

    def __init__(self, url, metadata):
        self.url = url
        self.host = url.removeprefix("http://")
        self.metadata = metadata

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

    def client(self, product, signature="v3", key=KEY, credential=None):
        """An official client of `product` ("ecs", "ecd" or "sts"). `key` is (id, secret[, token]); None
        makes an anonymous client; `credential` (an alibabacloud_credentials client) replaces `key`."""
        access_key_id, secret, *token = key or (None, None)
        config = Config(
            access_key_id=None if credential else access_key_id,
            access_key_secret=None if credential else secret,
            security_token=token[0] if token and not credential else None,
            credential=credential,
            endpoint=self.host,
            protocol="http",
            region_id=REGION,
            signature_algorithm=SIGNATURES[signature],
        )
        return {"ecs": EcsClient, "ecd": EcdClient, "sts": StsClient}[product](config)


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
        metadata = process.stdout.readline().strip()
        assert metadata.startswith("http://127.0.0.1:"), f"emulator printed {metadata!r} second"
        yield Emulator(url, metadata)
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
