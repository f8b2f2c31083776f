//! STS 2015-04-01: AssumeRole (V3 and V1) and AssumeRoleWithOIDC (anonymous), the keys they issue (usable
//! for the role's account only, with their token, until their expiry on the credential clock), every
//! refusal with Alibaba's code and status, and the control routes for roles, OIDC providers and the clock.

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

type Issued = (String, String, String);

fn issued(body: &Value) -> Issued {
    let c = &body["Credentials"];
    let field = |name: &str| {
        c[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} missing from {body}"))
            .to_string()
    };
    (
        field("AccessKeyId"),
        field("AccessKeySecret"),
        field("SecurityToken"),
    )
}

fn expiration(body: &Value) -> i64 {
    let text = body["Credentials"]["Expiration"]
        .as_str()
        .expect("Expiration");
    assert_eq!(text.len(), 20, "YYYY-MM-DDThh:mm:ssZ: {text}");
    assert!(text.ends_with('Z'));
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .timestamp()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn assume<'a>(e: &'a Emulator, scheme: Scheme, role: &str) -> Call<'a> {
    e.call(scheme, STS_VERSION, "AssumeRole")
        .param("RoleArn", role)
        .param("RoleSessionName", "test-session")
}

fn describe_shares(c: Call<'_>) -> Call<'_> {
    c.param("RegionId", REGION).param("ImageId", IMAGE)
}

/// Describes the shares of `image` with an issued credential.
fn describe_with<'a>(e: &'a Emulator, scheme: Scheme, key: &Issued, image: &str) -> Call<'a> {
    e.call(scheme, ECS, "DescribeImageSharePermission")
        .sts((&key.0, &key.1, &key.2))
        .param("RegionId", REGION)
        .param("ImageId", image)
}

fn jwt_with(header: Value, claims: Value, signature: &str) -> String {
    let enc = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    format!("{}.{}.{signature}", enc(&header), enc(&claims))
}

fn jwt(claims: Value) -> String {
    jwt_with(
        json!({"alg": "RS256", "kid": "emulator"}),
        claims,
        "c2lnbmF0dXJlLW5vdC1jaGVja2Vk",
    )
}

fn good_claims() -> Value {
    json!({
        "iss": OIDC_ISSUER,
        "aud": OIDC_AUDIENCE,
        "sub": "system:serviceaccount:default:app",
        "iat": now(),
        "exp": now() + 3600,
    })
}

fn oidc<'a>(e: &'a Emulator, v3: bool, token: &str) -> Call<'a> {
    e.anonymous(v3, STS_VERSION, "AssumeRoleWithOIDC")
        .param("RoleArn", ROLE)
        .param("OIDCProviderArn", OIDC_PROVIDER)
        .param("OIDCToken", token)
        .param("RoleSessionName", "oidc-session")
}

#[tokio::test]
async fn assume_role_issues_keys_that_work_until_they_expire() {
    let e = Emulator::start().await;
    for scheme in [Scheme::V3, Scheme::V1] {
        let body = assume(&e, scheme, ROLE).ok().await;
        assert_eq!(
            body["AssumedRoleUser"]["Arn"],
            format!("acs:ram::{OWNER}:role/{ROLE_NAME}/test-session")
        );
        let role_id = body["AssumedRoleUser"]["AssumedRoleId"]
            .as_str()
            .expect("AssumedRoleId");
        assert!(role_id.ends_with(":test-session"), "{role_id}");
        let key = issued(&body);
        assert!(key.0.starts_with("STS."), "{}", key.0);
        assert!(key.2.starts_with("CAIS"), "{}", key.2);
        let lifetime = expiration(&body) - now();
        assert!(
            (3590..=3600).contains(&lifetime),
            "default 3600 s: {lifetime}"
        );

        // The key works with its token, in both schemes.
        for use_scheme in [Scheme::V3, Scheme::V1] {
            describe_with(&e, use_scheme, &key, IMAGE).ok().await;
        }
        // Not without it, and not with another token.
        describe_shares(e.call(scheme, ECS, "DescribeImageSharePermission"))
            .key(&key.0, &key.1)
            .fails(400, "MissingSecurityToken")
            .await;
        describe_shares(e.call(scheme, ECS, "DescribeImageSharePermission"))
            .sts((&key.0, &key.1, "another-token"))
            .fails(400, "InvalidSecurityToken.MismatchWithAccessKey")
            .await;
    }
    let key = issued(&assume(&e, Scheme::V3, ROLE).ok().await);
    e.advance_clock(3599.0).await;
    describe_with(&e, Scheme::V3, &key, IMAGE).ok().await;
    e.advance_clock(1.0).await;
    for scheme in [Scheme::V3, Scheme::V1] {
        describe_with(&e, scheme, &key, IMAGE)
            .fails(400, "InvalidSecurityToken.Expired")
            .await;
    }
    // Keys issued now expire an hour after the credential clock's now, and work until then.
    let body = assume(&e, Scheme::V1, ROLE).ok().await;
    let lifetime = expiration(&body) - now();
    assert!(
        (3600 + 3590..=3600 + 3600).contains(&lifetime),
        "issued on the advanced clock: {lifetime}"
    );
    describe_with(&e, Scheme::V3, &issued(&body), IMAGE)
        .ok()
        .await;
    e.stop().await;
}

#[tokio::test]
async fn issued_keys_act_for_the_roles_account_only() {
    let e = Emulator::start().await;
    // The first account's key assumes the second account's role.
    let key = issued(&assume(&e, Scheme::V3, CROSS_ACCOUNT_ROLE).ok().await);
    describe_with(&e, Scheme::V3, &key, OTHER_OWNERS_IMAGE)
        .ok()
        .await;
    describe_with(&e, Scheme::V3, &key, IMAGE)
        .fails(404, "InvalidImageId.NotFound")
        .await;
    let state = e.control_get("state").await;
    let listed = state["stsCredentials"]
        .as_array()
        .expect("stsCredentials")
        .iter()
        .find(|c| c["accessKeyId"] == key.0.as_str())
        .cloned()
        .expect("the issued key is listed");
    assert_eq!(listed["accountId"], OTHER);
    assert_eq!(listed["roleArn"], CROSS_ACCOUNT_ROLE);
    assert_eq!(listed["source"], "AssumeRole");
    assert!(
        !state.to_string().contains(&key.1) && !state.to_string().contains(&key.2),
        "no secrets in the state"
    );
    e.stop().await;
}

#[tokio::test]
async fn duration_seconds_is_900_to_the_roles_maximum() {
    let e = Emulator::start().await;
    for (value, lifetime) in [("900", 900), ("43200", 43200)] {
        let body = assume(&e, Scheme::V3, ROLE)
            .param("DurationSeconds", value)
            .ok()
            .await;
        let got = expiration(&body) - now();
        assert!((lifetime - 10..=lifetime).contains(&got), "{value}: {got}");
    }
    for bad in ["899", "43201", "0", "-1", "3600.5", "an hour"] {
        assume(&e, Scheme::V1, ROLE)
            .param("DurationSeconds", bad)
            .fails(400, "InvalidParameter.DurationSeconds")
            .await;
    }
    // A role without maxSessionDuration allows RAM's default, 3600.
    assume(&e, Scheme::V3, EXTERNAL_ID_ROLE)
        .param("ExternalId", EXTERNAL_ID)
        .param("DurationSeconds", "3601")
        .fails(400, "InvalidParameter.DurationSeconds")
        .await;
    assume(&e, Scheme::V3, EXTERNAL_ID_ROLE)
        .param("ExternalId", EXTERNAL_ID)
        .param("DurationSeconds", "3600")
        .ok()
        .await;
    e.stop().await;
}

#[tokio::test]
async fn role_session_name_and_role_arn_are_checked() {
    let e = Emulator::start().await;
    let without = |name: &'static str| {
        e.v3(STS_VERSION, "AssumeRole").with(move |c| {
            if name != "RoleArn" {
                c.params.push(("RoleArn".into(), ROLE.into()));
            }
            if name != "RoleSessionName" {
                c.params.push(("RoleSessionName".into(), "s1".into()));
            }
        })
    };
    without("RoleArn")
        .fails(400, "MissingParameter.RoleArn")
        .await;
    without("RoleSessionName")
        .fails(400, "MissingParameter.RoleSessionName")
        .await;
    for bad in ["a", "has space", "semi;colon", "ü-umlaut", &"x".repeat(65)] {
        e.v1(STS_VERSION, "AssumeRole")
            .param("RoleArn", ROLE)
            .param("RoleSessionName", bad)
            .fails(400, "InvalidParameter.RoleSessionName")
            .await;
    }
    for good in ["ab", "alice@example.com", "a.b-c_d", &"y".repeat(64)] {
        e.v3(STS_VERSION, "AssumeRole")
            .param("RoleArn", ROLE)
            .param("RoleSessionName", good)
            .ok()
            .await;
    }
    for bad in [
        "arn:aws:iam::123456789012:role/x",
        "acs:ram::not-digits:role/x",
        "acs:ram::1234567890123456:user/x",
        "acs:ram::1234567890123456:role/",
    ] {
        assume(&e, Scheme::V3, bad)
            .fails(400, "InvalidParameter.RoleArn")
            .await;
    }
    assume(
        &e,
        Scheme::V3,
        "acs:ram::1234567890123456:role/no-such-role",
    )
    .fails(404, "EntityNotExist.Role")
    .await;
    // ARNs compare without regard to case.
    assume(
        &e,
        Scheme::V3,
        "acs:ram::1234567890123456:role/EMULATOR-ROLE",
    )
    .ok()
    .await;
    e.stop().await;
}

#[tokio::test]
async fn trust_and_external_id_decide_who_may_assume() {
    let e = Emulator::start().await;
    // external-id-role trusts its own account only.
    assume(&e, Scheme::V3, EXTERNAL_ID_ROLE)
        .key(OTHER_KEY.0, OTHER_KEY.1)
        .param("ExternalId", EXTERNAL_ID)
        .fails(403, "NoPermission")
        .await;
    // emulator-role trusts the second account too; its keys then act for the role's account.
    let key = issued(
        &assume(&e, Scheme::V1, ROLE)
            .key(OTHER_KEY.0, OTHER_KEY.1)
            .ok()
            .await,
    );
    describe_with(&e, Scheme::V3, &key, IMAGE).ok().await;

    assume(&e, Scheme::V3, EXTERNAL_ID_ROLE)
        .fails(403, "NoPermission")
        .await;
    assume(&e, Scheme::V3, EXTERNAL_ID_ROLE)
        .param("ExternalId", "another-external-id")
        .fails(403, "NoPermission")
        .await;
    assume(&e, Scheme::V3, EXTERNAL_ID_ROLE)
        .param("ExternalId", "x")
        .fails(400, "InvalidParameter.ExternalId")
        .await;
    assume(&e, Scheme::V1, EXTERNAL_ID_ROLE)
        .param("ExternalId", EXTERNAL_ID)
        .ok()
        .await;
    // A role that needs no external id takes one anyway.
    assume(&e, Scheme::V1, ROLE)
        .param("ExternalId", "unneeded-id")
        .ok()
        .await;
    e.stop().await;
}

#[tokio::test]
async fn policy_must_be_a_policy_document_of_at_most_2048_characters() {
    let e = Emulator::start().await;
    let policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}]}"#;
    assume(&e, Scheme::V3, ROLE)
        .param("Policy", policy)
        .ok()
        .await;
    for bad in ["not json", r#"{"Version":"1"}"#, "[]"] {
        assume(&e, Scheme::V1, ROLE)
            .param("Policy", bad)
            .fails(400, "InvalidParameter.PolicyGrammar")
            .await;
    }
    let long = format!(
        r#"{{"Version":"1","Statement":[],"Pad":"{}"}}"#,
        "x".repeat(2048)
    );
    assume(&e, Scheme::V3, ROLE)
        .param("Policy", &long)
        .fails(400, "InvalidParameter.PolicySize")
        .await;
    e.stop().await;
}

#[tokio::test]
async fn issued_keys_can_assume_roles_and_form_bodies_are_taken() {
    let e = Emulator::start().await;
    let first = issued(&assume(&e, Scheme::V3, ROLE).ok().await);
    // Role chaining: the temporary key (with its token) assumes another role.
    let second = issued(
        &assume(&e, Scheme::V1, CROSS_ACCOUNT_ROLE)
            .sts((&first.0, &first.1, &first.2))
            .ok()
            .await,
    );
    describe_with(&e, Scheme::V1, &second, OTHER_OWNERS_IMAGE)
        .ok()
        .await;
    // Parameters in a form body, V3 (the body's hash is signed) and V1.
    for scheme in [Scheme::V3, Scheme::V1] {
        assume(&e, scheme, ROLE).with(|c| c.form = true).ok().await;
    }
    e.stop().await;
}

#[tokio::test]
async fn sts_is_routed_by_version_and_host() {
    let e = Emulator::start().await;
    for host in [
        "sts.aliyuncs.com",
        "sts.cn-hangzhou.aliyuncs.com",
        "sts-vpc.cn-hangzhou.aliyuncs.com",
    ] {
        assume(&e, Scheme::V3, ROLE)
            .with(|c| c.host = Some(host.into()))
            .ok()
            .await;
        describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
            .with(|c| c.host = Some(host.into()))
            .fails(400, "InvalidVersion")
            .await;
    }
    assume(&e, Scheme::V1, ROLE)
        .with(|c| c.host = Some("ecs.cn-hangzhou.aliyuncs.com".into()))
        .fails(400, "InvalidVersion")
        .await;
    e.v3(STS_VERSION, "GetFederationToken")
        .fails(404, "InvalidAction.NotFound")
        .await;
    // Refused on routing (the ECS host), the fourth is not counted.
    let counted = e.control_get("calls").await;
    assert_eq!(counted["byAction"]["AssumeRole"], 3);
    e.stop().await;
}

#[tokio::test]
async fn only_anonymous_actions_take_unsigned_calls() {
    let e = Emulator::start().await;
    for v3 in [true, false] {
        e.anonymous(v3, STS_VERSION, "AssumeRole")
            .param("RoleArn", ROLE)
            .param("RoleSessionName", "s1")
            .fails(400, "IncompleteSignature")
            .await;
        describe_shares(e.anonymous(v3, ECS, "DescribeImageSharePermission"))
            .fails(400, "IncompleteSignature")
            .await;
    }
    assert_eq!(
        e.control_get("calls").await["total"],
        0,
        "refused before counting"
    );
    e.stop().await;
}

#[tokio::test]
async fn oidc_tokens_of_a_registered_provider_get_keys() {
    let e = Emulator::start().await;
    for v3 in [true, false] {
        let body = oidc(&e, v3, &jwt(good_claims())).ok().await;
        assert_eq!(
            body["AssumedRoleUser"]["Arn"],
            format!("acs:ram::{OWNER}:role/{ROLE_NAME}/oidc-session")
        );
        let info = &body["OIDCTokenInfo"];
        assert_eq!(info["Issuer"], OIDC_ISSUER);
        assert_eq!(info["ClientIds"], OIDC_AUDIENCE);
        assert_eq!(info["Subject"], "system:serviceaccount:default:app");
        let key = issued(&body);
        describe_with(&e, Scheme::V3, &key, IMAGE).ok().await;
        describe_with(&e, Scheme::V1, &key, IMAGE).ok().await;
    }
    // One of several audiences is enough; DurationSeconds and a missing session name are taken.
    let mut claims = good_claims();
    claims["aud"] = json!(["another-client", OIDC_AUDIENCE]);
    let body = e
        .anonymous(true, STS_VERSION, "AssumeRoleWithOIDC")
        .param("RoleArn", ROLE)
        .param("OIDCProviderArn", OIDC_PROVIDER)
        .param("OIDCToken", &jwt(claims))
        .param("DurationSeconds", "900")
        .ok()
        .await;
    let lifetime = expiration(&body) - now();
    assert!((890..=900).contains(&lifetime), "{lifetime}");
    assert_eq!(e.control_get("calls").await["bySignature"]["anonymous"], 3);
    // A signed call is verified like any other.
    let token = jwt(good_claims());
    let signed = |scheme: Scheme| {
        e.call(scheme, STS_VERSION, "AssumeRoleWithOIDC")
            .param("RoleArn", ROLE)
            .param("OIDCProviderArn", OIDC_PROVIDER)
            .param("OIDCToken", &token)
    };
    signed(Scheme::V3).ok().await;
    signed(Scheme::V1).ok().await;
    signed(Scheme::V3)
        .key(KEY.0, "wrong-secret")
        .fails(400, "SignatureDoesNotMatch")
        .await;
    e.stop().await;
}

#[tokio::test]
async fn oidc_tokens_are_checked_for_issuer_audience_and_expiry() {
    let e = Emulator::start().await;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = good_claims();
        change(&mut claims);
        jwt(claims)
    };
    let cases: Vec<(String, u16, &str)> = vec![
        (
            with(&|c| c["iss"] = json!("https://elsewhere.invalid")),
            401,
            "AuthenticationFail.OIDCToken.IssuerNotMatch",
        ),
        (
            with(&|c| c["aud"] = json!("another-client")),
            401,
            "AuthenticationFail.OIDCToken.AudienceNotMatch",
        ),
        (
            with(&|c| c["aud"] = json!([])),
            401,
            "AuthenticationFail.OIDCToken.AudienceNotMatch",
        ),
        (
            with(&|c| c["exp"] = json!(now() - 1)),
            401,
            "AuthenticationFail.OIDCToken.Expired",
        ),
        (
            with(&|c| {
                c.as_object_mut().expect("claims").remove("exp");
            }),
            401,
            "AuthenticationFail.OIDCToken.Invalid",
        ),
        (
            "not-a-jwt".into(),
            401,
            "AuthenticationFail.OIDCToken.Invalid",
        ),
        ("a.b".into(), 401, "AuthenticationFail.OIDCToken.Invalid"),
        (
            "e30.e30.e30.e30".into(),
            401,
            "AuthenticationFail.OIDCToken.Invalid",
        ),
        (
            "%%%.***.sig".into(),
            401,
            "AuthenticationFail.OIDCToken.Invalid",
        ),
        (
            jwt_with(json!({"alg": "HS256"}), good_claims(), "c2ln"),
            401,
            "AuthenticationFail.OIDCToken.Invalid",
        ),
        (
            jwt_with(json!({"alg": "RS256"}), good_claims(), ""),
            401,
            "AuthenticationFail.OIDCToken.InvalidSignature",
        ),
    ];
    for v3 in [true, false] {
        for (token, status, code) in &cases {
            oidc(&e, v3, token).fails(*status, code).await;
        }
    }
    // An absent token.
    e.anonymous(true, STS_VERSION, "AssumeRoleWithOIDC")
        .param("RoleArn", ROLE)
        .param("OIDCProviderArn", OIDC_PROVIDER)
        .fails(401, "AuthenticationFail.OIDCToken.Invalid")
        .await;
    // Expiry follows the credential clock.
    let token = jwt(good_claims());
    oidc(&e, true, &token).ok().await;
    e.advance_clock(3600.0).await;
    oidc(&e, true, &token)
        .fails(401, "AuthenticationFail.OIDCToken.Expired")
        .await;
    e.stop().await;
}

#[tokio::test]
async fn oidc_provider_and_role_must_exist_and_trust_each_other() {
    let e = Emulator::start().await;
    let token = jwt(good_claims());
    oidc(&e, true, &token)
        .with(|c| c.params[1].1 = "acs:ram::1234567890123456:oidc-provider/unknown".into())
        .fails(401, "AuthenticationFail.NoPermission")
        .await;
    oidc(&e, false, &token)
        .with(|c| c.params[0].1 = "acs:ram::1234567890123456:role/no-such-role".into())
        .fails(404, "EntityNotExist.Role")
        .await;
    // external-id-role names no OIDC provider.
    oidc(&e, true, &token)
        .with(|c| c.params[0].1 = EXTERNAL_ID_ROLE.into())
        .fails(401, "AuthenticationFail.NoPermission")
        .await;
    oidc(&e, true, &token)
        .with(|c| c.params[1].1 = String::new())
        .fails(400, "MissingParameter.OIDCProviderArn")
        .await;
    oidc(&e, true, &token)
        .with(|c| c.params[3].1 = "x".into())
        .fails(400, "InvalidParameter.RoleSessionName")
        .await;
    oidc(&e, false, &token)
        .param("DurationSeconds", "100")
        .fails(400, "InvalidParameter.DurationSeconds")
        .await;
    e.stop().await;
}

#[tokio::test]
async fn roles_and_providers_can_be_added_and_replaced() {
    let e = Emulator::start().await;
    let arn = "acs:ram::2234567890123456:role/added-role";
    assume(&e, Scheme::V3, arn)
        .fails(404, "EntityNotExist.Role")
        .await;
    let (status, body) = e
        .control_post(
            "roles",
            json!({"arn": arn, "accountId": OTHER, "trustedAccounts": [OWNER], "externalId": "first-id"}),
        )
        .await;
    assert_eq!((status, &body["replaced"]), (200, &json!(false)), "{body}");
    assume(&e, Scheme::V3, arn)
        .param("ExternalId", "first-id")
        .ok()
        .await;
    let (status, body) = e
        .control_post(
            "roles",
            json!({"arn": arn, "accountId": OTHER, "trustedAccounts": [OWNER], "externalId": "second-id"}),
        )
        .await;
    assert_eq!((status, &body["replaced"]), (200, &json!(true)), "{body}");
    assume(&e, Scheme::V3, arn)
        .param("ExternalId", "first-id")
        .fails(403, "NoPermission")
        .await;
    for bad in [
        json!({"arn": "acs:ram::1:role/x", "accountId": "2"}),
        json!({"arn": "not-an-arn", "accountId": "2"}),
        json!({"arn": "acs:ram::1:role/x", "accountId": "1", "maxSessionDuration": 100}),
        json!({"arn": "acs:ram::1:role/x", "accountId": "1", "trustedAccount": ["1"]}),
    ] {
        let (status, body) = e.control_post("roles", bad.clone()).await;
        assert!((400..500).contains(&status), "{bad} → {status} {body}");
    }

    // A second OIDC provider, and a role that trusts it.
    let provider = "acs:ram::2234567890123456:oidc-provider/second";
    let (status, _) = e
        .control_post(
            "oidc-providers",
            json!({"arn": provider, "issuer": "https://second.invalid", "audiences": ["client-2"]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = e
        .control_post(
            "roles",
            json!({"arn": arn, "accountId": OTHER, "oidcProviderArn": provider}),
        )
        .await;
    assert_eq!(status, 200);
    let mut claims = good_claims();
    claims["iss"] = json!("https://second.invalid");
    claims["aud"] = json!("client-2");
    e.anonymous(true, STS_VERSION, "AssumeRoleWithOIDC")
        .param("RoleArn", arn)
        .param("OIDCProviderArn", provider)
        .param("OIDCToken", &jwt(claims))
        .ok()
        .await;
    let (status, _) = e
        .control_post(
            "oidc-providers",
            json!({"arn": provider, "issuer": "x", "audiences": []}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        e.control_get("oidc-providers").await["oidcProviders"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        e.control_get("roles").await["roles"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );

    // A seed whose role is malformed, or whose instance role names no role, is refused.
    let mut seed: Value =
        serde_json::from_str(alicloud_emulator::model::DEFAULT_SEED).expect("seed");
    seed["instanceRole"]["roleArn"] = json!("acs:ram::1234567890123456:role/none");
    assert_eq!(e.control_post("seed", seed).await.0, 400);

    // Reset forgets added roles, issued keys and the clock.
    e.advance_clock(10.0).await;
    e.control_post("reset", json!({})).await;
    assert_eq!(
        e.control_get("roles").await["roles"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(e.control_get("clock").await["offsetSeconds"], 0.0);
    assert_eq!(e.control_get("state").await["stsCredentials"], json!([]));
    e.stop().await;
}

#[tokio::test]
async fn the_clock_moves_credential_expiry_only() {
    let e = Emulator::start().await;
    let before = e.control_get("clock").await;
    assert_eq!(before["offsetSeconds"], 0.0);
    let after = e.advance_clock(86_400.0).await;
    assert_eq!(after["offsetSeconds"], 86_400.0);
    let shown = chrono::DateTime::parse_from_rfc3339(after["now"].as_str().expect("now"))
        .expect("RFC 3339")
        .timestamp();
    assert!((shown - now() - 86_400).abs() <= 2, "{after}");
    for bad in [
        json!({"advanceSeconds": -1}),
        json!({"advanceSeconds": "1"}),
        json!({"seconds": 1}),
    ] {
        let (status, _) = e.control_post("clock", bad).await;
        assert!((400..500).contains(&status));
    }
    // Signatures keep real time: a call signed now is accepted, one signed a day ahead is not.
    describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .ok()
        .await;
    let ahead = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    describe_shares(e.v1(ECS, "DescribeImageSharePermission"))
        .with(|c| c.date = ahead)
        .fails(400, "InvalidTimeStamp.Expired")
        .await;
    // The seeded STS key (expiring 2099) still works; the seeded expired one still does not.
    describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .sts(STS)
        .ok()
        .await;
    describe_shares(e.v3(ECS, "DescribeImageSharePermission"))
        .sts(EXPIRED_STS)
        .fails(400, "InvalidSecurityToken.Expired")
        .await;
    e.stop().await;
}
