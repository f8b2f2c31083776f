//! Schema, plugin info, configuration and Check over gRPC.

mod common;

use common::*;
use pulumi_resource_alicloud::proto::pulumirpc::{
    CheckRequest, GetSchemaRequest, ProviderHandshakeRequest,
};
use pulumi_resource_alicloud::values;
use serde_json::{Value, json};

#[tokio::test]
async fn schema_and_version_are_served() {
    let mut p = Provider::start(&[]).await;
    let hs = p
        .client
        .handshake(ProviderHandshakeRequest::default())
        .await
        .expect("handshake")
        .into_inner();
    assert!(hs.accept_secrets && hs.accept_resources);
    let schema = p
        .client
        .get_schema(GetSchemaRequest::default())
        .await
        .expect("schema")
        .into_inner()
        .schema;
    assert_eq!(schema, include_str!("../../schema.json"));
    let parsed: Value = serde_json::from_str(&schema).expect("json");
    let info = p
        .client
        .get_plugin_info(())
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.version, parsed["version"].as_str().unwrap_or_default());
}

#[tokio::test]
async fn configure_without_credentials_names_every_place_looked() {
    let mut p = Provider::start(&[]).await;
    let err = p
        .configure(json!({"region": "cn-hangzhou"}))
        .await
        .unwrap_err();
    let msg = err.message();
    for place in [
        "accessKey",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALICLOUD_ACCESS_KEY",
        "config.json",
    ] {
        assert!(msg.contains(place), "{place} missing from: {msg}");
    }
}

#[tokio::test]
async fn configure_from_environment() {
    let emu = Emulator::start().await;
    let mut p = Provider::start(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", ACCESS_KEY),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET_KEY),
        ("ALICLOUD_REGION", "cn-hangzhou"),
        ("ALICLOUD_ENDPOINT_ECS", &emu.url),
        ("ALICLOUD_ENDPOINT_ECD", &emu.url),
    ])
    .await;
    p.configure(json!({})).await.expect("configure from env");
    let (id, _, _) = p
        .read(SHARE, &format!("{IMAGE_1}:{OTHER_ACCOUNT}"), json!({}))
        .await
        .expect("signed read works");
    assert_eq!(id, "");
    assert_eq!(emu.count("DescribeImageSharePermission").await, 1);
}

#[tokio::test]
async fn wrong_secret_is_rejected_by_the_endpoint() {
    let emu = Emulator::start().await;
    let mut p = Provider::start(&[]).await;
    let mut config = emulator_config(&emu);
    config["secretKey"] = values::secret(json!("not-the-secret"));
    p.configure(config)
        .await
        .expect("configure does not call the API");
    let err = p
        .read(SHARE, &format!("{IMAGE_1}:{OTHER_ACCOUNT}"), json!({}))
        .await
        .unwrap_err();
    assert!(
        err.message().contains("SignatureDoesNotMatch"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn both_signature_schemes_are_accepted_by_the_endpoint() {
    let emu = Emulator::start().await;
    for (env, scheme) in [
        (&[][..], "v3"),
        (&[("ALIBABA_CLOUD_SIGNATURE_VERSION", "v1")][..], "v1"),
    ] {
        let mut p = Provider::start(env).await;
        p.configure(emulator_config(&emu))
            .await
            .expect("configure succeeds");
        let (id, outputs) = p
            .create(
                SHARE,
                json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
                false,
                30.0,
            )
            .await
            .expect("create succeeds");
        p.delete(SHARE, &id, json!(outputs)).await.expect("delete");
        let calls = emu.calls().await;
        // Create looks for an existing share first, then adds it; delete removes it.
        assert_eq!(calls["bySignature"][scheme], 3, "{scheme}: {calls}");
    }
    assert!(emu.shared_with(IMAGE_1).await.is_empty());
}

#[tokio::test]
async fn check_config_rejects_bad_values_and_keeps_secrets_secret() {
    let mut p = Provider::start(&[]).await;
    let req = CheckRequest {
        urn: "urn:pulumi:test::project::pulumi:providers:alicloud::default".into(),
        news: Some(values::to_struct(&props(
            json!({"region": "Hangzhou", "accessKey": "a", "secretKey": "s"}),
        ))),
        ..Default::default()
    };
    let resp = p
        .client
        .check_config(req)
        .await
        .expect("check config")
        .into_inner();
    assert_eq!(resp.failures.len(), 1);
    assert_eq!(resp.failures[0].property, "region");
    let inputs = values::from_struct(resp.inputs.as_ref());
    assert!(values::is_secret(&inputs["secretKey"]));
}

/// Every invalid input, the error text it must produce, and proof that nothing reached the endpoint.
#[tokio::test]
async fn bad_input_table() {
    let emu = Emulator::start().await;
    let mut p = Provider::configured(&emu).await;
    let long = "a".repeat(129);
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            SHARE,
            json!({"accountId": OTHER_ACCOUNT}),
            "imageId",
            "missing required property 'imageId'",
        ),
        (
            SHARE,
            json!({"imageId": IMAGE_1}),
            "accountId",
            "missing required property 'accountId'",
        ),
        (
            SHARE,
            json!({"imageId": "img-1", "accountId": OTHER_ACCOUNT}),
            "imageId",
            "must be an ID such as m-",
        ),
        (
            SHARE,
            json!({"imageId": "m-UPPER", "accountId": OTHER_ACCOUNT}),
            "imageId",
            "lowercase letters and digits",
        ),
        (
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": "alice"}),
            "accountId",
            "numeric Alibaba Cloud account ID",
        ),
        (
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": 42}),
            "accountId",
            "must be a string",
        ),
        (
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT, "acountId": "x"}),
            "acountId",
            "unknown property",
        ),
        (
            IMAGE,
            json!({"imageName": "x1"}),
            "desktopId",
            "missing required property 'desktopId'",
        ),
        (
            IMAGE,
            json!({"desktopId": "desk-1"}),
            "desktopId",
            "must be an ID such as ecd-",
        ),
        (
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "x"}),
            "imageName",
            "2 to 128 characters",
        ),
        (
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": long}),
            "imageName",
            "2 to 128 characters",
        ),
        (
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "9lives"}),
            "imageName",
            "start with a letter",
        ),
        (
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "bad name"}),
            "imageName",
            "contain only",
        ),
        (
            IMAGE,
            json!({"desktopId": DESKTOP_1, "imageName": "http://x"}),
            "imageName",
            "must not start with http",
        ),
        (
            IMAGE,
            json!({"desktopId": DESKTOP_1, "description": "x"}),
            "description",
            "2 to 256 characters",
        ),
        (
            IMAGE,
            json!({"desktopId": DESKTOP_1, "description": "https://example.com"}),
            "description",
            "must not start with http",
        ),
    ];
    for (token, news, property, text) in cases {
        let (_, failures) = p.check(token, json!({}), news.clone()).await;
        assert!(
            failures
                .iter()
                .any(|(prop, reason)| prop == property && reason.contains(text)),
            "{token} {news}: want {property}: {text}, got {failures:?}"
        );
    }
    // Unknown (preview) values pass through unchecked.
    let (inputs, failures) = p
        .check(
            SHARE,
            json!({}),
            json!({"imageId": values::UNKNOWN, "accountId": OTHER_ACCOUNT}),
        )
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    assert!(values::is_unknown(&inputs["imageId"]));
    // An imported image (old state without a desktop) may leave desktopId out.
    let (_, failures) = p
        .check(
            IMAGE,
            json!({"imageName": "imported"}),
            json!({"imageName": "imported"}),
        )
        .await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(emu.calls().await["total"], 0, "Check never calls the API");
}
