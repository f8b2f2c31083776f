//! Property tests of request parsing on `/`: whatever arrives (any method, query, form, headers and body,
//! signed or not, and any OIDC token text), the emulator answers without panicking, and every refusal is
//! Alibaba's error envelope with a non-empty `Code` and `Message`. Requests go through the router with
//! `oneshot`, no network.

mod common;

use std::sync::Arc;

use alicloud_emulator::model::{DEFAULT_SEED, World};
use alicloud_emulator::{Shared, Timing, api};
use alicloud_openapi::{Credentials, sign};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use base64::Engine as _;
use common::{
    DESKTOP, ECD, ECS, IMAGE, KEY, OIDC_ISSUER, OIDC_PROVIDER, OTHER, RECIPIENT, REGION, ROLE, STS,
    STS_VERSION,
};
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

/// A fresh emulator state from the default seed.
fn shared() -> Arc<Shared> {
    let seed: World = serde_json::from_str(DEFAULT_SEED).expect("the default seed parses");
    Shared::new(seed.clone(), seed, Timing::default(), None)
}

/// Sends one request through the router; returns the status and the whole body.
fn send(request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let response = api::router(shared())
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("a complete body (no fault rules are set)");
        (status, body.to_vec())
    })
}

/// An answer is either a success with a `RequestId`, or Alibaba's error envelope.
fn well_formed(status: StatusCode, body: &[u8]) -> Result<Value, TestCaseError> {
    let text = String::from_utf8_lossy(body);
    let json: Value = serde_json::from_slice(body)
        .map_err(|err| TestCaseError::fail(format!("{status}: not JSON ({err}): {text}")))?;
    let non_empty = |field: &str| json[field].as_str().is_some_and(|v| !v.is_empty());
    if status == StatusCode::OK {
        prop_assert!(non_empty("RequestId"), "success without RequestId: {text}");
    } else {
        prop_assert!(
            status.is_client_error() || status.is_server_error(),
            "{status}: {text}"
        );
        for field in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
            prop_assert!(non_empty(field), "{status}: {field} missing from {text}");
        }
    }
    Ok(json)
}

/// Names and values that reach deeper into parsing than random text does.
const WORDS: &[&str] = &[
    "Action",
    "Version",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "AccessKeyId",
    "SecurityToken",
    "HMAC-SHA1",
    "1.0",
    ECS,
    ECD,
    "2014-05-25",
    "DescribeImageSharePermission",
    "ModifyImageSharePermission",
    "CreateImage",
    "DescribeImages",
    "ModifyImageAttribute",
    "DeleteImages",
    "RegionId",
    REGION,
    "cn-nowhere",
    "ImageId",
    "ImageId.1",
    "ImageId.0",
    "ImageId.x",
    "ImageId.99999999999999999999999",
    "AddAccount.1",
    "AddAccount.11",
    "RemoveAccount.1",
    OTHER,
    "4999999999999999",
    IMAGE,
    DESKTOP,
    "DesktopId",
    "ImageName",
    "Name",
    "Description",
    "PageSize",
    "PageNumber",
    "MaxResults",
    "NextToken",
    "ImageStatus",
    "-1",
    "0",
    "101",
    "18446744073709551616",
    "2026-01-01T00:00:00Z",
    "9999-99-99T99:99:99Z",
    "%ZZ",
    "%",
    "&&==",
    "镜像",
    "",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(str::to_string),
        2 => any::<String>(),
        1 => "[A-Za-z0-9._:-]{0,24}",
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((word(), word()), 0..12)
}

/// A query string: well encoded pairs, or raw characters a URI may carry.
fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        pairs().prop_map(|p| sign::canonical_query(&p)),
        "[A-Za-z0-9%&=._~+*!$'(),;:@/?-]{0,80}",
    ]
}

const HEADER_NAMES: &[&str] = &[
    "authorization",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
    "x-acs-security-token",
    "content-type",
    "host",
];

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(WORDS).prop_map(str::to_string),
        Just("application/x-www-form-urlencoded".to_string()),
        Just(format!(
            "ACS3-HMAC-SHA256 Credential={},SignedHeaders=host;x-acs-action,Signature=00",
            KEY.0
        )),
        "ACS3-[ -~]{0,60}",
        "[ -~]{0,60}",
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        3 => prop::sample::select(HEADER_NAMES).prop_map(str::to_string),
        1 => "x-acs-[a-z0-9-]{1,12}",
        1 => "[a-z][a-z0-9-]{0,12}",
    ];
    prop::collection::vec((name, header_value()), 0..8)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        pairs().prop_map(|p| sign::canonical_query(&p).into_bytes()),
        prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ])
}

/// The common V1 parameters, which a signed request's own parameters must not repeat.
const COMMON: &[&str] = &[
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "SecurityToken",
    "Signature",
];

/// Parameters that make calls valid, so random ones get past the first required-parameter check.
const VALID: &[(&str, &str)] = &[
    ("RegionId", REGION),
    ("ImageId", IMAGE),
    ("ImageId.1", IMAGE),
    ("DesktopId", DESKTOP),
    ("AddAccount.1", OTHER),
    ("RemoveAccount.1", RECIPIENT),
    ("ImageName", "golden"),
    ("Name", "renamed"),
    ("RoleArn", ROLE),
    ("RoleSessionName", "prop-session"),
    ("DurationSeconds", "900"),
    ("OIDCProviderArn", OIDC_PROVIDER),
];

/// Some valid parameters and some random ones, in either order (the first of a repeated name counts).
fn call_params() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        prop::sample::subsequence(VALID, 0..=VALID.len()),
        pairs(),
        any::<bool>(),
    )
        .prop_map(|(valid, random, random_first)| {
            let valid = valid.iter().map(|(k, v)| (k.to_string(), v.to_string()));
            let random = random
                .into_iter()
                .filter(|(k, _)| !COMMON.contains(&k.as_str()));
            if random_first {
                random.chain(valid).collect()
            } else {
                valid.chain(random).collect()
            }
        })
}

fn actions() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop::sample::select(vec![
        (ECS, "ModifyImageSharePermission"),
        (ECS, "DescribeImageSharePermission"),
        (ECD, "CreateImage"),
        (ECD, "DescribeImages"),
        (ECD, "ModifyImageAttribute"),
        (ECD, "DeleteImages"),
        (STS_VERSION, "AssumeRole"),
        (STS_VERSION, "AssumeRoleWithOIDC"),
    ])
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// OIDC token text: anything, three arbitrary parts, or a JWT whose claims are partly right.
fn oidc_token() -> impl Strategy<Value = String> {
    let claim = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        word().prop_map(Value::from),
        Just(Value::from(OIDC_ISSUER)),
        Just(Value::from("sts.aliyuncs.com")),
        Just(serde_json::json!(["sts.aliyuncs.com", 1])),
        Just(Value::from(4_000_000_000_i64)),
    ];
    let jwt = (
        prop::sample::select(vec!["RS256", "HS256", "none", "ES256", ""]),
        claim.clone(),
        claim.clone(),
        claim,
        "[A-Za-z0-9_-]{0,12}",
    )
        .prop_map(|(alg, iss, aud, exp, signature)| {
            let header = serde_json::json!({"alg": alg});
            let claims = serde_json::json!({"iss": iss, "aud": aud, "exp": exp});
            format!(
                "{}.{}.{signature}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            )
        });
    prop_oneof![
        1 => any::<String>(),
        1 => (word(), word(), word()).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        3 => jwt,
    ]
}

/// An unsigned request (V3 headers or V1 parameters) carrying `params`.
fn anonymous(
    v3: bool,
    (version, action): (&str, &str),
    params: &[(String, String)],
) -> Request<Body> {
    let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let nonce = uuid::Uuid::new_v4().to_string();
    let call = sign::Call {
        method: "POST",
        host: "127.0.0.1",
        action,
        version,
        timestamp: &timestamp,
        nonce: &nonce,
        credentials: None,
    };
    let builder = Request::builder().method(Method::POST);
    if v3 {
        let mut builder = builder.uri(format!("/?{}", sign::canonical_query(params)));
        for (name, value) in call.v3_headers(&[], b"") {
            builder = builder.header(name, value);
        }
        builder.body(Body::empty()).expect("request")
    } else {
        builder
            .uri(format!(
                "/?{}",
                sign::canonical_query(&call.v1_params(params))
            ))
            .header("host", "127.0.0.1")
            .body(Body::empty())
            .expect("request")
    }
}

/// A correctly signed request (V3 or V1, a permanent or an STS key) carrying `params`.
fn signed(
    v3: bool,
    sts: bool,
    get: bool,
    (version, action): (&str, &str),
    params: &[(String, String)],
) -> Request<Body> {
    let host = "127.0.0.1";
    let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let nonce = uuid::Uuid::new_v4().to_string();
    let credentials = if sts {
        Credentials::new(STS.0, STS.1, Some(STS.2.to_string()), "test")
    } else {
        Credentials::new(KEY.0, KEY.1, None, "test")
    };
    let call = sign::Call {
        method: if get { "GET" } else { "POST" },
        host,
        action,
        version,
        timestamp: &timestamp,
        nonce: &nonce,
        credentials: Some(&credentials),
    };
    let builder = Request::builder().method(call.method);
    if v3 {
        let mut builder = builder.uri(format!("/?{}", sign::canonical_query(params)));
        for (name, value) in call.v3_headers(params, b"") {
            builder = builder.header(name, value);
        }
        builder.body(Body::empty()).expect("request")
    } else {
        let all = call.v1_params(params);
        builder
            .uri(format!("/?{}", sign::canonical_query(&all)))
            .header("host", host)
            .body(Body::empty())
            .expect("request")
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Anything at all: never a panic, always an answer of the right shape.
    #[test]
    fn any_request_gets_a_well_formed_answer(
        method in method(),
        path in prop_oneof![4 => Just("/".to_string()), 1 => "/[a-z_/]{0,16}"],
        query in query(),
        headers in headers(),
        body in body(),
    ) {
        let mut builder = Request::builder().method(method).uri(format!("{path}?{query}"));
        for (name, value) in &headers {
            let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) else {
                continue;
            };
            builder = builder.header(name, value);
        }
        let Ok(request) = builder.body(Body::from(body)) else {
            // Not a request http can even represent.
            return Ok(());
        };
        let (status, answer) = send(request);
        well_formed(status, &answer)?;
    }

    /// A form body next to a V1-looking query: parsed together, never a panic.
    #[test]
    fn form_bodies_are_parsed_safely(query in pairs(), form in pairs(), raw in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut body = sign::canonical_query(&form).into_bytes();
        body.extend(raw);
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/?Signature=x&{}", sign::canonical_query(&query)))
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(Body::from(body))
            .expect("request");
        let (status, answer) = send(request);
        let json = well_formed(status, &answer)?;
        prop_assert_ne!(status, StatusCode::OK, "an unsigned call succeeded: {}", json);
    }

    /// Correctly signed requests with arbitrary parameters get past the signature checks (the verifier
    /// agrees with an independent signer on any text) and then get an answer or an envelope.
    #[test]
    fn signed_requests_with_any_parameters_are_answered(
        v3 in any::<bool>(),
        sts in any::<bool>(),
        get in any::<bool>(),
        action in actions(),
        params in call_params(),
    ) {
        let (status, answer) = send(signed(v3, sts, get, action, &params));
        let json = well_formed(status, &answer)?;
        let code = json["Code"].as_str().unwrap_or_default();
        prop_assert!(
            !matches!(code, "SignatureDoesNotMatch" | "IncompleteSignature" | "MissingSecurityToken"),
            "a correctly signed request was refused: {}", json
        );
    }

    /// Unsigned calls: AssumeRoleWithOIDC with any parameters and any token text gets credentials or a
    /// complete envelope (never a signature refusal); any other action is refused as unsigned.
    #[test]
    fn anonymous_calls_with_any_parameters_and_tokens_are_answered(
        v3 in any::<bool>(),
        action in actions(),
        params in call_params(),
        token in oidc_token(),
    ) {
        let mut params = params;
        params.insert(0, ("OIDCToken".to_string(), token));
        let (status, answer) = send(anonymous(v3, action, &params));
        let json = well_formed(status, &answer)?;
        let code = json["Code"].as_str().unwrap_or_default();
        if action.1 == "AssumeRoleWithOIDC" {
            prop_assert_ne!(code, "IncompleteSignature", "{}", json);
            if status == StatusCode::OK {
                prop_assert!(json["Credentials"]["AccessKeyId"].is_string(), "{}", json);
            }
        } else {
            prop_assert_eq!(code, "IncompleteSignature", "{}", json);
        }
    }
}

/// Found by the properties above: an empty `Host` header once gave an envelope with an empty `HostId`.
#[test]
fn an_empty_host_header_still_gives_a_host_id() {
    let request = Request::builder()
        .uri("/")
        .header("host", "")
        .body(Body::empty())
        .expect("request");
    let (status, body) = send(request);
    let json: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["HostId"], "127.0.0.1");
}
