//! The ECS instance metadata service (its own port): session tokens, the role name, the role's temporary
//! credentials and their rotation, IMDSv2 hardening, fault rules; and the credentials URI on the control API.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN_TTL: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN: &str = "x-aliyun-ecs-metadata-token";
const CREDENTIALS: &str = "/latest/meta-data/ram/security-credentials/";

async fn get(e: &Emulator, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = e.http.get(format!("{}{path}", e.metadata));
    if let Some(token) = token {
        request = request.header(TOKEN, token);
    }
    let response = request.send().await.expect("the metadata service answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn put_token(e: &Emulator, ttl: Option<&str>) -> (u16, String) {
    let mut request = e.http.put(format!("{}/latest/api/token", e.metadata));
    if let Some(ttl) = ttl {
        request = request.header(TOKEN_TTL, ttl);
    }
    let response = request.send().await.expect("the metadata service answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn token(e: &Emulator, ttl: u64) -> String {
    let (status, token) = put_token(e, Some(&ttl.to_string())).await;
    assert_eq!(status, 200, "{token}");
    assert!(!token.is_empty());
    token
}

/// The instance role's credentials, parsed.
async fn credentials(e: &Emulator, token: Option<&str>) -> Value {
    let (status, body) = get(e, &format!("{CREDENTIALS}{ROLE_NAME}"), token).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON credentials")
}

fn key(c: &Value) -> (String, String, String) {
    let field = |name: &str| c[name].as_str().expect(name).to_string();
    (
        field("AccessKeyId"),
        field("AccessKeySecret"),
        field("SecurityToken"),
    )
}

fn seconds_until(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .timestamp()
        - chrono::Utc::now().timestamp()
}

/// DescribeImageSharePermission with temporary credentials.
fn describe<'a>(e: &'a Emulator, key: &(String, String, String), image: &str) -> Call<'a> {
    e.v3(ECS, "DescribeImageSharePermission")
        .sts((&key.0, &key.1, &key.2))
        .param("RegionId", REGION)
        .param("ImageId", image)
}

#[tokio::test]
async fn normal_mode_lists_the_role_and_hands_out_its_credentials() {
    let e = Emulator::start().await;
    let (status, names) = get(&e, CREDENTIALS, None).await;
    assert_eq!((status, names.as_str()), (200, ROLE_NAME));
    let (status, names) = get(&e, CREDENTIALS.trim_end_matches('/'), None).await;
    assert_eq!((status, names.as_str()), (200, ROLE_NAME));

    let first = credentials(&e, None).await;
    assert_eq!(first["Code"], "Success");
    for field in ["Expiration", "LastUpdated"] {
        let text = first[field].as_str().expect(field);
        assert_eq!(text.len(), 20, "{field}: {text}");
    }
    let lifetime = seconds_until(first["Expiration"].as_str().expect("Expiration"));
    assert!((21_590..=21_600).contains(&lifetime), "{lifetime}");
    let k = key(&first);
    assert!(k.0.starts_with("STS."));
    describe(&e, &k, IMAGE).ok().await;

    // The same credential until a quarter of its lifetime is left.
    assert_eq!(key(&credentials(&e, None).await), k);
    e.advance_clock(16_000.0).await;
    assert_eq!(key(&credentials(&e, None).await), k);
    e.advance_clock(300.0).await;
    let second = credentials(&e, None).await;
    assert_ne!(key(&second), k);
    describe(&e, &k, IMAGE).ok().await;
    e.advance_clock(6_000.0).await;
    describe(&e, &k, IMAGE)
        .fails(400, "InvalidSecurityToken.Expired")
        .await;
    describe(&e, &key(&second), IMAGE).ok().await;

    let state = e.control_get("state").await;
    let sources: Vec<&str> = state["stsCredentials"]
        .as_array()
        .expect("stsCredentials")
        .iter()
        .map(|c| c["source"].as_str().expect("source"))
        .collect();
    assert_eq!(sources, ["metadata", "metadata"]);
    let calls = e.control_get("calls").await;
    assert_eq!(calls["byAction"]["IMDS.RoleList"], 2);
    assert_eq!(calls["byAction"]["IMDS.RoleCredentials"], 4);
    e.stop().await;
}

#[tokio::test]
async fn session_tokens_are_checked_and_expire() {
    let e = Emulator::start().await;
    for bad in [None, Some("0"), Some("21601"), Some("soon")] {
        let (status, _) = put_token(&e, bad).await;
        assert_eq!(status, 400, "ttl {bad:?}");
    }
    let (status, _) = e
        .http
        .get(format!("{}/latest/api/token", e.metadata))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .expect("answer");
    assert_eq!(status, 405);

    let t = token(&e, 60).await;
    assert_eq!(get(&e, CREDENTIALS, Some(&t)).await.0, 200);
    credentials(&e, Some(&t)).await;
    // An unknown token is refused even when tokens are optional.
    assert_eq!(get(&e, CREDENTIALS, Some("not-a-token")).await.0, 401);
    e.advance_clock(60.0).await;
    assert_eq!(get(&e, CREDENTIALS, Some(&t)).await.0, 401, "expired");
    assert_eq!(get(&e, CREDENTIALS, None).await.0, 200, "normal mode");
    e.stop().await;
}

#[tokio::test]
async fn hardening_mode_refuses_requests_without_a_token() {
    let e = Emulator::start().await;
    let (status, config) = e
        .control_post("config", json!({"imdsV2Required": true}))
        .await;
    assert_eq!((status, &config["imdsV2Required"]), (200, &json!(true)));
    assert_eq!(get(&e, CREDENTIALS, None).await.0, 401);
    let (status, _) = get(&e, &format!("{CREDENTIALS}{ROLE_NAME}"), None).await;
    assert_eq!(status, 401);
    let t = token(&e, 21_600).await;
    assert_eq!(get(&e, CREDENTIALS, Some(&t)).await.1, ROLE_NAME);
    let c = credentials(&e, Some(&t)).await;
    describe(&e, &key(&c), IMAGE).ok().await;
    // Reset turns it off.
    e.control_post("reset", json!({})).await;
    assert_eq!(get(&e, CREDENTIALS, None).await.0, 200);
    e.stop().await;
}

#[tokio::test]
async fn the_instance_role_can_be_changed_or_removed() {
    let e = Emulator::start().await;
    assert_eq!(
        get(&e, &format!("{CREDENTIALS}another-role"), None).await.0,
        404
    );
    let (status, _) = e
        .control_post(
            "instance-role",
            json!({"name": "cross-account-role", "roleArn": "acs:ram::1234567890123456:role/none"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = e
        .control_post(
            "instance-role",
            json!({"name": "cross-account-role", "roleArn": CROSS_ACCOUNT_ROLE, "durationSeconds": 900}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(&e, CREDENTIALS, None).await.1, "cross-account-role");
    let (status, body) = get(&e, &format!("{CREDENTIALS}cross-account-role"), None).await;
    assert_eq!(status, 200);
    let c: Value = serde_json::from_str(&body).expect("JSON");
    let lifetime = seconds_until(c["Expiration"].as_str().expect("Expiration"));
    assert!((890..=900).contains(&lifetime), "{lifetime}");
    describe(&e, &key(&c), OTHER_OWNERS_IMAGE).ok().await;
    describe(&e, &key(&c), IMAGE)
        .fails(404, "InvalidImageId.NotFound")
        .await;

    let removed = e
        .http
        .delete(format!("{}/_emulator/instance-role", e.url))
        .send()
        .await
        .expect("answer");
    assert_eq!(removed.status().as_u16(), 200);
    assert_eq!(get(&e, CREDENTIALS, None).await.0, 404);
    assert_eq!(
        get(&e, &format!("{CREDENTIALS}cross-account-role"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        e.control_get("instance-role").await["instanceRole"],
        Value::Null
    );
    assert_eq!(get(&e, "/latest/meta-data/instance-id", None).await.0, 404);
    e.stop().await;
}

#[tokio::test]
async fn fault_rules_that_name_metadata_requests_apply_to_them() {
    let e = Emulator::start().await;
    // A rule without an action is for API calls only.
    e.fault(json!({"kind": "server_error"})).await;
    credentials(&e, None).await;
    let _ = e
        .http
        .delete(format!("{}/_emulator/faults", e.url))
        .send()
        .await;

    let id = e
        .fault(json!({"kind": "error", "action": "IMDS.RoleCredentials", "code": "x", "httpStatus": 500, "message": "broken"}))
        .await;
    let (status, body) = get(&e, &format!("{CREDENTIALS}{ROLE_NAME}"), None).await;
    assert_eq!((status, body.as_str()), (500, "broken"));
    assert_eq!(e.fault_rule(id).await["used"], 1);
    credentials(&e, None).await;

    e.fault(json!({"kind": "drop_before", "action": "IMDS.Token"}))
        .await;
    assert!(
        e.http
            .put(format!("{}/latest/api/token", e.metadata))
            .header(TOKEN_TTL, "60")
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .is_err(),
        "the connection is dropped"
    );
    token(&e, 60).await;

    e.fault(json!({"kind": "hang", "action": "IMDS.RoleList", "latencyMs": 5000}))
        .await;
    let held = e
        .http
        .get(format!("{}{CREDENTIALS}", e.metadata))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(held.is_err(), "a client with a short timeout gives up");
    let calls = e.control_get("calls").await;
    assert_eq!(calls["byAction"]["IMDS.Token"], 2);
    assert_eq!(calls["byAction"]["IMDS.RoleList"], 1);
    e.stop().await;
}

#[tokio::test]
async fn proxy_form_requests_for_the_metadata_host_are_answered() {
    let e = Emulator::start().await;
    // What an HTTP client sends to a proxy: the absolute URL of the real metadata host. Sent by hand on
    // loopback, so nothing leaves this machine.
    let addr = e.metadata.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            b"GET http://100.100.100.200/latest/meta-data/ram/security-credentials/ HTTP/1.1\r\nHost: 100.100.100.200\r\nConnection: close\r\n\r\n",
        )
        .await
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(ROLE_NAME), "{answer}");
    e.stop().await;
}

#[tokio::test]
async fn the_control_api_knows_the_metadata_url() {
    let e = Emulator::start().await;
    assert_eq!(e.control_get("metadata").await["url"], e.metadata.as_str());
    e.stop().await;
}

async fn uri(e: &Emulator, query: &str) -> (u16, Value) {
    let response = e
        .http
        .get(format!("{}/_emulator/credentials-uri{query}", e.url))
        .send()
        .await
        .expect("answer");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_credentials_uri_hands_out_keys_of_the_configured_role() {
    let e = Emulator::start().await;
    let (status, body) = uri(&e, "").await;
    assert_eq!((status, &body["Code"]), (200, &json!("Success")), "{body}");
    let k = key(&body);
    let lifetime = seconds_until(body["Expiration"].as_str().expect("Expiration"));
    assert!((3590..=3600).contains(&lifetime), "{lifetime}");
    describe(&e, &k, IMAGE).ok().await;
    // Each request issues a new credential.
    assert_ne!(key(&uri(&e, "").await.1), k);

    let (status, body) = uri(
        &e,
        &format!("?roleArn={CROSS_ACCOUNT_ROLE}&durationSeconds=900"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    describe(&e, &key(&body), OTHER_OWNERS_IMAGE).ok().await;
    let (status, body) = uri(&e, "?roleArn=acs:ram::1234567890123456:role/none").await;
    assert_eq!(
        (status, &body["Code"]),
        (404, &json!("EntityNotExist.Role"))
    );
    let (status, _) = uri(&e, "?durationSeconds=100").await;
    assert_eq!(status, 400);

    e.advance_clock(3600.0).await;
    describe(&e, &k, IMAGE)
        .fails(400, "InvalidSecurityToken.Expired")
        .await;
    assert_eq!(
        e.control_get("calls").await["byAction"]["CredentialsUri"],
        5
    );

    // A seed without credentialsUri: not configured.
    let mut seed: Value =
        serde_json::from_str(alicloud_emulator::model::DEFAULT_SEED).expect("seed");
    seed.as_object_mut().expect("seed").remove("credentialsUri");
    assert_eq!(e.control_post("seed", seed).await.0, 200);
    let (status, body) = uri(&e, "").await;
    assert_eq!((status, &body["Code"]), (404, &json!("NotConfigured")));
    e.stop().await;
}
