//! Test harness: the provider driven over gRPC exactly as the engine drives it, against the emulator
//! reached through the provider's ordinary endpoint configuration. Both run in the test's own process (on
//! loopback, each with its own state), so the emulator is always the one just built; the provider's binary
//! is spawned only by tests of what the binary itself does (see [`Provider::spawn`]).
#![allow(dead_code)] // each test file uses a different part of the harness

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use alicloud_emulator::options::Options;
use alicloud_emulator::{Timing, serve, serve_metadata};
use pulumi_resource_alicloud::alicloud::{Environment, MapEnvironment, SystemEnvironment};
use pulumi_resource_alicloud::proto::pulumirpc::resource_provider_client::ResourceProviderClient;
use pulumi_resource_alicloud::proto::pulumirpc::{
    CheckRequest, ConfigureRequest, CreateRequest, DeleteRequest, DiffRequest, ReadRequest,
    UpdateRequest,
};
use pulumi_resource_alicloud::values::{self, Props};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub const SHARE: &str = "alicloud:ecs:ImageSharePermission";
pub const IMAGE: &str = "alicloud:ecd:Image";
#[allow(unused_imports)] // each test file uses a different part of the seed
pub use alicloud_emulator::seed::{
    DESKTOP_1, DESKTOP_2, IMAGE_1, IMAGE_2, OTHER_ACCOUNT, OTHERS_IMAGE, OWNER,
    RECIPIENT as THIRD_ACCOUNT,
};
pub const ACCESS_KEY: &str = alicloud_emulator::seed::ACCESS_KEY_ID;
pub const SECRET_KEY: &str = alicloud_emulator::seed::ACCESS_KEY_SECRET;

/// A JSON object literal as properties.
pub fn props(v: Value) -> Props {
    v.as_object().cloned().unwrap_or_default()
}

pub fn urn(token: &str, name: &str) -> String {
    format!("urn:pulumi:test::project::{token}::{name}")
}

/// Reads the first stdout line of a child process.
async fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("child printed its address in time")
        .expect("stdout readable")
        .expect("a first line");
    // Keep draining so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    line
}

/// An emulator served in-process, and its control API. Dropping it stops the emulator as stopping the
/// binary does: held requests are let go and it stops listening.
pub struct Emulator {
    pub url: String,
    http: reqwest::Client,
    /// Dropping it ends the server's shutdown future.
    _stop: oneshot::Sender<()>,
}

impl Emulator {
    /// ECD images take 0.3 s to make.
    pub async fn start() -> Emulator {
        Self::with_image_create_seconds(0.3).await
    }

    /// ECD images take `seconds` to make.
    pub async fn with_image_create_seconds(seconds: f64) -> Emulator {
        Self::start_with(Options {
            timing: Timing {
                image_create_seconds: seconds,
                ..Timing::default()
            },
            ..Options::default()
        })
        .await
    }

    /// An emulator as the binary would start with `options`, its ports included (0: any free one).
    pub async fn start_with(options: Options) -> Emulator {
        let shared = options.shared().expect("the emulator's state loads");
        let listener = TcpListener::bind(("127.0.0.1", options.port))
            .await
            .expect("emulator binds 127.0.0.1");
        let metadata = TcpListener::bind(("127.0.0.1", options.metadata_port))
            .await
            .expect("metadata service binds 127.0.0.1");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("emulator address")
        );
        let (stop, stopped) = oneshot::channel::<()>();
        // The metadata service stops when the API server does.
        tokio::spawn(serve_metadata(metadata, shared.clone()));
        tokio::spawn(serve(listener, shared, async move {
            let _ = stopped.await;
        }));
        Emulator {
            url,
            http: reqwest::Client::new(),
            _stop: stop,
        }
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/_emulator/{path}", self.url));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("control API reachable");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "control {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// New ECD images stay `Creating` until [`Emulator::release_images`].
    pub async fn hold_images(&self) {
        self.control(
            reqwest::Method::POST,
            "config",
            Some(json!({"holdImages": true})),
        )
        .await;
    }

    /// Held images finish now (`Available`, or `CreateFailed` under a fault rule).
    pub async fn release_images(&self) {
        self.control(reqwest::Method::POST, "ecd/release-images", None)
            .await;
    }

    /// Waits until `action` has been called `count` times.
    pub async fn wait_for(&self, action: &str, count: u64) {
        self.control(
            reqwest::Method::GET,
            &format!("calls/wait?action={action}&count={count}&timeoutMs=60000"),
            None,
        )
        .await;
    }

    pub async fn state(&self) -> Value {
        self.control(reqwest::Method::GET, "state", None).await
    }

    pub async fn calls(&self) -> Value {
        self.control(reqwest::Method::GET, "calls", None).await
    }

    /// How often `action` was called since the last reset.
    pub async fn count(&self, action: &str) -> u64 {
        self.calls().await["byAction"][action].as_u64().unwrap_or(0)
    }

    pub async fn fault(&self, rule: Value) {
        self.control(reqwest::Method::POST, "faults", Some(rule))
            .await;
    }

    /// Accounts an image is shared with.
    pub async fn shared_with(&self, image_id: &str) -> Vec<String> {
        let state = self.state().await;
        state["ecsImages"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["imageId"] == image_id))
            .and_then(|i| i["sharedWith"].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// ECD images in the emulator.
    pub async fn ecd_images(&self) -> Vec<Value> {
        self.state().await["ecdImages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A provider and a gRPC client to it; clones share the provider (stopped with the last clone).
#[derive(Clone)]
pub struct Provider {
    pub client: ResourceProviderClient<Channel>,
    _running: Arc<Running>,
}

/// What keeps a provider running; dropping it stops the provider and removes its home.
struct Running {
    _server: Server,
    _home: TempDir,
}

enum Server {
    /// Dropping the sender ends the in-process server's shutdown future.
    InProcess(oneshot::Sender<()>),
    /// Killed on drop.
    Process(Child),
}

/// The variables a test's provider sees: a fresh home, `PATH`, and `env`; nothing else of the test process.
fn provider_vars(home: &Path, env: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars = HashMap::from([
        ("HOME".to_string(), home.to_string_lossy().into_owned()),
        (
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_default(),
        ),
    ]);
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    vars
}

fn provider_home() -> TempDir {
    tempfile::Builder::new()
        .prefix("alicloud-provider-test-")
        .tempdir()
        .expect("temp home")
}

/// An in-process provider's environment: the variables and home a spawned one gets, and the files on
/// disk, as the binary reads them.
#[derive(Clone)]
struct TestEnvironment(MapEnvironment);

impl Environment for TestEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.0.var(name)
    }

    fn home_dir(&self) -> Option<PathBuf> {
        self.0.home_dir()
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Option<String>> {
        SystemEnvironment.read_file(path)
    }

    fn to_shared(&self) -> Arc<dyn Environment> {
        Arc::new(self.clone())
    }
}

impl Provider {
    /// Starts the provider in-process with a clean environment plus `env`: exactly what [`Provider::spawn`]
    /// gives the binary.
    pub async fn start(env: &[(&str, &str)]) -> Provider {
        let home = provider_home();
        let env = TestEnvironment(MapEnvironment {
            vars: provider_vars(home.path(), env),
            files: HashMap::new(),
            home: Some(home.path().to_path_buf()),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("provider binds 127.0.0.1");
        let port = listener.local_addr().expect("provider address").port();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            pulumi_resource_alicloud::serve_with(listener, Arc::new(env), async move {
                let _ = stopped.await;
            })
            .await
            .expect("the provider serves");
        });
        Self::connect(port, Server::InProcess(stop), home).await
    }

    /// Starts the provider binary with a clean environment plus `env`, for tests of what only the binary
    /// does: its log (`PULUMI_ALICLOUD_LOG`, `PULUMI_ALICLOUD_LOG_FILE`), the port line, signals, being
    /// killed. Cargo builds the binary for these tests, so it is always the current one.
    pub async fn spawn(env: &[(&str, &str)]) -> Provider {
        let home = provider_home();
        let mut child = Command::new(env!("CARGO_BIN_EXE_pulumi-resource-alicloud"))
            .env_clear()
            .envs(provider_vars(home.path(), env))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("provider starts");
        let port = first_line(&mut child).await;
        let port: u16 = port.trim().parse().expect("first stdout line is the port");
        Self::connect(port, Server::Process(child), home).await
    }

    async fn connect(port: u16, server: Server, home: TempDir) -> Provider {
        let client = ResourceProviderClient::connect(format!("http://127.0.0.1:{port}"))
            .await
            .expect("provider accepts gRPC");
        Provider {
            client,
            _running: Arc::new(Running {
                _server: server,
                _home: home,
            }),
        }
    }

    /// Starts the provider and configures it for the emulator with the given extra config.
    pub async fn configured(emulator: &Emulator) -> Provider {
        let mut p = Provider::start(&[]).await;
        p.configure(emulator_config(emulator))
            .await
            .expect("configure succeeds");
        p
    }

    pub async fn configure(&mut self, config: Value) -> Result<(), tonic::Status> {
        let req = ConfigureRequest {
            args: Some(values::to_struct(&props(config))),
            accept_secrets: true,
            accept_resources: true,
            ..Default::default()
        };
        self.client.configure(req).await.map(|_| ())
    }

    pub async fn check(
        &mut self,
        token: &str,
        olds: Value,
        news: Value,
    ) -> (Props, Vec<(String, String)>) {
        let req = CheckRequest {
            urn: urn(token, "r"),
            olds: Some(values::to_struct(&props(olds))),
            news: Some(values::to_struct(&props(news))),
            ..Default::default()
        };
        let resp = self
            .client
            .check(req)
            .await
            .expect("check answers")
            .into_inner();
        let failures = resp
            .failures
            .into_iter()
            .map(|f| (f.property, f.reason))
            .collect();
        (values::from_struct(resp.inputs.as_ref()), failures)
    }

    pub async fn diff(
        &mut self,
        token: &str,
        id: &str,
        olds: Value,
        old_inputs: Value,
        news: Value,
    ) -> pulumi_resource_alicloud::proto::pulumirpc::DiffResponse {
        let req = DiffRequest {
            id: id.into(),
            urn: urn(token, "r"),
            olds: Some(values::to_struct(&props(olds))),
            old_inputs: Some(values::to_struct(&props(old_inputs))),
            news: Some(values::to_struct(&props(news))),
            ..Default::default()
        };
        self.client
            .diff(req)
            .await
            .expect("diff answers")
            .into_inner()
    }

    pub async fn create(
        &mut self,
        token: &str,
        inputs: Value,
        preview: bool,
        timeout: f64,
    ) -> Result<(String, Props), tonic::Status> {
        let req = CreateRequest {
            urn: urn(token, "r"),
            properties: Some(values::to_struct(&props(inputs))),
            preview,
            timeout,
            ..Default::default()
        };
        let resp = self.client.create(req).await?.into_inner();
        Ok((resp.id, values::from_struct(resp.properties.as_ref())))
    }

    pub async fn read(
        &mut self,
        token: &str,
        id: &str,
        state: Value,
    ) -> Result<(String, Props, Props), tonic::Status> {
        let req = ReadRequest {
            id: id.into(),
            urn: urn(token, "r"),
            properties: Some(values::to_struct(&props(state))),
            ..Default::default()
        };
        let resp = self.client.read(req).await?.into_inner();
        Ok((
            resp.id,
            values::from_struct(resp.properties.as_ref()),
            values::from_struct(resp.inputs.as_ref()),
        ))
    }

    pub async fn update(
        &mut self,
        token: &str,
        id: &str,
        olds: Value,
        news: Value,
        preview: bool,
    ) -> Result<Props, tonic::Status> {
        let req = UpdateRequest {
            id: id.into(),
            urn: urn(token, "r"),
            olds: Some(values::to_struct(&props(olds))),
            news: Some(values::to_struct(&props(news))),
            preview,
            ..Default::default()
        };
        let resp = self.client.update(req).await?.into_inner();
        Ok(values::from_struct(resp.properties.as_ref()))
    }

    pub async fn delete(
        &mut self,
        token: &str,
        id: &str,
        state: Value,
    ) -> Result<(), tonic::Status> {
        let req = DeleteRequest {
            id: id.into(),
            urn: urn(token, "r"),
            properties: Some(values::to_struct(&props(state))),
            ..Default::default()
        };
        self.client.delete(req).await.map(|_| ())
    }
}

/// Provider config pointing both services at the emulator.
pub fn emulator_config(emulator: &Emulator) -> Value {
    json!({
        "region": "cn-hangzhou",
        "accessKey": ACCESS_KEY,
        "secretKey": values::secret(json!(SECRET_KEY)),
        "endpoints": {"ecs": emulator.url, "ecd": emulator.url},
    })
}

/// The ErrorResourceInitFailed detail of a partial failure.
pub fn init_failed(
    status: &tonic::Status,
) -> pulumi_resource_alicloud::proto::pulumirpc::ErrorResourceInitFailed {
    use pulumi_resource_alicloud::proto::pulumirpc::ErrorResourceInitFailed;
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
        #[prost(message, repeated, tag = "3")]
        details: Vec<prost_types::Any>,
    }
    let envelope = <RpcStatus as prost::Message>::decode(status.details()).expect("status details");
    let any = envelope.details.first().expect("one detail");
    assert_eq!(
        any.type_url,
        "type.googleapis.com/pulumirpc.ErrorResourceInitFailed"
    );
    <ErrorResourceInitFailed as prost::Message>::decode(any.value.as_slice())
        .expect("detail decodes")
}
