//! Test helpers: a clock tests move by hand, a fetch context, and a small loopback HTTP server that records
//! what it is sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{Clock, Credentials, LoadContext, Loaded, Loader};
use crate::credentials::sts::StsEndpoints;
use crate::transport::{SignatureVersion, Timeouts, Transport};
use crate::{CallContext, Endpoint};
use crate::{Error, MapEnvironment};

/// A clock that only moves when told, starting at 2026-01-01T00:00:00Z.
#[derive(Clone)]
pub(crate) struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub(crate) fn new() -> Self {
        let start = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid date");
        ManualClock(Arc::new(Mutex::new(start)))
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }

    pub(crate) fn advance(&self, by: TimeDelta) {
        *self.0.lock().expect("clock lock") += by;
    }

    pub(crate) fn clock(&self) -> Clock {
        let me = self.clone();
        Clock::from_fn(move || me.now())
    }
}

/// A transport with short timeouts.
pub(crate) fn transport(signature: SignatureVersion) -> Transport {
    Transport::new(
        &Timeouts {
            connect: Duration::from_secs(2),
            attempt: Duration::from_secs(5),
            max_retry: None,
        },
        signature,
        "alicloud-openapi-tests",
        crate::settings::DEFAULT_MAX_CALLS_IN_FLIGHT,
    )
    .expect("a transport")
}

/// A call context with a 30-second deadline, and a V3 transport.
pub(crate) fn fetch_context() -> (CallContext, Transport) {
    (call_context(), transport(SignatureVersion::V3))
}

pub(crate) fn call_context() -> CallContext {
    CallContext {
        deadline: tokio::time::Instant::now() + Duration::from_secs(30),
        cancel: Default::default(),
    }
}

/// One request the server received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

fn decode_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let d = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (d(k), d(v))
        })
        .collect()
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// Query and form parameters together.
    pub(crate) fn params(&self) -> Vec<(String, String)> {
        let mut all = decode_pairs(self.target.split_once('?').map_or("", |(_, q)| q));
        if self
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
        {
            all.extend(decode_pairs(&self.body));
        }
        all
    }

    pub(crate) fn param(&self, name: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The action, from the V3 header or the V1 parameter.
    pub(crate) fn action(&self) -> Option<String> {
        self.header("x-acs-action")
            .map(str::to_string)
            .or_else(|| self.param("Action"))
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A loopback HTTP/1.1 server: one request per connection, answered by a function.
pub(crate) struct Server {
    pub url: String,
    pub(crate) requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub(crate) async fn start(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let handler = handler.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, handler, seen).await;
                });
            }
        });
        Server {
            url,
            requests,
            task,
        }
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests lock").clone()
    }

    pub(crate) fn count(&self) -> usize {
        self.requests.lock().expect("requests lock").len()
    }

    pub(crate) fn endpoint(&self) -> Endpoint {
        Endpoint::parse(&self.url).expect("loopback endpoint")
    }
}

async fn serve(
    mut socket: tokio::net::TcpStream,
    handler: Arc<Handler>,
    seen: Arc<Mutex<Vec<Recorded>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let target = request_line.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let recorded = Recorded {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    seen.lock().expect("requests lock").push(recorded.clone());
    let reply = handler(&recorded);
    tokio::time::sleep(reply.delay).await;
    let response = format!(
        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        reply.status,
        reply.body.len(),
        reply.body
    );
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}

/// An STS `Credentials` answer expiring at `expiration`.
pub(crate) fn sts_answer(id: &str, expiration: DateTime<Utc>) -> String {
    serde_json::json!({
        "RequestId": "R-STS",
        "AssumedRoleUser": {"Arn": "acs:ram::1:role/r/s", "AssumedRoleId": "1:s"},
        "Credentials": {
            "AccessKeyId": id,
            "AccessKeySecret": format!("secret-of-{id}"),
            "SecurityToken": format!("token-of-{id}"),
            "Expiration": expiration.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    })
    .to_string()
}

/// Runs a loader against `env`, the central STS endpoint and a manual clock.
pub(crate) fn load(loader: &dyn Loader, env: &MapEnvironment) -> Result<Loaded, Error> {
    load_with_sts(loader, env, &StsEndpoints::default())
}

pub(crate) fn load_with_sts(
    loader: &dyn Loader,
    env: &MapEnvironment,
    sts: &StsEndpoints,
) -> Result<Loaded, Error> {
    loader.load(&LoadContext {
        env,
        sts,
        clock: &ManualClock::new().clock(),
        names: crate::environment::field_names,
    })
}

/// A loader's credentials when it has fixed ones; `None` when it has nothing. Panics on a network source.
pub(crate) fn static_credentials(
    loader: &dyn Loader,
    env: &MapEnvironment,
) -> Result<Option<Credentials>, Error> {
    match load(loader, env)? {
        Loaded::Absent(_) => Ok(None),
        Loaded::Found(p) => {
            Ok(Some(p.known().unwrap_or_else(|| {
                panic!("{} is not a fixed source", p.describe())
            })))
        }
        Loaded::Maybe(p) => panic!("{} is a network source", p.describe()),
    }
}

/// The reason a loader has nothing; panics otherwise.
pub(crate) fn absent(loaded: Loaded) -> String {
    match loaded {
        Loaded::Absent(why) => why,
        other => panic!("expected nothing, got {other:?}"),
    }
}

/// The provider a loader found; panics otherwise.
pub(crate) fn found(loaded: Loaded) -> std::sync::Arc<dyn super::ProvideCredentials> {
    match loaded {
        Loaded::Found(p) => p,
        other => panic!("expected a source, got {other:?}"),
    }
}

/// Asks a provider once.
pub(crate) async fn provide(
    p: &dyn super::ProvideCredentials,
    transport: &Transport,
) -> Result<Option<Credentials>, Error> {
    let ctx = call_context();
    p.provide(&super::FetchContext::new(&ctx, transport)).await
}
