"""Fixtures: one emulator process for the session (its API and its instance metadata service), reset before
every test, and official SDK clients."""

import json
import os
import pathlib
import subprocess
import urllib.request

import pytest
from alibabacloud_ecd20200930.client import Client as EcdClient
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.models import Config

# What emulator/seed/default.json holds, by the names emulator/src/seed.rs gives it.
SEED = json.loads((pathlib.Path(__file__).resolve().parents[2] / "seed" / "names.json").read_text())
KEY = (SEED["ACCESS_KEY_ID"], SEED["ACCESS_KEY_SECRET"])
OTHER_KEY = (SEED["OTHER_ACCESS_KEY_ID"], SEED["OTHER_ACCESS_KEY_SECRET"])
STS = (SEED["STS_KEY_ID"], SEED["STS_KEY_SECRET"], SEED["STS_TOKEN"])
EXPIRED_STS = (SEED["EXPIRED_STS_KEY_ID"], SEED["EXPIRED_STS_KEY_SECRET"], SEED["EXPIRED_STS_TOKEN"])
OWNER = SEED["OWNER"]
OTHER = SEED["OTHER_ACCOUNT"]
RECIPIENT = SEED["RECIPIENT"]  # seeded without keys: images can be shared with it
REGION = SEED["REGION"]
IMAGE = SEED["IMAGE_1"]
OTHER_OWNERS_IMAGE = SEED["OTHERS_IMAGE"]
DESKTOP = SEED["DESKTOP_1"]
ROLE = SEED["ROLE"]
ROLE_NAME = SEED["ROLE_NAME"]
EXTERNAL_ID_ROLE = SEED["EXTERNAL_ID_ROLE"]
CROSS_ACCOUNT_ROLE = SEED["CROSS_ACCOUNT_ROLE"]
OIDC_PROVIDER = SEED["OIDC_PROVIDER"]
OIDC_ISSUER = SEED["OIDC_ISSUER"]
OIDC_AUDIENCE = SEED["OIDC_AUDIENCE"]

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
