//! Signature checks for both schemes, credentials, time, nonces, versions, actions and routing, each with
//! Alibaba's code, HTTP status and envelope.

mod common;

use common::*;
use serde_json::Value;

fn describe_shares(c: Call<'_>) -> Call<'_> {
    c.param("RegionId", REGION).param("ImageId", IMAGE)
}

fn minutes_ago(m: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(m))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

async fn calls(e: &Emulator) -> Value {
    e.control_get("calls").await
}

#[tokio::test]
async fn both_schemes_are_accepted_in_every_transport_the_sdks_use() {
    let e = Emulator::start().await;
    describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .ok()
        .await;
    describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .with(|c| c.method = "GET")
        .ok()
        .await;
    describe_shares(e.v1(ECS, "DescribeImageSharePermission"))
        .ok()
        .await;
    describe_shares(e.v1(ECS, "DescribeImageSharePermission"))
        .with(|c| c.method = "GET")
        .ok()
        .await;
    describe_shares(e.v1(ECS, "DescribeImageSharePermission"))
        .with(|c| c.form = true)
        .ok()
        .await;
    let counted = calls(&e).await;
    assert_eq!(counted["bySignature"]["v3"], 2);
    assert_eq!(counted["bySignature"]["v1"], 3);
    e.stop().await;
}

#[tokio::test]
async fn parameters_with_reserved_characters_are_signed_correctly() {
    let e = Emulator::start().await;
    for call in [e.v3(ECD, "CreateImage"), e.v1(ECD, "CreateImage")] {
        call.param("RegionId", REGION)
            .param("DesktopId", DESKTOP)
            .param("ImageName", "镜像:v1_a-b")
            .param("Description", "spaces, *stars*, ~tildes~ & 100% unicode ✓")
            .ok()
            .await;
    }
    let images = e.ecd_images().await;
    assert_eq!(images.len(), 2);
    assert!(
        images
            .iter()
            .all(|i| i["description"] == "spaces, *stars*, ~tildes~ & 100% unicode ✓")
    );
    e.stop().await;
}

#[tokio::test]
async fn a_wrong_signature_is_refused_and_changes_nothing() {
    let e = Emulator::start().await;
    for call in [
        e.v3(ECS, "ModifyImageSharePermission")
            .key(KEY.0, "wrong-secret"),
        e.v1(ECS, "ModifyImageSharePermission")
            .key(KEY.0, "wrong-secret"),
        e.v3(ECS, "ModifyImageSharePermission")
            .with(|c| c.signature = Some("0".repeat(64))),
        e.v1(ECS, "ModifyImageSharePermission")
            .with(|c| c.signature = Some("AAAA".into())),
    ] {
        let body = call
            .param("RegionId", REGION)
            .param("ImageId", IMAGE)
            .param("AddAccount.1", OTHER)
            .fails(400, "SignatureDoesNotMatch")
            .await;
        assert!(
            body["Message"]
                .as_str()
                .is_some_and(|m| m.contains("string to sign"))
        );
    }
    assert!(e.shares(IMAGE).await.is_empty());
    e.stop().await;
}

#[tokio::test]
async fn unknown_keys_and_sts_tokens_get_their_codes() {
    let e = Emulator::start().await;
    for call in [
        e.v3(ECS, "DescribeImageSharePermission"),
        e.v1(ECS, "DescribeImageSharePermission"),
    ] {
        describe_shares(call.key("LTAI5tNoSuchKey0000000", "x"))
            .fails(404, "InvalidAccessKeyId.NotFound")
            .await;
    }
    describe_shares(e.v3(ECS, "DescribeImageSharePermission").sts(STS))
        .ok()
        .await;
    describe_shares(e.v1(ECS, "DescribeImageSharePermission").sts(STS))
        .ok()
        .await;
    describe_shares(
        e.v3(ECS, "DescribeImageSharePermission")
            .sts((STS.0, STS.1, "other-token")),
    )
    .fails(400, "InvalidSecurityToken.MismatchWithAccessKey")
    .await;
    describe_shares(
        e.v1(ECS, "DescribeImageSharePermission")
            .sts((STS.0, STS.1, "other-token")),
    )
    .fails(400, "InvalidSecurityToken.MismatchWithAccessKey")
    .await;
    // An STS key without its token, in either scheme (an expired one too: the token is asked for first).
    for call in [
        e.v1(ECS, "DescribeImageSharePermission").key(STS.0, STS.1),
        e.v3(ECS, "DescribeImageSharePermission").key(STS.0, STS.1),
        e.v3(ECS, "DescribeImageSharePermission")
            .key(EXPIRED_STS.0, EXPIRED_STS.1),
    ] {
        describe_shares(call)
            .fails(400, "MissingSecurityToken")
            .await;
    }
    // A token sent with a permanent key.
    describe_shares(
        e.v3(ECS, "DescribeImageSharePermission")
            .sts((KEY.0, KEY.1, "stray-token")),
    )
    .fails(400, "InvalidSecurityToken.MismatchWithAccessKey")
    .await;
    describe_shares(e.v3(ECS, "DescribeImageSharePermission").sts(EXPIRED_STS))
        .fails(400, "InvalidSecurityToken.Expired")
        .await;
    e.stop().await;
}

#[tokio::test]
async fn timestamps_must_be_well_formed_and_within_fifteen_minutes() {
    let e = Emulator::start().await;
    for scheme in [Scheme::V3, Scheme::V1] {
        let call = |date: String| {
            describe_shares(e.call(scheme, ECS, "DescribeImageSharePermission"))
                .with(move |c| c.date = date)
        };
        call(minutes_ago(14)).ok().await;
        call(minutes_ago(-14)).ok().await;
        for skewed in [
            minutes_ago(16),
            minutes_ago(-16),
            "2016-02-23T12:46:24Z".into(),
        ] {
            let body = call(skewed).fails(400, "InvalidTimeStamp.Expired").await;
            assert!(
                body["Message"]
                    .as_str()
                    .is_some_and(|m| m.contains("expired")),
                "{body}"
            );
        }
        call("yesterday".into())
            .fails(400, "InvalidTimeStamp.Format")
            .await;
    }
    e.stop().await;
}

#[tokio::test]
async fn a_nonce_is_single_use() {
    let e = Emulator::start().await;
    for scheme in [Scheme::V3, Scheme::V1] {
        let nonce = uuid::Uuid::new_v4().to_string();
        let call = || {
            let nonce = nonce.clone();
            describe_shares(e.call(scheme, ECS, "DescribeImageSharePermission"))
                .with(move |c| c.nonce = nonce)
        };
        call().ok().await;
        call().fails(400, "SignatureNonceUsed").await;
    }
    e.stop().await;
}

#[tokio::test]
async fn v3_headers_and_body_are_covered_by_the_signature() {
    let e = Emulator::start().await;
    let body = describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .with(|c| c.unsigned_header = Some(("x-acs-extra".into(), "sneaky".into())))
        .fails(400, "IncompleteSignature")
        .await;
    assert!(
        body["Message"]
            .as_str()
            .is_some_and(|m| m.contains("x-acs-extra"))
    );
    describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .with(|c| c.tampered_body = Some("RegionId=cn-shanghai".into()))
        .fails(400, "InvalidParameter.ContentSHA256")
        .await;
    e.stop().await;
}

#[tokio::test]
async fn unsigned_requests_are_incomplete() {
    let e = Emulator::start().await;
    let response = e
        .http
        .get(format!(
            "{}/?Action=DescribeImageSharePermission&Version={ECS}",
            e.url
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["Code"], "IncompleteSignature");
    let response = e
        .http
        .get(format!("{}/", e.url))
        .header("authorization", "ACS3-HMAC-SHA256 nonsense")
        .header("x-acs-action", "DescribeImageSharePermission")
        .header("x-acs-version", ECS)
        .send()
        .await
        .expect("answer");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["Code"], "IncompleteSignature");
    e.stop().await;
}

#[tokio::test]
async fn versions_actions_and_methods_are_checked() {
    let e = Emulator::start().await;
    describe_shares(e.v3("2014-05-25", "DescribeImageSharePermission"))
        .fails(400, "InvalidVersion")
        .await;
    describe_shares(e.v1("2014-05-25", "DescribeImageSharePermission"))
        .fails(400, "InvalidVersion")
        .await;
    describe_shares(e.v3("", "DescribeImageSharePermission"))
        .fails(400, "MissingParameter")
        .await;
    describe_shares(e.v1("", "DescribeImageSharePermission"))
        .fails(400, "MissingParameter")
        .await;
    describe_shares(e.v3(ECS, "DescribeInstances"))
        .fails(404, "InvalidAction.NotFound")
        .await;
    describe_shares(e.v1(ECD, "DescribeImageSharePermission"))
        .fails(404, "InvalidAction.NotFound")
        .await;
    describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .with(|c| c.method = "PUT")
        .fails(403, "UnsupportedHTTPMethod")
        .await;
    let response = e
        .http
        .get(format!("{}/some/path", e.url))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["Code"], "InvalidAction.NotFound");
    e.stop().await;
}

#[tokio::test]
async fn a_product_host_only_serves_its_own_product() {
    let e = Emulator::start().await;
    describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .with(|c| c.host = Some("ecs.cn-hangzhou.aliyuncs.com".into()))
        .ok()
        .await;
    describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .with(|c| c.host = Some("ecs-cn-hangzhou.aliyuncs.com".into()))
        .ok()
        .await;
    describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .with(|c| c.host = Some("ecd.cn-hangzhou.aliyuncs.com".into()))
        .fails(400, "InvalidVersion")
        .await;
    describe_shares(e.v1(ECS, "DescribeImageSharePermission"))
        .with(|c| c.host = Some("ecd.cn-hangzhou.aliyuncs.com".into()))
        .fails(400, "InvalidVersion")
        .await;
    e.stop().await;
}
