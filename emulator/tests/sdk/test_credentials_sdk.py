"""Credentials from Alibaba's own clients, unmodified, against the emulator: STS through
alibabacloud-sts20150401 (AssumeRole signed with V3 and V1, AssumeRoleWithOIDC sent anonymously), the issued
keys used by the official ECS client until the credential clock passes their expiry, and the ECS RAM role and
credentials-URI providers of alibabacloud-credentials against the metadata service and the credentials URI.

Every connection these tests open goes to loopback; a guard refuses any other address, so a provider that
ignored its proxy setting would fail here instead of reaching out."""

import base64
import json
import socket
import time

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.http import HttpOptions
from alibabacloud_credentials.provider.ecs_ram_role import EcsRamRoleCredentialsProvider
from alibabacloud_credentials.provider.uri import URLCredentialsProvider
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_sts20150401 import models as sts
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException

from conftest import (
    CROSS_ACCOUNT_ROLE,
    EXTERNAL_ID_ROLE,
    IMAGE,
    OIDC_AUDIENCE,
    OIDC_ISSUER,
    OIDC_PROVIDER,
    OTHER,
    OTHER_KEY,
    OTHER_OWNERS_IMAGE,
    OWNER,
    REGION,
    ROLE,
    ROLE_NAME,
)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Refuses connections to anything but loopback."""
    connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise ConnectionRefusedError(f"this test only talks to loopback, not {host}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def describe(client, image=IMAGE):
    return client.describe_image_share_permission(
        ecs.DescribeImageSharePermissionRequest(region_id=REGION, image_id=image)
    ).body


def error_of(call):
    with pytest.raises((ClientException, ServerException)) as caught:
        call()
    return caught.value


def assert_error(call, status, code):
    err = error_of(call)
    assert (err.status_code, err.code) == (status, code), err.message
    for field in ("RequestId", "HostId", "Code", "Message", "Recommend"):
        assert err.data.get(field), f"{field} missing from {err.data}"
    return err


def seconds_until(expiration):
    assert len(expiration) == 20 and expiration.endswith("Z"), expiration
    return time.mktime(time.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime())


def keys_of(credentials):
    return (credentials.access_key_id, credentials.access_key_secret, credentials.security_token)


def assume(emulator, signature, role=ROLE, key=None, **fields):
    client = emulator.client("sts", signature, **({"key": key} if key else {}))
    request = sts.AssumeRoleRequest(role_arn=role, role_session_name="sdk-session", **fields)
    return client.assume_role(request).body


def jwt(**claims):
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    body = {"iss": OIDC_ISSUER, "aud": OIDC_AUDIENCE, "sub": "sdk-subject", "iat": now, "exp": now + 3600}
    body.update(claims)
    return f"{part({'alg': 'RS256', 'kid': 'emulator'})}.{part(body)}.c2lnbmF0dXJl"


def assume_with_oidc(emulator, signature, token, role=ROLE):
    client = emulator.client("sts", signature, key=None)
    request = sts.AssumeRoleWithOIDCRequest(
        role_arn=role,
        oidcprovider_arn=OIDC_PROVIDER,
        oidctoken=token,
        role_session_name="sdk-oidc",
        duration_seconds=900,
    )
    return client.assume_role_with_oidc(request).body


# --- STS ---------------------------------------------------------------------------------------------


def test_assume_role_keys_work_for_ecs_until_the_clock_passes_their_expiry(emulator, signature):
    body = assume(emulator, signature, duration_seconds=900)
    assert body.request_id
    assert body.assumed_role_user.arn == f"acs:ram::{OWNER}:role/{ROLE_NAME}/sdk-session"
    assert body.assumed_role_user.assumed_role_id.endswith(":sdk-session")
    key = keys_of(body.credentials)
    assert key[0].startswith("STS.") and key[2].startswith("CAIS")
    assert 880 <= seconds_until(body.credentials.expiration) <= 900
    assert emulator.calls()["bySignature"] == {signature: 1}

    for use in ("v3", "v1"):
        assert describe(emulator.client("ecs", use, key=key)).image_id == IMAGE
    emulator.control("clock", {"advanceSeconds": 900})
    for use in ("v3", "v1"):
        assert_error(lambda: describe(emulator.client("ecs", use, key=key)), 400, "InvalidSecurityToken.Expired")
        assert_error(lambda: describe(emulator.client("ecs", use, key=key[:2])), 400, "MissingSecurityToken")


def test_assume_role_errors(emulator, signature):
    assert_error(lambda: assume(emulator, signature, role="acs:ram::1234567890123456:role/none"), 404,
                 "EntityNotExist.Role")
    assert_error(lambda: assume(emulator, signature, role="arn:aws:iam::1:role/x"), 400, "InvalidParameter.RoleArn")
    assert_error(lambda: assume(emulator, signature, duration_seconds=899), 400, "InvalidParameter.DurationSeconds")
    client = emulator.client("sts", signature)
    assert_error(lambda: client.assume_role(sts.AssumeRoleRequest(role_arn=ROLE, role_session_name="x")), 400,
                 "InvalidParameter.RoleSessionName")
    assert_error(lambda: assume(emulator, signature, role=EXTERNAL_ID_ROLE), 403, "NoPermission")
    assert_error(lambda: assume(emulator, signature, role=EXTERNAL_ID_ROLE, key=OTHER_KEY,
                                external_id="emulator-external-id"), 403, "NoPermission")
    assume(emulator, signature, role=EXTERNAL_ID_ROLE, external_id="emulator-external-id")


def test_cross_account_keys_act_for_the_roles_account(emulator, signature):
    key = keys_of(assume(emulator, signature, role=CROSS_ACCOUNT_ROLE).credentials)
    client = emulator.client("ecs", signature, key=key)
    assert describe(client, OTHER_OWNERS_IMAGE).image_id == OTHER_OWNERS_IMAGE
    assert_error(lambda: describe(client, IMAGE), 404, "InvalidImageId.NotFound")
    issued = emulator.state()["stsCredentials"]
    assert [(c["accessKeyId"], c["accountId"]) for c in issued] == [(key[0], OTHER)]


def test_assume_role_with_oidc_is_sent_anonymously(emulator, signature):
    body = assume_with_oidc(emulator, signature, jwt())
    assert body.oidctoken_info.issuer == OIDC_ISSUER
    assert body.oidctoken_info.client_ids == OIDC_AUDIENCE
    assert body.oidctoken_info.subject == "sdk-subject"
    assert body.assumed_role_user.arn == f"acs:ram::{OWNER}:role/{ROLE_NAME}/sdk-oidc"
    assert 880 <= seconds_until(body.credentials.expiration) <= 900
    # The SDK sent it without a key or a signature.
    assert emulator.calls()["bySignature"] == {"anonymous": 1}
    key = keys_of(body.credentials)
    assert describe(emulator.client("ecs", signature, key=key)).image_id == IMAGE
    emulator.control("clock", {"advanceSeconds": 900})
    assert_error(lambda: describe(emulator.client("ecs", signature, key=key)), 400, "InvalidSecurityToken.Expired")


def test_oidc_errors(emulator, signature):
    cases = [
        (jwt(iss="https://elsewhere.invalid"), "AuthenticationFail.OIDCToken.IssuerNotMatch"),
        (jwt(aud="another-client"), "AuthenticationFail.OIDCToken.AudienceNotMatch"),
        (jwt(exp=int(time.time()) - 10), "AuthenticationFail.OIDCToken.Expired"),
        ("not.a-jwt", "AuthenticationFail.OIDCToken.Invalid"),
    ]
    for token, code in cases:
        assert_error(lambda: assume_with_oidc(emulator, signature, token), 401, code)
    assert_error(lambda: assume_with_oidc(emulator, signature, jwt(), role=EXTERNAL_ID_ROLE), 401,
                 "AuthenticationFail.NoPermission")


# --- alibabacloud-credentials ------------------------------------------------------------------------


def ecs_role_provider(emulator, **options):
    # The provider's metadata host is fixed (100.100.100.200); its proxy option sends its requests to the
    # emulator's metadata service instead, which answers requests in proxy form.
    return EcsRamRoleCredentialsProvider(
        http_options=HttpOptions(proxy=emulator.metadata),
        async_update_enabled=False,
        **options,
    )


def test_ecs_ram_role_provider_reads_the_metadata_service(emulator, signature):
    provider = ecs_role_provider(emulator)
    credentials = provider.get_credentials()
    assert credentials.get_access_key_id().startswith("STS.")
    assert credentials.get_provider_name() == "ecs_ram_role"
    assert 21_500 <= credentials.get_expiration() - time.time() <= 21_600
    calls = emulator.calls()["byAction"]
    # A session token first (hardened mode), then the role name, then the role's credentials.
    assert calls["IMDS.Token"] >= 1 and calls["IMDS.RoleList"] == 1 and calls["IMDS.RoleCredentials"] == 1

    client = emulator.client("ecs", signature, credential=CredentialClient(provider=provider))
    assert describe(client).image_id == IMAGE


def test_ecs_ram_role_provider_under_imds_v2_hardening(emulator):
    emulator.control("config", {"imdsV2Required": True})
    provider = ecs_role_provider(emulator, role_name=ROLE_NAME, disable_imds_v1=True)
    key = provider.get_credentials()
    client = emulator.client("ecs", "v3", key=(key.get_access_key_id(), key.get_access_key_secret(),
                                               key.get_security_token()))
    assert describe(client).image_id == IMAGE
    assert "IMDS.RoleList" not in emulator.calls()["byAction"], "the role name was given"


def test_ecs_ram_role_provider_fails_without_an_instance_role(emulator):
    emulator.control("instance-role", method="DELETE")
    with pytest.raises(Exception, match="HttpCode=404"):
        ecs_role_provider(emulator).get_credentials()


def test_credentials_uri_provider(emulator, signature):
    provider = URLCredentialsProvider(uri=f"{emulator.url}/_emulator/credentials-uri")
    credentials = provider.get_credentials()
    assert credentials.get_provider_name() == "credential_uri"
    assert 3580 <= credentials.get_expiration() - time.time() <= 3600
    client = emulator.client("ecs", signature, credential=CredentialClient(provider=provider))
    assert describe(client).image_id == IMAGE
    assert emulator.calls()["byAction"]["CredentialsUri"] == 1, "the provider caches the credential"

    other = URLCredentialsProvider(uri=f"{emulator.url}/_emulator/credentials-uri?roleArn={CROSS_ACCOUNT_ROLE}")
    client = emulator.client("ecs", signature, credential=CredentialClient(provider=other))
    assert describe(client, OTHER_OWNERS_IMAGE).image_id == OTHER_OWNERS_IMAGE
