"""Credentials through the real `pulumi` CLI: stacks that authenticate each way the provider documents (a CLI
profile that assumes a role, OIDC from the environment, the ECS instance RAM role, the bridged provider's
configuration keys, temporary credentials that expire, and none at all). Each stack runs with a HOME of its own
and without the machine's `ALIBABA_CLOUD_*` / `ALICLOUD_*` variables, and the emulator's issued credentials and
call counters show who made the calls."""
import base64
import datetime
import http.client
import http.server
import json
import threading
import time
import urllib.parse

import pytest

from harness import (ACCESS_KEY, ACCOUNT_A, ACCOUNT_B, DESKTOP_1, IMAGE_1, REGION, SECRET_KEY, SEED, Stack,
                     assert_consistent)

PYTHON = pytest.mark.parametrize("runtime", ["python"], indirect=True)

OWNER = SEED["OWNER"]
OTHER_OWNER = SEED["OTHER_ACCOUNT"]
EMULATOR_ROLE = SEED["ROLE"]
CROSS_ACCOUNT_ROLE = SEED["CROSS_ACCOUNT_ROLE"]
OIDC_PROVIDER = SEED["OIDC_PROVIDER"]
OIDC_ISSUER = SEED["OIDC_ISSUER"]
OIDC_AUDIENCE = SEED["OIDC_AUDIENCE"]
INSTANCE_ROLE = SEED["ROLE_NAME"]
# A custom image of the second account: only that account's keys can share it (another account's call is
# InvalidImageId.NotFound), so a share of it proves which account made the call.
OTHER_IMAGE = SEED["OTHERS_IMAGE"]
ROLE_ACCOUNTS = {EMULATOR_ROLE: OWNER, CROSS_ACCOUNT_ROLE: OTHER_OWNER}
STS_ACTIONS = ("AssumeRole", "AssumeRoleWithOIDC")
IMDS_ACTIONS = ("IMDS.Token", "IMDS.RoleList", "IMDS.RoleCredentials")


def output(proc):
    return proc.stdout + proc.stderr


def without_credentials(state):
    """The emulator's world without the temporary credentials it issued (which every test adds)."""
    return {k: v for k, v in state.items() if k != "stsCredentials"}


@pytest.fixture
def stacks(runtime, emulator, seed, tmp_path):
    """Makes isolated stacks (no keys in config unless `keys=True`); afterwards destroys what they still hold,
    with their own credentials, and checks that the emulator holds nothing but the seed (and the credentials
    it issued)."""
    made = []

    def make(**options):
        options.setdefault("keys", False)
        stack = Stack(runtime, emulator, tmp_path, isolated=True, **options)
        made.append(stack)
        return stack

    yield make
    emulator.clear_faults()
    emulator.control("POST", "config", {"holdImages": False, "imdsV2Required": False})
    emulator.release_images()
    for stack in made:
        if stack.resources():
            stack.destroy()
    assert without_credentials(emulator.state()) == without_credentials(seed), \
        "the emulator holds resources the stacks did not clean up"


def counters(emulator):
    body = emulator.control("GET", "calls")
    return {**body["byAction"], **{f"sig.{k}": v for k, v in body["bySignature"].items()}}


class Step:
    """Runs one CLI command and records the calls it made and the credentials issued meanwhile."""

    def __init__(self, emulator):
        self.emulator = emulator

    def __call__(self, command, *args, **kwargs):
        before, issued = counters(self.emulator), len(self.emulator.state()["stsCredentials"])
        result = command(*args, **kwargs)
        after = counters(self.emulator)
        self.calls = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
        self.issued = self.emulator.state()["stsCredentials"][issued:]
        return result


def assert_issued(issued, *, role, session, source):
    assert issued, "no temporary credentials were issued"
    for credential in issued:
        assert (credential["roleArn"], credential["roleSessionName"], credential["source"],
                credential["accountId"]) == (role, session, source, ROLE_ACCOUNTS[role]), credential
        assert credential["accessKeyId"].startswith("STS."), credential


def run_lifecycle(stack, emulator, check):
    """`up`, `refresh` and `destroy`, each followed by `check(step, command)` on what it called; returns what
    `up` printed."""
    step = Step(emulator)
    up = step(stack.up)
    check(step, "up")
    assert_consistent(stack, emulator)
    step(stack.refresh)
    check(step, "refresh")
    assert_consistent(stack, emulator)
    step(stack.destroy)
    check(step, "destroy")
    assert stack.resources() == []
    return up


# 1. A RamRoleArn profile of ~/.aliyun/config.json ------------------------------------------------------------

@PYTHON
@pytest.mark.parametrize("role, selection", [(EMULATOR_ROLE, "current"), (CROSS_ACCOUNT_ROLE, "ALIBABA_CLOUD_PROFILE")],
                         ids=["own-role-by-current", "cross-account-role-by-variable"])
def test_a_ram_role_arn_profile_assumes_its_role_for_every_call(stacks, emulator, role, selection):
    stack = stacks(region=False)  # the region comes from the profile
    profile = {"name": "deployer", "mode": "RamRoleArn", "access_key_id": ACCESS_KEY,
               "access_key_secret": SECRET_KEY, "ram_role_arn": role, "ram_session_name": "e2e-profile",
               "region_id": REGION}
    # A profile whose key the emulator does not know: taking it instead of the selected one fails every call.
    decoy = {"name": "decoy", "mode": "AK", "access_key_id": "LTAI5tDecoyEmulatorKey0",
             "access_key_secret": "decoyEmulatorSecret00", "region_id": REGION}
    if selection == "current":
        stack.write_cli_profiles([decoy, profile], current="deployer")
    else:
        stack.write_cli_profiles([decoy, profile], current="decoy")
        stack.env["ALIBABA_CLOUD_PROFILE"] = "deployer"
    stack.pulumi("config", "set", "--path", "alicloud:endpoints.sts", emulator.url)
    if role == EMULATOR_ROLE:
        stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A, imageDesktopId=DESKTOP_1,
                        imageName="profile-image")
        expected_share = f"{IMAGE_1}:{ACCOUNT_A}"
    else:
        # The profile's keys belong to the first account, which cannot see this image: the share can only be
        # made with the role's credentials, never with the static key itself.
        stack.configure(shareImageId=OTHER_IMAGE, shareAccountId=ACCOUNT_B)
        expected_share = f"{OTHER_IMAGE}:{ACCOUNT_B}"

    def check(step, command):
        assert step.calls.get("AssumeRole", 0) >= 1, (command, step.calls)
        assert step.calls.get("AssumeRoleWithOIDC", 0) == 0, (command, step.calls)
        assert_issued(step.issued, role=role, session="e2e-profile", source="AssumeRole")
        if command == "up":
            assert emulator.shares() == {expected_share}
            if role == EMULATOR_ROLE:
                assert [i["name"] for i in emulator.ecd_images()] == ["profile-image"]
                assert stack.outputs()["imageStatus"] == "Available"

    run_lifecycle(stack, emulator, check)
    assert emulator.shares() == set() and emulator.ecd_images() == []


# 2. OIDC from the environment only ---------------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def oidc_token(subject="system:serviceaccount:ci:deployer", lifetime=2 * 86400):
    header = {"alg": "RS256", "typ": "JWT"}
    now = int(time.time())
    # Far enough in the future that advancing the emulator's credential clock does not expire it.
    claims = {"iss": OIDC_ISSUER, "aud": OIDC_AUDIENCE, "sub": subject, "iat": now, "exp": now + lifetime}
    parts = [b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), b64url(b"not-verified")]
    return ".".join(parts)


@pytest.mark.parametrize("runtime", ["python", "typescript"], indirect=True)
def test_oidc_from_the_environment_assumes_the_role_anonymously(stacks, emulator):
    stack = stacks()
    token_file = stack.dir / "oidc-token"
    token_file.write_text(oidc_token())
    stack.env.update(
        ALIBABA_CLOUD_ROLE_ARN=EMULATOR_ROLE,
        ALIBABA_CLOUD_OIDC_PROVIDER_ARN=OIDC_PROVIDER,
        ALIBABA_CLOUD_OIDC_TOKEN_FILE=str(token_file),
        ALIBABA_CLOUD_ROLE_SESSION_NAME="e2e-oidc",
        ALIBABA_CLOUD_ENDPOINT_STS=emulator.url,
    )
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A)

    def check(step, command):
        assert step.calls.get("AssumeRoleWithOIDC", 0) >= 1, (command, step.calls)
        # Sent without a key and without a signature, as the official SDK sends it.
        assert step.calls.get("sig.anonymous", 0) >= step.calls["AssumeRoleWithOIDC"], (command, step.calls)
        assert step.calls.get("AssumeRole", 0) == 0, (command, step.calls)
        assert_issued(step.issued, role=EMULATOR_ROLE, session="e2e-oidc", source="AssumeRoleWithOIDC")
        if command == "up":
            assert emulator.shares() == {f"{IMAGE_1}:{ACCOUNT_A}"}

    up = run_lifecycle(stack, emulator, check)
    token = token_file.read_text()
    assert token.split(".")[1] not in output(up), "the OIDC token was printed"


# 3. The ECS instance RAM role, through the metadata service ---------------------------------------------------

@PYTHON
def test_the_instance_ram_role_comes_from_the_metadata_service_with_session_tokens(stacks, emulator):
    # Hardening mode: a request without a session token is refused, so success proves IMDSv2 is used.
    emulator.control("POST", "config", {"imdsV2Required": True})
    stack = stacks()
    stack.env.update(ALIBABA_CLOUD_ECS_METADATA=INSTANCE_ROLE,
                     ALIBABA_CLOUD_ECS_METADATA_ENDPOINT=emulator.metadata_url)
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A)
    issued = []

    def check(step, command):
        assert step.calls.get("IMDS.Token", 0) >= 1, (command, step.calls)
        assert step.calls.get("IMDS.RoleCredentials", 0) >= 1, (command, step.calls)
        assert step.calls.get("IMDS.RoleList", 0) == 0, "the role is named: no need to list it"
        assert not any(step.calls.get(a) for a in STS_ACTIONS), (command, step.calls)
        issued.extend(step.issued)
        if command == "up":
            assert emulator.shares() == {f"{IMAGE_1}:{ACCOUNT_A}"}

    run_lifecycle(stack, emulator, check)
    # The service hands out the same credential until a quarter of its lifetime is left: one for all three.
    assert_issued(issued, role=EMULATOR_ROLE, session="ecs-instance", source="metadata")
    assert emulator.state()["stsCredentials"] == issued


# 4. The bridged provider's configuration keys ----------------------------------------------------------------

@PYTHON
def test_the_bridged_providers_configuration_is_accepted_and_an_unknown_key_warned_about(stacks, emulator):
    stack = stacks(keys=True)
    host = emulator.url.removeprefix("http://")
    stack.pulumi("config", "rm", "alicloud:endpoints")
    # The bridged list form, with bare host:port values reached over `protocol`.
    for service, value in [("ecs", host), ("ecd", host), ("sts", host), ("vpc", "vpc.example")]:
        stack.pulumi("config", "set", "--path", f"alicloud:endpoints[0].{service}", value)
    stack.configure(**{
        "alicloud:protocol": "HTTP",
        "alicloud:skipRegionValidation": "true",
        "alicloud:configurationSource": "e2e-credentials",
        "alicloud:maxRetryTimeout": "30",
        "alicloud:clientReadTimeout": "30000",
        "alicloud:regoin": "cn-shanghai",
    })
    stack.pulumi("config", "set", "--path", "alicloud:assumeRole.roleArn", EMULATOR_ROLE)
    stack.pulumi("config", "set", "--path", "alicloud:assumeRole.sessionName", "bridged-config")
    config = json.loads(stack.pulumi("config", "--json").stdout)
    assert config["alicloud:endpoints"]["objectValue"] == [
        {"ecs": host, "ecd": host, "sts": host, "vpc": "vpc.example"}], config["alicloud:endpoints"]
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A)

    def check(step, command):
        # `sts` of the list is where the role is assumed; the static key only signs that call.
        assert step.calls.get("AssumeRole", 0) >= 1, (command, step.calls)
        assert_issued(step.issued, role=EMULATOR_ROLE, session="bridged-config", source="AssumeRole")
        if command == "up":
            assert emulator.shares() == {f"{IMAGE_1}:{ACCOUNT_A}"}

    up = run_lifecycle(stack, emulator, check)
    # One key, and only that one: the bridged provider's keys and its `vpc` endpoint are no news.
    assert "warning: ignoring unknown configuration key 'alicloud:regoin':" in output(up), output(up)
    assert "unknown configuration keys" not in output(up), output(up)


# 5. Temporary credentials that expire ------------------------------------------------------------------------

def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def clock_now(emulator):
    return parse_time(emulator.control("GET", "clock")["now"])


def advance(emulator, seconds):
    return emulator.control("POST", "clock", {"advanceSeconds": seconds})


def role_for_900_seconds(stack, sts_endpoint, session="short-lived"):
    """Static keys in the environment, and `assumeRole` for the shortest session STS allows."""
    stack.env.update(ALICLOUD_ACCESS_KEY=ACCESS_KEY, ALICLOUD_SECRET_KEY=SECRET_KEY)
    stack.pulumi("config", "set", "alicloud:assumeRole",
                 json.dumps({"roleArn": EMULATOR_ROLE, "sessionName": session, "sessionExpiration": 900}))
    stack.pulumi("config", "set", "--path", "alicloud:endpoints.sts", sts_endpoint)


@PYTHON
def test_a_role_session_that_expires_between_commands_is_assumed_again(stacks, emulator):
    stack = stacks()
    role_for_900_seconds(stack, emulator.url)
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A, imageDesktopId=DESKTOP_1,
                    imageName="expiring-image")
    step = Step(emulator)
    step(stack.up)
    [first] = step.issued
    assert_issued([first], role=EMULATOR_ROLE, session="short-lived", source="AssumeRole")
    lifetime = parse_time(first["expiration"]) - clock_now(emulator)
    assert datetime.timedelta(seconds=850) < lifetime <= datetime.timedelta(seconds=900), lifetime

    # 100 s left on the first session, less than the 3-minute renewal margin.
    advance(emulator, 800)
    step(stack.refresh)
    assert step.calls.get("AssumeRole", 0) >= 1, step.calls
    [second] = step.issued
    assert second["accessKeyId"] != first["accessKeyId"]
    assert parse_time(second["expiration"]) > parse_time(first["expiration"])
    assert_consistent(stack, emulator)

    # Past the first session's expiry.
    advance(emulator, 200)
    assert clock_now(emulator) > parse_time(first["expiration"])
    stack.configure(imageName="expiring-image-v2")
    step(stack.up)
    assert step.calls.get("AssumeRole", 0) >= 1 and step.calls.get("ModifyImageAttribute") == 1, step.calls
    assert [i["name"] for i in emulator.ecd_images()] == ["expiring-image-v2"]
    step(stack.destroy)
    assert step.calls.get("AssumeRole", 0) >= 1, step.calls
    assert stack.resources() == []
    assert_issued(emulator.state()["stsCredentials"], role=EMULATOR_ROLE, session="short-lived",
                  source="AssumeRole")


class StsRelay(http.server.ThreadingHTTPServer):
    """An STS endpoint in front of the emulator: every request goes through unchanged (the signature covers the
    Host header the client sent, so that is passed on as it is), and the Expiration of the first answers with
    credentials is set to `lifetimes[i]` seconds from now on this machine's clock.

    The provider judges expiry by its own clock, which the emulator's credential clock does not move; a session
    that expires a few minutes after it was issued is how a credential comes due within one command."""

    daemon_threads = True

    def __init__(self, target, lifetimes):
        self.target = urllib.parse.urlsplit(target)
        self.lifetimes = list(lifetimes)
        self.answers = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), RelayHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def rewrite(self, body):
        try:
            answer = json.loads(body)
        except ValueError:
            return body
        if not isinstance(answer, dict) or "Expiration" not in (answer.get("Credentials") or {}):
            return body
        with self.lock:
            index, self.answers = self.answers, self.answers + 1
        if index >= len(self.lifetimes) or self.lifetimes[index] is None:
            return body
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.lifetimes[index])
        answer["Credentials"]["Expiration"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps(answer).encode()

    def close(self):
        self.shutdown()
        self.server_close()


class RelayHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def relay(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.server.target
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in ("connection", "accept-encoding"):
                    conn.putheader(name, value)
            conn.endheaders(body)
            response = conn.getresponse()
            data = self.server.rewrite(response.read())
        finally:
            conn.close()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    do_GET = do_POST = relay

    def log_message(self, *args):
        pass


@pytest.fixture
def relay(emulator):
    relays = []

    def make(lifetimes):
        relays.append(StsRelay(emulator.url, lifetimes))
        return relays[-1]

    yield make
    for r in relays:
        r.close()


@PYTHON
def test_a_session_that_comes_due_during_one_up_is_renewed_and_the_new_one_used(relay, stacks, emulator):
    # The first session, by this machine's clock, expires 240 s after it is issued: due for renewal (3 minutes
    # before) after 60 s. Later ones keep the 900 s STS gave them.
    sts = relay([240])
    stack = stacks()
    role_for_900_seconds(stack, sts.url, session="renewed")
    emulator.hold_images()
    stack.configure(imageDesktopId=DESKTOP_1, imageName="renewed-image")
    running = stack.start("up", "--yes", "--skip-preview", "--non-interactive")
    emulator.wait_calls("CreateImage", 1, running=running)
    emulator.wait_calls("AssumeRole", 2, timeout_ms=240_000, running=running)
    assert running.proc.poll() is None, "the up must still wait for the held image"

    first, second = sorted(emulator.state()["stsCredentials"], key=lambda c: c["expiration"])
    assert (first["roleSessionName"], second["roleSessionName"]) == ("renewed", "renewed")
    # The emulator's clock just past the first session's expiry: from now on it refuses the first key, and the
    # second has (its issue time - the first's) left, about a minute.
    advance(emulator, (parse_time(first["expiration"]) - clock_now(emulator)).total_seconds() + 2)
    assert parse_time(first["expiration"]) < clock_now(emulator) < parse_time(second["expiration"])
    polls = emulator.call_count("DescribeImages")
    emulator.hold_images(False)
    assert len(emulator.release_images()) == 1
    done = running.wait()
    assert done.returncode == 0, output(done)
    assert emulator.call_count("DescribeImages") > polls, "the image's last poll was made with the second key"
    assert emulator.call_count("AssumeRole") == 2, emulator.calls()
    assert stack.outputs()["imageStatus"] == "Available"
    assert_consistent(stack, emulator)


@PYTHON
def test_a_clock_jump_inside_the_renewal_margin_during_one_up_does_not_break_it(stacks, emulator):
    """The emulator's clock moves 800 s of a 900 s session while the image is being made: the session is inside
    the 3-minute renewal margin by the service's clock, not by the provider's, so the provider goes on with it,
    and the service still takes it."""
    stack = stacks()
    running = start_held_up(stack, emulator, "jumped")
    advance(emulator, 800)
    polls = emulator.call_count("DescribeImages")
    emulator.wait_calls("DescribeImages", polls + 1, running=running)
    release(emulator)
    done = running.wait()
    assert done.returncode == 0, output(done)
    assert stack.outputs()["imageStatus"] == "Available"
    assert_issued(emulator.state()["stsCredentials"], role=EMULATOR_ROLE, session="jumped", source="AssumeRole")
    assert_consistent(stack, emulator)


def start_held_up(stack, emulator, session):
    """An `up` of one image with a 900 s role session, in the background, once the image is made and polled
    (held `Creating`)."""
    role_for_900_seconds(stack, emulator.url, session=session)
    emulator.hold_images()
    stack.configure(imageDesktopId=DESKTOP_1, imageName=f"{session}-image")
    running = stack.start("up", "--yes", "--skip-preview", "--non-interactive")
    emulator.wait_calls("CreateImage", 1, running=running)
    emulator.wait_calls("DescribeImages", 1, running=running)
    return running


def release(emulator):
    emulator.hold_images(False)
    assert len(emulator.release_images()) == 1


@PYTHON
def test_a_session_the_service_calls_expired_during_one_up_is_renewed(stacks, emulator):
    """The emulator's clock moves past the session's expiry while the image is being made (the service's clock
    ahead of the provider's): the service refuses the key as expired, and the provider must get a new one and
    go on."""
    stack = stacks()
    running = start_held_up(stack, emulator, "overrun")
    advance(emulator, 901)
    release(emulator)
    done = running.wait()
    assert done.returncode == 0, output(done)
    assert emulator.call_count("AssumeRole") >= 2, emulator.calls()
    assert stack.outputs()["imageStatus"] == "Available"
    assert_consistent(stack, emulator)


@PYTHON
def test_a_session_the_service_refuses_as_expired_loses_nothing_and_the_next_commands_finish(stacks, emulator):
    """Whether or not the `up` whose session the service calls expired gets through, the image it made is
    tracked, and the next commands (each with a new session) finish the job and clean up."""
    stack = stacks()
    running = start_held_up(stack, emulator, "refused")
    advance(emulator, 901)
    release(emulator)
    done = running.wait()
    if done.returncode != 0:
        assert "InvalidSecurityToken.Expired" in output(done), output(done)
    [image] = emulator.ecd_images()
    assert [r["id"] for r in stack.resources()] == [image["imageId"]], "the image made must be tracked"
    assert_consistent(stack, emulator)

    step = Step(emulator)
    step(stack.refresh)
    assert step.calls.get("AssumeRole", 0) >= 1, step.calls
    assert_issued(step.issued, role=EMULATOR_ROLE, session="refused", source="AssumeRole")
    [tracked] = stack.resources()
    assert tracked["id"] == image["imageId"] and tracked["outputs"]["status"] == "Available", tracked
    step(stack.up)
    assert "CreateImage" not in step.calls, step.calls
    assert stack.outputs()["imageStatus"] == "Available"
    assert [i["imageId"] for i in emulator.ecd_images()] == [image["imageId"]]
    assert_consistent(stack, emulator)
    stack.destroy()
    assert stack.resources() == [] and emulator.ecd_images() == []


# 6. No credentials anywhere ----------------------------------------------------------------------------------

PLACES = ["alicloud:accessKey", "alicloud:assumeRoleWithOidc", "alicloud:ecsRoleName", "alicloud:profile",
          "alicloud:credentialsUri", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY",
          "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", ".aliyun/config.json", ".alibabacloud/credentials",
          "ALIBABA_CLOUD_ECS_METADATA_DISABLED", "ALIBABA_CLOUD_CREDENTIALS_URI"]


@PYTHON
@pytest.mark.parametrize("home", ["empty", "unselected-profile"])
def test_no_credentials_anywhere_fails_naming_every_place_looked(stacks, emulator, home):
    stack = stacks()
    stack.env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    secrets = [SECRET_KEY]
    if home == "unselected-profile":
        # A profile file that selects no profile: nothing to take, and its secret must not be shown.
        secret = "unselectedEmulatorSecret7"
        stack.write_cli_profiles([{"name": "spare", "mode": "AK", "access_key_id": "LTAI5tSpareEmulatorKey",
                                   "access_key_secret": secret}])
        secrets.append(secret)
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A)
    emulator.control("POST", "calls/reset")
    failed = stack.up(check=False)
    text = output(failed)
    assert failed.returncode != 0, text
    assert "no Alibaba Cloud credentials found" in text, text
    missing = [p for p in PLACES if p not in text]
    assert not missing, f"{missing} not named in:\n{text}"
    for secret in secrets:
        assert secret not in text, f"a secret was printed:\n{text}"
    assert emulator.control("GET", "calls")["total"] == 0, emulator.calls()
    assert stack.resources() == []
    assert emulator.shares() == set()
