//! An in-process emulator on loopback and a client that signs requests the way Alibaba's SDKs do
//! (with the client crate's signer), with knobs to get each part of a request wrong on purpose.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use alicloud_emulator::model::{DEFAULT_SEED, World};
use alicloud_emulator::{Shared, Timing, load_world, serve, serve_metadata};
use alicloud_openapi::{Credentials, sign};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use alicloud_emulator::seed;
#[allow(unused_imports)] // each test file uses a different part of the seed
pub use alicloud_emulator::seed::{
    CROSS_ACCOUNT_ROLE, EXTERNAL_ID, EXTERNAL_ID_ROLE, FIRST_OF_FIFTY_RECIPIENTS, OIDC_AUDIENCE,
    OIDC_ISSUER, OIDC_PROVIDER, OWNER, RECIPIENT, REGION, ROLE, ROLE_NAME,
};

pub const KEY: (&str, &str) = (seed::ACCESS_KEY_ID, seed::ACCESS_KEY_SECRET);
pub const OTHER_KEY: (&str, &str) = (seed::OTHER_ACCESS_KEY_ID, seed::OTHER_ACCESS_KEY_SECRET);
pub const STS: (&str, &str, &str) = (seed::STS_KEY_ID, seed::STS_KEY_SECRET, seed::STS_TOKEN);
pub const EXPIRED_STS: (&str, &str, &str) = (
    seed::EXPIRED_STS_KEY_ID,
    seed::EXPIRED_STS_KEY_SECRET,
    seed::EXPIRED_STS_TOKEN,
);
pub const OTHER: &str = seed::OTHER_ACCOUNT;
pub const IMAGE: &str = seed::IMAGE_1;
pub const OTHER_OWNERS_IMAGE: &str = seed::OTHERS_IMAGE;
pub const DESKTOP: &str = seed::DESKTOP_1;
pub const ECS: &str = "2014-05-26";
pub const ECD: &str = "2020-09-30";
pub const STS_VERSION: &str = "2015-04-01";

/// `n` distinct well-formed account ids that no seed knows: they do not exist until registered.
pub fn unknown_accounts(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("4{i:015}")).collect()
}

/// A running emulator.
pub struct Emulator {
    pub url: String,
    /// The ECS instance metadata service.
    pub metadata: String,
    pub shared: Arc<Shared>,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Emulator {
    /// The default seed, images ready at once.
    pub async fn start() -> Emulator {
        Self::with(
            Timing {
                image_create_seconds: 0.0,
                image_delete_seconds: 0.0,
            },
            None,
        )
        .await
    }

    /// The default seed with this timing and state file.
    pub async fn with(timing: Timing, state_file: Option<PathBuf>) -> Emulator {
        let seed: World = serde_json::from_str(DEFAULT_SEED).expect("the default seed parses");
        let world = load_world(&seed, state_file.as_deref()).expect("state loads");
        let shared = Shared::new(world, seed, timing, state_file);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let metadata_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let metadata = format!("http://{}", metadata_listener.local_addr().expect("addr"));
        // Stops with the API server.
        tokio::spawn(serve_metadata(metadata_listener, shared.clone()));
        let task = tokio::spawn(serve(listener, shared.clone(), async {
            let _ = stopped.await;
        }));
        Emulator {
            url,
            metadata,
            shared,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops serving and waits until the listener is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran");
        }
    }

    /// A call in `scheme` with the default key.
    pub fn call(&self, scheme: Scheme, version: &str, action: &str) -> Call<'_> {
        Call::new(self, scheme, version, action)
    }

    /// A V3 call with the default key.
    pub fn v3(&self, version: &str, action: &str) -> Call<'_> {
        Call::new(self, Scheme::V3, version, action)
    }

    /// A V1 call with the default key.
    pub fn v1(&self, version: &str, action: &str) -> Call<'_> {
        Call::new(self, Scheme::V1, version, action)
    }

    /// An unsigned call (no key, no signature), sent the V3 way (headers) or the V1 way (parameters).
    pub fn anonymous(&self, v3: bool, version: &str, action: &str) -> Call<'_> {
        let scheme = if v3 {
            Scheme::AnonymousV3
        } else {
            Scheme::AnonymousV1
        };
        Call::new(self, scheme, version, action)
    }

    /// Moves the credential clock forward.
    pub async fn advance_clock(&self, seconds: f64) -> Value {
        let (status, body) = self
            .control_post("clock", serde_json::json!({"advanceSeconds": seconds}))
            .await;
        assert_eq!(status, 200, "clock: {body}");
        body
    }

    /// GET on the control API.
    pub async fn control_get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/_emulator/{path}", self.url))
            .send()
            .await
            .expect("control API answers");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("control JSON")
    }

    /// POST on the control API; returns status and body.
    pub async fn control_post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/_emulator/{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("control API answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GET on the control API; returns status and body.
    pub async fn control_get_status(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}/_emulator/{path}", self.url))
            .send()
            .await
            .expect("control API answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `n` accounts that own nothing, made to exist through the control API.
    pub async fn recipients(&self, n: usize) -> Vec<String> {
        let ids = unknown_accounts(n);
        let (status, body) = self
            .control_post("accounts", serde_json::json!({"accountIds": ids}))
            .await;
        assert_eq!(status, 200, "accounts: {body}");
        ids
    }

    /// Adds a fault rule; returns its id.
    pub async fn fault(&self, rule: Value) -> u64 {
        let (status, body) = self.control_post("faults", rule).await;
        assert_eq!(status, 200, "faults: {body}");
        body["id"].as_u64().expect("a rule id")
    }

    /// The fault rule with this id, as the control API lists it.
    pub async fn fault_rule(&self, id: u64) -> Value {
        self.control_get("faults").await["faults"]
            .as_array()
            .expect("faults")
            .iter()
            .find(|f| f["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no fault rule {id}"))
    }

    /// Blocks until `action` has been called `count` times (the emulator answers when it is so).
    pub async fn wait_calls(&self, action: &str, count: u64) -> Value {
        let (status, body) = self
            .control_get_status(&format!(
                "calls/wait?action={action}&count={count}&timeoutMs=30000"
            ))
            .await;
        assert_eq!(status, 200, "calls/wait: {body}");
        body
    }

    /// The accounts `image` is shared with, from the control API.
    pub async fn shares(&self, image: &str) -> Vec<String> {
        let state = self.control_get("state").await;
        state["ecsImages"]
            .as_array()
            .expect("ecsImages")
            .iter()
            .find(|i| i["imageId"] == image)
            .map(|i| {
                i["sharedWith"]
                    .as_array()
                    .expect("sharedWith")
                    .iter()
                    .map(|a| a.as_str().expect("account").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The ECD images, from the control API.
    pub async fn ecd_images(&self) -> Vec<Value> {
        self.control_get("state").await["ecdImages"]
            .as_array()
            .expect("ecdImages")
            .clone()
    }
}

/// Which signature scheme a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    V3,
    V1,
    /// No signature; `x-acs-*` headers name the call.
    AnonymousV3,
    /// No signature; `Action`, `Version` and `Timestamp` parameters name the call.
    AnonymousV1,
}

/// One OpenAPI call under construction.
pub struct Call<'a> {
    emulator: &'a Emulator,
    scheme: Scheme,
    pub method: &'static str,
    pub version: String,
    pub action: String,
    pub params: Vec<(String, String)>,
    pub key: (String, String),
    pub token: Option<String>,
    pub date: String,
    pub nonce: String,
    pub host: Option<String>,
    /// V1 and V3: send the parameters in a form body instead of the query (V3 signs the body's hash).
    pub form: bool,
    /// V3 only: an x-acs- header sent but left out of SignedHeaders.
    pub unsigned_header: Option<(String, String)>,
    /// V3 only: the body actually sent, when it differs from the hashed one.
    pub tampered_body: Option<String>,
    /// Replaces the computed signature.
    pub signature: Option<String>,
}

impl<'a> Call<'a> {
    fn new(emulator: &'a Emulator, scheme: Scheme, version: &str, action: &str) -> Call<'a> {
        Call {
            emulator,
            scheme,
            method: "POST",
            version: version.into(),
            action: action.into(),
            params: Vec::new(),
            key: (KEY.0.into(), KEY.1.into()),
            token: None,
            date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            nonce: uuid::Uuid::new_v4().to_string(),
            host: None,
            form: false,
            unsigned_header: None,
            tampered_body: None,
            signature: None,
        }
    }

    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// `Key.1..N` from a list.
    pub fn list(mut self, key: &str, values: &[String]) -> Self {
        for (i, v) in values.iter().enumerate() {
            self.params.push((format!("{key}.{}", i + 1), v.clone()));
        }
        self
    }

    pub fn key(mut self, id: &str, secret: &str) -> Self {
        self.key = (id.into(), secret.into());
        self
    }

    pub fn sts(mut self, (id, secret, token): (&str, &str, &str)) -> Self {
        self.key = (id.into(), secret.into());
        self.token = Some(token.into());
        self
    }

    pub fn with(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self
    }

    /// Sends it; returns the HTTP status and the JSON body.
    pub async fn send(self) -> (u16, Value) {
        let response = self.request().send().await.expect("the emulator answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, body)
    }

    /// Sends it and expects success.
    pub async fn ok(self) -> Value {
        let what = format!("{} {}", self.version, self.action);
        let (status, body) = self.send().await;
        assert_eq!(status, 200, "{what}: {body}");
        assert!(
            body["RequestId"].is_string(),
            "{what}: no RequestId in {body}"
        );
        body
    }

    /// Sends it and expects Alibaba's error envelope with this status and code.
    pub async fn fails(self, status: u16, code: &str) -> Value {
        let what = format!("{} {}", self.version, self.action);
        let (got, body) = self.send().await;
        assert_eq!(
            (got, body["Code"].as_str()),
            (status, Some(code)),
            "{what}: {body}"
        );
        for field in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
            assert!(
                body[field].as_str().is_some_and(|v| !v.is_empty()),
                "{what}: {field} missing from {body}"
            );
        }
        body
    }

    /// The signed HTTP request.
    pub fn request(&self) -> reqwest::RequestBuilder {
        match self.scheme {
            Scheme::V3 => self.v3_request(),
            Scheme::V1 => self.v1_request(),
            Scheme::AnonymousV3 | Scheme::AnonymousV1 => self.anonymous_request(),
        }
    }

    fn host(&self) -> String {
        self.host
            .clone()
            .unwrap_or_else(|| self.emulator.url.trim_start_matches("http://").to_string())
    }

    /// The call as signed: with the request's key, or unsigned.
    fn call<'b>(&'b self, host: &'b str, credentials: Option<&'b Credentials>) -> sign::Call<'b> {
        sign::Call {
            method: self.method,
            host,
            action: &self.action,
            version: &self.version,
            timestamp: &self.date,
            nonce: &self.nonce,
            credentials,
        }
    }

    fn credentials(&self) -> Credentials {
        Credentials::new(&self.key.0, &self.key.1, self.token.clone(), "test")
    }

    fn v3_request(&self) -> reqwest::RequestBuilder {
        let host = self.host();
        let (query, body) = if self.form {
            (Vec::new(), sign::canonical_query(&self.params))
        } else {
            (self.params.clone(), String::new())
        };
        let url = format!("{}/?{}", self.emulator.url, sign::canonical_query(&query));
        let mut builder = self
            .emulator
            .http
            .request(self.method.parse().expect("method"), url);
        let credentials = self.credentials();
        for (name, value) in self
            .call(&host, Some(&credentials))
            .v3_headers(&query, body.as_bytes())
        {
            let value = match (&self.signature, name.as_str()) {
                (Some(signature), "authorization") => {
                    let (head, _) = value
                        .rsplit_once("Signature=")
                        .expect("authorization has a signature");
                    format!("{head}Signature={signature}")
                }
                _ => value,
            };
            builder = builder.header(name, value);
        }
        if self.form {
            builder = builder
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        if let Some((name, value)) = &self.unsigned_header {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &self.tampered_body {
            builder = builder.body(body.clone());
        }
        builder
    }

    fn anonymous_request(&self) -> reqwest::RequestBuilder {
        let host = self.host();
        let call = self.call(&host, None);
        let method = self.method.parse().expect("method");
        if self.scheme == Scheme::AnonymousV3 {
            let url = format!(
                "{}/?{}",
                self.emulator.url,
                sign::canonical_query(&self.params)
            );
            let mut builder = self.emulator.http.request(method, url);
            for (name, value) in call.v3_headers(&[], b"") {
                builder = builder.header(name, value);
            }
            builder
        } else {
            let params = call.v1_params(&self.params);
            let mut builder = self.emulator.http.request(
                method,
                format!("{}/?{}", self.emulator.url, sign::canonical_query(&params)),
            );
            if let Some(host) = &self.host {
                builder = builder.header("host", host.as_str());
            }
            builder
        }
    }

    fn v1_request(&self) -> reqwest::RequestBuilder {
        let host = self.host();
        let credentials = self.credentials();
        let mut params = self.call(&host, Some(&credentials)).v1_params(&self.params);
        if let Some(signature) = &self.signature {
            for (_, value) in params.iter_mut().filter(|(k, _)| k == "Signature") {
                *value = signature.clone();
            }
        }
        let encoded = sign::canonical_query(&params);
        let method = self.method.parse().expect("method");
        let mut builder = if self.form {
            self.emulator
                .http
                .request(method, format!("{}/", self.emulator.url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encoded)
        } else {
            self.emulator
                .http
                .request(method, format!("{}/?{encoded}", self.emulator.url))
        };
        if let Some(host) = &self.host {
            builder = builder.header("host", host.as_str());
        }
        builder
    }
}

/// A signed ModifyImageSharePermission that shares IMAGE with `account`.
pub fn share_request(e: &Emulator, account: &str) -> reqwest::RequestBuilder {
    e.v3(ECS, "ModifyImageSharePermission")
        .param("RegionId", REGION)
        .param("ImageId", IMAGE)
        .param("AddAccount.1", account)
        .request()
}

/// Checks `done` every few milliseconds until it holds; fails after 30 s (a bound, not a timing claim).
pub async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
) {
    for _ in 0..1500 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("never happened: {what}");
}
