//! Schema, plugin info, configuration and Check over gRPC.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use pulumi_resource_alicloud::proto::pulumirpc::diff_response::DiffChanges;
use pulumi_resource_alicloud::proto::pulumirpc::engine_server::{
    Engine as EngineService, EngineServer,
};
use pulumi_resource_alicloud::proto::pulumirpc::{
    CheckRequest, ConfigureRequest, DiffRequest, GetSchemaRequest, LogRequest, LogSeverity,
    ProviderHandshakeRequest,
};
use pulumi_resource_alicloud::values;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tonic::Status;
use tonic::transport::server::TcpIncoming;

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
        .read(
            SHARE,
            &format!("{IMAGE_1}:{OTHER_ACCOUNT}"),
            json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
        )
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

// ---------------------------------------------------------------------------------------------------
// Living next to the bridged provider: its keys, its shapes, and keys neither provider knows
// ---------------------------------------------------------------------------------------------------

/// The Pulumi engine's side of the connection: the log messages the provider sends it.
#[derive(Clone, Default)]
struct FakeEngine {
    logs: Arc<Mutex<Vec<LogRequest>>>,
}

#[tonic::async_trait]
impl EngineService for FakeEngine {
    async fn log(
        &self,
        request: tonic::Request<LogRequest>,
    ) -> Result<tonic::Response<()>, Status> {
        self.logs.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(()))
    }
}

impl FakeEngine {
    /// Serves on a free port; answers the address for Handshake's `engine_address`.
    async fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let service = EngineServer::new(self.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpIncoming::from(listener)),
        );
        address
    }

    fn logs(&self) -> Vec<LogRequest> {
        self.logs.lock().unwrap().clone()
    }
}

const PROVIDER_URN: &str = "urn:pulumi:test::project::pulumi:providers:alicloud::default_0_1_0";

/// Config as the engine sends a default provider's: every value text (objects and numbers as JSON text),
/// secrets kept secret.
fn as_engine_sends(config: Value) -> Value {
    let text = |v: &Value| match v {
        Value::String(s) => Value::String(s.clone()),
        other => Value::String(other.to_string()),
    };
    let map = props(config)
        .iter()
        .map(|(k, v)| {
            let v = if values::is_secret(v) {
                values::secret(text(values::reveal(v)))
            } else {
                text(v)
            };
            (k.clone(), v)
        })
        .collect();
    Value::Object(map)
}

async fn check_config(p: &mut Provider, news: Value) -> (Value, Vec<(String, String)>) {
    let resp = p
        .client
        .check_config(CheckRequest {
            urn: PROVIDER_URN.into(),
            news: Some(values::to_struct(&props(news))),
            ..Default::default()
        })
        .await
        .expect("check config answers")
        .into_inner();
    let failures = resp
        .failures
        .into_iter()
        .map(|f| (f.property, f.reason))
        .collect();
    (
        Value::Object(values::from_struct(resp.inputs.as_ref())),
        failures,
    )
}

/// What the engine does with a provider's config: CheckConfig, then Configure with the checked inputs.
async fn check_then_configure(p: &mut Provider, config: Value) -> Result<(), Status> {
    let (inputs, failures) = check_config(p, config).await;
    assert!(failures.is_empty(), "{failures:?}");
    p.client
        .configure(ConfigureRequest {
            args: Some(values::to_struct(&props(inputs))),
            accept_secrets: true,
            accept_resources: true,
            urn: Some(PROVIDER_URN.into()),
            ..Default::default()
        })
        .await
        .map(|_| ())
}

/// `host:port` of the emulator, without a scheme, as the bridged provider's endpoints are written.
fn bare(emu: &Emulator) -> String {
    emu.url.trim_start_matches("http://").to_string()
}

/// A configuration using the bridged provider's keys and shapes: the list form of `endpoints` with bare
/// `host:port` values, `protocol`, timeouts as numbers, and every key this provider ignores.
fn bridged_config(emu: &Emulator) -> Value {
    let host = bare(emu);
    json!({
        "region": "cn-hangzhou",
        "accessKey": ACCESS_KEY,
        "secretKey": values::secret(json!(SECRET_KEY)),
        "protocol": "HTTP",
        "endpoints": [{
            "ecs": host, "ecd": host, "sts": host,
            "oss": "oss-cn-hangzhou-internal.aliyuncs.com", "vpc": "vpc-vpc.cn-hangzhou.aliyuncs.com",
            "ram": "ram.aliyuncs.com",
        }],
        "accountType": "Domestic",
        "maxRetryTimeout": 60,
        "clientReadTimeout": 30000,
        "clientConnectTimeout": 5000,
        "accountId": OWNER,
        "configurationSource": "platform-team/network",
        "skipRegionValidation": true,
        "signVersion": {"oss": "v4", "sls": "v4"},
        "sourceIp": "192.0.2.10",
        "secureTransport": "true",
        "securityTransport": "true",
        "fc": "fc.cn-hangzhou.aliyuncs.com",
        "logEndpoint": "cn-hangzhou.log.aliyuncs.com",
        "mnsEndpoint": "mns.cn-hangzhou.aliyuncs.com",
        "otsInstanceName": "tables",
    })
}

/// Creates and deletes one share: proof that the configured client reaches the emulator and signs right.
async fn share_round_trip(p: &mut Provider, emu: &Emulator) {
    let (id, outputs) = p
        .create(
            SHARE,
            json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
            false,
            30.0,
        )
        .await
        .expect("create succeeds");
    assert_eq!(emu.shared_with(IMAGE_1).await, [OTHER_ACCOUNT]);
    p.delete(SHARE, &id, json!(outputs)).await.expect("delete");
    assert!(emu.shared_with(IMAGE_1).await.is_empty());
}

#[tokio::test]
async fn a_bridged_configuration_configures_and_works() {
    let emu = Emulator::start().await;
    // As objects and numbers (an explicit provider), and as text (stack config of a default provider).
    for config in [bridged_config(&emu), as_engine_sends(bridged_config(&emu))] {
        let mut p = Provider::start(&[]).await;
        check_then_configure(&mut p, config.clone())
            .await
            .unwrap_or_else(|e| panic!("{config}: {}", e.message()));
        share_round_trip(&mut p, &emu).await;
    }
    // The legacy `variables` map, JSON text and all.
    let mut p = Provider::start(&[]).await;
    let variables = props(as_engine_sends(bridged_config(&emu)))
        .iter()
        .map(|(k, v)| {
            let text = values::reveal(v).as_str().unwrap_or_default().to_string();
            (format!("alicloud:config:{k}"), text)
        })
        .collect();
    p.client
        .configure(ConfigureRequest {
            variables,
            accept_secrets: true,
            accept_resources: true,
            ..Default::default()
        })
        .await
        .expect("configure from variables");
    share_round_trip(&mut p, &emu).await;
}

#[tokio::test]
async fn unknown_keys_pass_with_a_warning_the_user_sees_and_ignored_keys_are_logged_once() {
    let emu = Emulator::start().await;
    let log = std::env::temp_dir().join(format!("alicloud-config-log-{}", uuid::Uuid::new_v4()));
    let log_path = log.to_string_lossy().to_string();
    // The binary: the log it writes is under test.
    let mut p = Provider::spawn(&[
        ("PULUMI_ALICLOUD_LOG", "info"),
        ("PULUMI_ALICLOUD_LOG_FILE", &log_path),
    ])
    .await;
    let engine = FakeEngine::default();
    let address = engine.start().await;
    p.client
        .handshake(ProviderHandshakeRequest {
            engine_address: address,
            ..Default::default()
        })
        .await
        .expect("handshake");
    let mut config = bridged_config(&emu);
    config["regoin"] = json!("cn-shanghai");
    config["endpoints"][0]["esc"] = json!("typo.example");
    let (inputs, failures) = check_config(&mut p, config.clone()).await;
    assert!(
        failures.is_empty(),
        "no failure for unknown keys: {failures:?}"
    );
    assert_eq!(inputs["regoin"], json!("cn-shanghai"), "passed through");
    assert!(engine.logs().is_empty(), "CheckConfig warns nothing");
    check_then_configure(&mut p, config)
        .await
        .expect("configure succeeds");
    share_round_trip(&mut p, &emu).await;

    let logs = engine.logs();
    assert_eq!(logs.len(), 1, "one warning: {logs:?}");
    let warning = &logs[0];
    assert_eq!(warning.severity, LogSeverity::Warning as i32);
    assert!(!warning.ephemeral);
    assert_eq!(warning.urn, PROVIDER_URN);
    for text in ["'alicloud:regoin'", "'alicloud:endpoints.esc'", "region"] {
        assert!(
            warning.message.contains(text),
            "{text}: {}",
            warning.message
        );
    }
    for ignored in ["skipRegionValidation", "signVersion", "sourceIp"] {
        assert!(
            !warning.message.contains(ignored),
            "{ignored} is a bridged key, not unknown: {}",
            warning.message
        );
    }
    // Ignored bridged keys: one info line naming them, and never the secret.
    let text = std::fs::read_to_string(&log).expect("log file");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("bridged alicloud provider that does not apply"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    for key in [
        "accountId",
        "configurationSource",
        "endpoints.oss",
        "endpoints.ram",
        "endpoints.vpc",
        "fc",
        "logEndpoint",
        "mnsEndpoint",
        "otsInstanceName",
        "secureTransport",
        "securityTransport",
        "signVersion",
        "skipRegionValidation",
        "sourceIp",
    ] {
        assert!(lines[0].contains(key), "{key}: {}", lines[0]);
    }
    assert!(!text.contains(SECRET_KEY), "the secret reached the log");
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn bad_values_are_check_failures_naming_the_key() {
    let mut p = Provider::start(&[]).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"protocol": "FTP"}),
            "protocol",
            "'protocol' must be HTTP or HTTPS, got \"FTP\"",
        ),
        (
            json!({"accountType": "Foo"}),
            "accountType",
            "'accountType' must be Domestic or International, got \"Foo\"",
        ),
        (
            json!({"maxRetryTimeout": -1}),
            "maxRetryTimeout",
            "'maxRetryTimeout' must be a whole number of seconds from 0",
        ),
        (
            json!({"maxRetryTimeout": "-1"}),
            "maxRetryTimeout",
            "got \"-1\"",
        ),
        (
            json!({"clientReadTimeout": "fast"}),
            "clientReadTimeout",
            "'clientReadTimeout' must be a whole number of milliseconds",
        ),
        (
            json!({"clientConnectTimeout": 2.5}),
            "clientConnectTimeout",
            "'clientConnectTimeout' must be a whole number",
        ),
        (
            json!({"assumeRole": "acs:ram::1:role/r"}),
            "assumeRole",
            "'assumeRole' must be an object such as {\"roleArn\"",
        ),
        (
            json!({"assumeRole": {"sessionName": "s"}}),
            "assumeRole",
            "'assumeRole.roleArn' is required",
        ),
        (
            json!({"assumeRole": "{\"role_arn\": \"acs:ram::1:role/r\"}"}),
            "assumeRole",
            "unknown field 'assumeRole.role_arn'",
        ),
        (
            json!({"assumeRole": {"roleArn": "r", "sessionExpiration": 60}}),
            "assumeRole",
            "'assumeRole.sessionExpiration' must be a whole number of seconds from 900 to 43200",
        ),
        (
            json!({"assumeRole": [{"roleArn": "a"}, {"roleArn": "b"}]}),
            "assumeRole",
            "'assumeRole' must be one object",
        ),
        (
            json!({"assumeRoleWithOidc": {"roleArn": "r", "oidcToken": "t"}}),
            "assumeRoleWithOidc",
            "'assumeRoleWithOidc.oidcProviderArn' is required",
        ),
        (
            json!({"endpoints": [{"ecs": "ftp://ecs.example"}]}),
            "endpoints",
            "endpoints.ecs must be a host name, host:port or an http(s)://host[:port] URL",
        ),
        (
            json!({"endpoints": "[{\"sts\": \"has space\"}]"}),
            "endpoints",
            "endpoints.sts must be",
        ),
        (
            json!({"credentialsUri": "127.0.0.1:1/creds"}),
            "credentialsUri",
            "'credentialsUri' must be an http(s) URL",
        ),
    ];
    for (config, key, text) in cases {
        for form in [config.clone(), as_engine_sends(config.clone())] {
            let (_, failures) = check_config(&mut p, form.clone()).await;
            assert!(
                failures
                    .iter()
                    .any(|(property, reason)| property == key && reason.contains(text)),
                "{form}: want {key}: {text}, got {failures:?}"
            );
        }
        // Configure refuses it too, naming the key.
        let mut config = config;
        config["region"] = json!("cn-hangzhou");
        let err = p.configure(config.clone()).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{config}");
        assert!(err.message().contains(key), "{config}: {}", err.message());
    }
    // The OIDC token never appears in a failure, however it arrives.
    let token = "eyJhbGciOiJSUzI1NiJ9.token-body.signature";
    for config in [
        json!({"assumeRoleWithOidc": {"roleArn": ["x"], "oidcToken": token}}),
        json!({"assumeRoleWithOidc": format!("{{\"oidcToken\": \"{token}\", \"policy\": 1}}")}),
        json!({"assumeRoleWithOidc": values::secret(json!(format!("{{\"oidcToken\": \"{token}\", \"sessionExpiration\": \"{token}\"}}")))}),
    ] {
        let (inputs, failures) = check_config(&mut p, config.clone()).await;
        assert!(!failures.is_empty(), "{config}");
        for (_, reason) in &failures {
            assert!(!reason.contains(token), "{reason}");
        }
        // Kept secret in the checked inputs, which the engine stores.
        let held = &inputs["assumeRoleWithOidc"];
        assert!(
            values::is_secret(held) || values::is_secret(&held["oidcToken"]),
            "{held}"
        );
    }
}

#[tokio::test]
async fn config_changes_are_compared_as_read() {
    let mut p = Provider::start(&[]).await;
    let diff = |olds: Value, news: Value| DiffRequest {
        urn: PROVIDER_URN.into(),
        old_inputs: Some(values::to_struct(&props(olds))),
        news: Some(values::to_struct(&props(news))),
        ..Default::default()
    };
    let base = json!({
        "region": "cn-hangzhou", "maxRetryTimeout": 30, "protocol": "HTTP",
        "endpoints": {"ecs": "127.0.0.1:1", "ecd": "127.0.0.1:2"},
        "assumeRole": {"roleArn": "acs:ram::1:role/r"},
    });
    let same = json!({
        "region": "cn-hangzhou", "maxRetryTimeout": "30", "protocol": "HTTP",
        "endpoints": "[{\"ecs\":\"127.0.0.1:1\",\"ecd\":\"127.0.0.1:2\",\"oss\":\"oss.example\"}]",
        "assumeRole": "{\"roleArn\":\"acs:ram::1:role/r\"}",
        "skipRegionValidation": "true", "regoin": "x",
    });
    let resp = p
        .client
        .diff_config(diff(base.clone(), same))
        .await
        .expect("diff config")
        .into_inner();
    assert_eq!(
        resp.changes,
        DiffChanges::DiffNone as i32,
        "{:?}",
        resp.diffs
    );
    let mut changed = base.clone();
    changed["endpoints"] = json!([{"ecs": "127.0.0.1:9", "ecd": "127.0.0.1:2"}]);
    changed["clientReadTimeout"] = json!("5000");
    let resp = p
        .client
        .diff_config(diff(base.clone(), changed))
        .await
        .expect("diff config")
        .into_inner();
    assert_eq!(resp.changes, DiffChanges::DiffSome as i32);
    assert_eq!(resp.diffs, ["clientReadTimeout", "endpoints"]);
    assert!(resp.replaces.is_empty(), "{:?}", resp.replaces);
    let mut moved = base.clone();
    moved["region"] = json!("cn-shanghai");
    let resp = p
        .client
        .diff_config(diff(base, moved))
        .await
        .expect("diff config")
        .into_inner();
    assert_eq!(resp.replaces, ["region"]);
}

/// A refresh of a share that does not exist: one signed DescribeImageSharePermission.
async fn read_missing_share(p: &mut Provider) -> Result<String, Status> {
    p.read(
        SHARE,
        &format!("{IMAGE_1}:{OTHER_ACCOUNT}"),
        json!({"imageId": IMAGE_1, "accountId": OTHER_ACCOUNT}),
    )
    .await
    .map(|(id, _, _)| id)
}

#[tokio::test]
async fn protocol_sets_the_scheme_of_bare_endpoints() {
    let emu = Emulator::start().await;
    let config = |protocol: Option<&str>| {
        let mut c = emulator_config(&emu);
        c["endpoints"] = json!([{"ecs": bare(&emu), "ecd": bare(&emu)}]);
        if let Some(p) = protocol {
            c["protocol"] = json!(p);
        }
        c
    };
    let mut p = Provider::start(&[]).await;
    check_then_configure(&mut p, config(Some("HTTP")))
        .await
        .expect("configure");
    assert_eq!(read_missing_share(&mut p).await.expect("read"), "");
    assert_eq!(emu.count("DescribeImageSharePermission").await, 1);
    // HTTPS, the default, cannot talk to the plain-HTTP emulator: nothing arrives.
    for protocol in [None, Some("HTTPS")] {
        let mut p = Provider::start(&[]).await;
        check_then_configure(&mut p, config(protocol))
            .await
            .expect("configure");
        let err = read_missing_share(&mut p).await.unwrap_err();
        assert!(
            err.message().contains(&format!("https://{}", bare(&emu))),
            "{protocol:?}: {}",
            err.message()
        );
    }
    assert_eq!(emu.count("DescribeImageSharePermission").await, 1);
}

#[tokio::test]
async fn shared_credentials_file_and_profile_choose_the_credentials_and_region() {
    let emu = Emulator::start().await;
    let dir = std::env::temp_dir().join(format!("alicloud-profiles-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("team-config.json");
    std::fs::write(
        &file,
        json!({
            "current": "other",
            "profiles": [
                {"name": "other", "mode": "AK", "access_key_id": "LTAI5tOtherEmulatorKey2",
                 "access_key_secret": "otherEmulatorSecret02", "region_id": "cn-shanghai"},
                {"name": "emu", "mode": "AK", "access_key_id": ACCESS_KEY,
                 "access_key_secret": SECRET_KEY, "region_id": "cn-hangzhou"},
            ],
        })
        .to_string(),
    )
    .expect("profile file");
    let mut p = Provider::start(&[]).await;
    let config = as_engine_sends(json!({
        "sharedCredentialsFile": file.to_string_lossy(),
        "profile": "emu",
        "endpoints": {"ecs": emu.url, "ecd": emu.url},
    }));
    let (inputs, failures) = check_config(&mut p, config.clone()).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        inputs["region"],
        json!("cn-hangzhou"),
        "the profile's region is recorded"
    );
    check_then_configure(&mut p, config)
        .await
        .expect("configure");
    // IMAGE_1 belongs to the first account: only its key can share it.
    share_round_trip(&mut p, &emu).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn max_retry_timeout_caps_retrying() {
    let emu = Emulator::start().await;
    // Throttled once, with the service asking for a 2 s wait before the retry.
    let throttle =
        json!({"kind": "throttle", "action": "DescribeImageSharePermission", "retryAfterMs": 2000});
    let mut config = emulator_config(&emu);
    config["maxRetryTimeout"] = json!("1");
    let mut p = Provider::start(&[]).await;
    check_then_configure(&mut p, config)
        .await
        .expect("configure");
    emu.fault(throttle.clone()).await;
    let err = read_missing_share(&mut p).await.unwrap_err();
    assert!(err.message().contains("Throttling"), "{}", err.message());
    assert_eq!(
        emu.count("DescribeImageSharePermission").await,
        1,
        "no retry past 1 s"
    );
    // Without it the client waits and retries.
    let mut p = Provider::configured(&emu).await;
    emu.fault(throttle).await;
    assert_eq!(read_missing_share(&mut p).await.expect("read"), "");
    assert_eq!(emu.count("DescribeImageSharePermission").await, 3);
}

#[tokio::test]
async fn client_read_timeout_bounds_each_attempt() {
    let emu = Emulator::start().await;
    let mut config = emulator_config(&emu);
    config["clientReadTimeout"] = json!(300);
    config["clientConnectTimeout"] = json!("2000");
    // No retry starts later than 20 s into the call. Under the default read timeout (30 s) the first
    // attempt would still be waiting then, and the read would fail: only the 300 ms timeout lets it retry.
    config["maxRetryTimeout"] = json!(20);
    let mut p = Provider::start(&[]).await;
    check_then_configure(&mut p, config)
        .await
        .expect("configure");
    // The first attempt is never answered; the second is.
    emu.fault(json!({"kind": "hang", "action": "DescribeImageSharePermission"}))
        .await;
    assert_eq!(
        read_missing_share(&mut p)
            .await
            .expect("the hung attempt was cut at 300 ms"),
        ""
    );
    assert_eq!(emu.count("DescribeImageSharePermission").await, 2);
}

// ---------------------------------------------------------------------------------------------------
// Credential settings, through the emulator's STS, instance metadata service and credentials URI
// ---------------------------------------------------------------------------------------------------

use alicloud_emulator::seed::{EXTERNAL_ID, EXTERNAL_ID_ROLE, OIDC_PROVIDER, ROLE, ROLE_NAME};
/// A JWT the emulator's OIDC provider takes: its issuer and audience, expiring in 2100 (the signature is
/// not verified).
const OIDC_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL29pZGMuZW11bGF0b3IuaW52YWxpZCIsImF1ZCI6InN0cy5hbGl5dW5jcy5jb20iLCJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6ZGVwbG95ZXIiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMH0.c2lnbmF0dXJl";

/// Endpoints for every service at the emulator, in the bridged list form with bare `host:port` values.
fn emulator_endpoints(emu: &Emulator) -> Value {
    let host = bare(emu);
    json!([{"ecs": host, "ecd": host, "sts": host}])
}

/// The temporary credentials the emulator issued, as `(source, roleArn, roleSessionName)`.
async fn issued(emu: &Emulator) -> Vec<(String, String, String)> {
    let state = emu.state().await;
    let field = |c: &Value, f: &str| c[f].as_str().unwrap_or_default().to_string();
    state["stsCredentials"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        field(c, "source"),
                        field(c, "roleArn"),
                        field(c, "roleSessionName"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn assume_role_is_applied_on_top_of_the_configured_keys() {
    let emu = Emulator::start().await;
    let mut config = json!({
        "region": "cn-hangzhou",
        "accessKey": ACCESS_KEY,
        "secretKey": values::secret(json!(SECRET_KEY)),
        "protocol": "HTTP",
        "endpoints": emulator_endpoints(&emu),
        "assumeRole": {"roleArn": ROLE, "sessionName": "pulumi-deploy", "sessionExpiration": 1800,
                       "policy": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]}},
    });
    let mut p = Provider::start(&[]).await;
    check_then_configure(&mut p, as_engine_sends(config.clone()))
        .await
        .expect("configure");
    share_round_trip(&mut p, &emu).await;
    assert_eq!(
        issued(&emu).await,
        [("AssumeRole".into(), ROLE.into(), "pulumi-deploy".into())]
    );
    assert_eq!(
        emu.count("AssumeRole").await,
        1,
        "the role's keys are reused"
    );
    // externalId reaches STS: the right one is accepted, a wrong one refused.
    for (external_id, works) in [(EXTERNAL_ID, true), ("another-id", false)] {
        config["assumeRole"] = json!({"roleArn": EXTERNAL_ID_ROLE, "externalId": external_id});
        let mut p = Provider::start(&[]).await;
        check_then_configure(&mut p, config.clone())
            .await
            .expect("configure does not call STS");
        let read = read_missing_share(&mut p).await;
        assert_eq!(read.is_ok(), works, "{external_id}: {read:?}");
        if let Err(err) = read {
            assert!(err.message().contains("NoPermission"), "{}", err.message());
        }
    }
}

#[tokio::test]
async fn assume_role_with_oidc_takes_the_token_or_its_file() {
    let emu = Emulator::start().await;
    let dir = std::env::temp_dir().join(format!("alicloud-oidc-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let token_file = dir.join("token");
    std::fs::write(&token_file, OIDC_TOKEN).expect("token file");
    let forms = [
        json!({"roleArn": ROLE, "oidcProviderArn": OIDC_PROVIDER, "oidcToken": OIDC_TOKEN,
               "roleSessionName": "ci-deploy", "sessionExpiration": 900}),
        json!({"roleArn": ROLE, "oidcProviderArn": OIDC_PROVIDER,
               "oidcTokenFile": token_file.to_string_lossy(), "roleSessionName": "ci-file", "durationSeconds": "900"}),
    ];
    for form in forms {
        let config = json!({
            "region": "cn-hangzhou",
            "protocol": "HTTP",
            "endpoints": emulator_endpoints(&emu),
            "assumeRoleWithOidc": form.to_string(),
        });
        let mut p = Provider::start(&[]).await;
        let (inputs, failures) = check_config(&mut p, config.clone()).await;
        assert!(failures.is_empty(), "{failures:?}");
        if form.get("oidcToken").is_some() {
            assert!(
                values::is_secret(&inputs["assumeRoleWithOidc"]["oidcToken"]),
                "the token is kept secret in the provider's state: {inputs}"
            );
        }
        check_then_configure(&mut p, config)
            .await
            .expect("configure");
        share_round_trip(&mut p, &emu).await;
    }
    let sessions: Vec<String> = issued(&emu)
        .await
        .into_iter()
        .filter(|(source, role, _)| source == "AssumeRoleWithOIDC" && role == ROLE)
        .map(|(_, _, session)| session)
        .collect();
    assert_eq!(sessions, ["ci-deploy", "ci-file"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn ecs_role_name_and_credentials_uri_are_credential_sources() {
    let emu = Emulator::start().await;
    let metadata = emu.control(reqwest::Method::GET, "metadata", None).await["url"]
        .as_str()
        .expect("metadata service url")
        .to_string();
    let base = json!({"region": "cn-hangzhou", "endpoints": {"ecs": emu.url, "ecd": emu.url}});

    let mut config = base.clone();
    config["ecsRoleName"] = json!(ROLE_NAME);
    let mut p = Provider::start(&[("ALIBABA_CLOUD_ECS_METADATA_ENDPOINT", &metadata)]).await;
    check_then_configure(&mut p, config)
        .await
        .expect("configure");
    share_round_trip(&mut p, &emu).await;

    let mut config = base;
    config["credentialsUri"] = json!(format!("{}/_emulator/credentials-uri", emu.url));
    let mut p = Provider::start(&[]).await;
    check_then_configure(&mut p, config)
        .await
        .expect("configure");
    share_round_trip(&mut p, &emu).await;

    let sources: Vec<String> = issued(&emu)
        .await
        .into_iter()
        .map(|(source, role, _)| {
            assert_eq!(role, ROLE);
            source
        })
        .collect();
    assert!(sources.contains(&"metadata".to_string()), "{sources:?}");
    assert!(
        sources.contains(&"credentials-uri".to_string()),
        "{sources:?}"
    );
}
