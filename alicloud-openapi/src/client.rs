//! The one client every Alibaba call goes through: it signs, sends, retries, maps errors and logs.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::batch::Batcher;
use super::credentials::{Credentials, FetchContext, ProvideCredentials};
use super::ecs::{SHARES_PER_IMAGE, ShareAdded};
use super::gate::Gates;
use super::retry::Backoff;
use super::settings::{ClientConfig, SignatureVersion, Timeouts};
use super::sign::{self, AnonymousCall, RpcCall};
use super::{ApiError, Endpoint, Error};

/// The code with which Alibaba refuses temporary credentials past their expiry.
const EXPIRED_TOKEN: &str = "InvalidSecurityToken.Expired";
/// The longest `x-acs-retry-after` honoured (the official SDKs' cap).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// Attempts of one call at most, whatever its deadline: a fault that outlasts them is reported, not waited out.
pub const MAX_ATTEMPTS: u32 = 8;
/// Attempts at most when the connection cannot be made at all (refused, unknown host): that is nearly always
/// a wrong endpoint, which waiting does not mend.
pub const MAX_CONNECT_ATTEMPTS: u32 = 3;
const CONNECT_BACKOFF: Backoff = Backoff {
    base: Duration::from_millis(100),
    cap: Duration::from_secs(1),
};

/// An Alibaba Cloud product this client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Elastic Compute Service, API version 2014-05-26.
    Ecs,
    /// Elastic Cloud Desktop, API version 2020-09-30.
    Ecd,
    /// Security Token Service, API version 2015-04-01.
    Sts,
}

impl Service {
    /// The product code used in endpoints.
    pub fn product(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::Ecd => "ecd",
            Service::Sts => "sts",
        }
    }

    /// The API version.
    pub fn version(self) -> &'static str {
        match self {
            Service::Ecs => "2014-05-26",
            Service::Ecd => "2020-09-30",
            Service::Sts => "2015-04-01",
        }
    }

    /// Whether parameters travel in a form body rather than the query string. STS parameters include
    /// policies and OIDC tokens, which stay out of URLs (as in Alibaba's credentials SDKs).
    fn params_in_body(self) -> bool {
        matches!(self, Service::Sts)
    }
}

/// Whether a call may be repeated after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it cannot do harm.
    Safe,
    /// Repeating it could do it twice: retried only when the failed attempt cannot have taken effect.
    Unsafe,
}

/// The deadline and cancellation of the operation a call belongs to.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// No attempt or backoff goes past this.
    pub deadline: Instant,
    /// Cancels waits and retries at once. A request already on the wire is given [`IN_FLIGHT_GRACE`] to
    /// answer, so that a change the service made is not reported as not made.
    pub cancel: CancellationToken,
}

impl CallContext {
    /// A context of its own, ending `within` from now and cancelled by nothing: for finding out what an
    /// interrupted or ambiguous change did, after the operation itself was cancelled or ran out of time.
    pub fn detached(within: Duration) -> CallContext {
        CallContext {
            deadline: Instant::now() + within,
            cancel: CancellationToken::new(),
        }
    }
}

/// How long a request already on the wire may still answer after its operation is cancelled. The service
/// finishes a request that arrived whatever the caller does; waiting a little for its answer tells what it
/// did, and beyond this the call reports [`Error::Interrupted`] (the outcome is unknown).
pub const IN_FLIGHT_GRACE: Duration = Duration::from_secs(5);

/// How a call authenticates.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// Credentials from this provider, asked before every attempt (temporary ones may be refreshed between
    /// attempts).
    Provider(&'a dyn ProvideCredentials),
    /// Signed with these credentials.
    Signed(&'a Credentials),
    /// Not signed (STS AssumeRoleWithOIDC).
    Anonymous,
}

/// Signs, sends and retries calls; shared by the client and the credential sources that call STS.
pub(crate) struct Transport {
    http: reqwest::Client,
    signature: SignatureVersion,
    backoff: Backoff,
    timeouts: Timeouts,
    gates: Gates,
}

/// The Alibaba OpenAPI client. Cheap to clone; clones share one connection pool and one credentials cache.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    config: ClientConfig,
    share_adds: Batcher<String, String, Result<ShareAdded, Error>>,
    share_removes: Batcher<String, String, Result<(), Error>>,
    share_reads: Batcher<String, (), Option<Vec<String>>>,
}

/// Share operations of one image that arrive within this of each other share a call. The engine starts
/// resource operations 3–17 ms apart when it has them all in flight (measured with the pinned CLI: 50 creates
/// over 240 ms), and sends none while those in flight wait: a lone operation waits this long.
const SHARE_BATCH_QUIET: Duration = Duration::from_millis(30);
/// The longest a share operation waits for others to join its call while they keep arriving.
const SHARE_BATCH_WINDOW: Duration = Duration::from_millis(500);

fn transport_error(action: &str, endpoint: &Endpoint, err: &reqwest::Error) -> Error {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    Error::Transport {
        action: action.to_string(),
        endpoint: endpoint.to_string(),
        message,
        never_sent: err.is_connect(),
    }
}

/// The wait a throttled answer asks for: `x-acs-retry-after`, a positive number of milliseconds, as the
/// official SDKs read it.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get("x-acs-retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms > 0)
        .map(|ms| Duration::from_millis(ms).min(MAX_RETRY_AFTER))
}

fn api_error(status: reqwest::StatusCode, body: &[u8], retry_after: Option<Duration>) -> Error {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| json.get(*n).and_then(Value::as_str))
            .map(str::to_string)
    };
    match field(&["Code", "code"]) {
        Some(code) => Error::Api(ApiError {
            code,
            message: field(&["Message", "message"]).unwrap_or_default(),
            request_id: field(&["RequestId", "requestId"]),
            http_status: status.as_u16(),
            recommend: field(&["Recommend"]),
            retry_after,
        }),
        None => Error::Api(ApiError {
            code: format!("HTTP{}", status.as_u16()),
            message: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            request_id: None,
            http_status: status.as_u16(),
            recommend: None,
            retry_after,
        }),
    }
}

impl Transport {
    pub(crate) fn new(
        timeouts: &Timeouts,
        signature: SignatureVersion,
        user_agent: &str,
        max_calls_in_flight: usize,
    ) -> Result<Transport, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .user_agent(user_agent)
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport {
            http,
            signature,
            backoff: Backoff::default(),
            timeouts: *timeouts,
            gates: Gates::new(max_calls_in_flight),
        })
    }

    /// Credentials for one attempt, within the call's deadline and cancellation.
    async fn credentials(
        &self,
        provider: &dyn ProvideCredentials,
        ctx: &CallContext,
    ) -> Result<Credentials, Error> {
        let left = ctx.deadline.saturating_duration_since(Instant::now());
        let cx = FetchContext::new(ctx, self);
        let fetched = tokio::time::timeout(left, provider.provide(&cx));
        tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => Err(Error::Cancelled),
            r = fetched => match r {
                Err(_) => Err(Error::DeadlineExceeded { last: None }),
                Ok(Ok(Some(credentials))) => Ok(credentials),
                Ok(Ok(None)) => Err(Error::Credentials(format!(
                    "no credentials from {}",
                    provider.describe()
                ))),
                Ok(Err(err)) => Err(err),
            },
        }
    }

    /// Calls `action` with `params`, retrying what can be retried, at most `MAX_ATTEMPTS` times, never past
    /// `ctx`'s deadline nor, when set, the retry time cap. A connection that cannot be made at all gets only
    /// a few quick retries.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn call(
        &self,
        endpoint: &Endpoint,
        service: Service,
        action: &str,
        params: &[(String, String)],
        auth: Auth<'_>,
        idempotency: Idempotency,
        ctx: &CallContext,
    ) -> Result<Value, Error> {
        let started = Instant::now();
        let gate = self.gates.gate(&endpoint.to_string());
        let mut attempt = 0u32;
        let mut connect_failures = 0u32;
        let mut renewed = false;
        // The last failed attempt that may have been applied: once one may have been, a later cancel or
        // deadline must not be reported as a call that changed nothing.
        let mut maybe_applied: Option<Error> = None;
        let stopped = |err: Error, maybe_applied: &Option<Error>| match (err, maybe_applied) {
            (Error::Cancelled, Some(applied)) => applied.clone(),
            (Error::DeadlineExceeded { last: None }, Some(applied)) => Error::DeadlineExceeded {
                last: Some(Box::new(applied.clone())),
            },
            (err, _) => err,
        };
        loop {
            attempt += 1;
            let fetched;
            let credentials = match auth {
                Auth::Provider(provider) => {
                    fetched = self
                        .credentials(provider, ctx)
                        .await
                        .map_err(|e| stopped(e, &maybe_applied))?;
                    Some(&fetched)
                }
                Auth::Signed(credentials) => Some(credentials),
                Auth::Anonymous => None,
            };
            let slot = gate
                .enter(ctx)
                .await
                .map_err(|e| stopped(e, &maybe_applied))?;
            let left = ctx.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(stopped(
                    Error::DeadlineExceeded { last: None },
                    &maybe_applied,
                ));
            }
            let sent = tokio::time::timeout(
                left.min(self.timeouts.attempt),
                self.send(endpoint, service, action, params, credentials),
            );
            tokio::pin!(sent);
            let no_answer = || Error::Transport {
                action: action.to_string(),
                endpoint: endpoint.to_string(),
                message: "no answer in time".into(),
                never_sent: false,
            };
            let result = tokio::select! {
                biased;
                r = &mut sent => r.unwrap_or_else(|_| Err(no_answer())),
                // The request may be on the wire, and the service finishes what arrived: its answer, if it
                // comes soon, says what happened; else the outcome is unknown, never "not done".
                _ = ctx.cancel.cancelled() => match tokio::time::timeout(IN_FLIGHT_GRACE, &mut sent).await {
                    Ok(r) => r.unwrap_or_else(|_| Err(no_answer())),
                    Err(_) => Err(Error::Interrupted {
                        action: action.to_string(),
                        endpoint: endpoint.to_string(),
                    }),
                },
            };
            drop(slot);
            let err = match result {
                Ok(body) => {
                    tracing::debug!(action, attempt, "call succeeded");
                    return Ok(body);
                }
                Err(err) => err,
            };
            // Temporary credentials the service already calls expired (its clock is ahead of ours): the call
            // was refused, not run, so it is repeated once with new ones.
            if let (Auth::Provider(provider), Some(used), false) = (auth, credentials, renewed)
                && err.has_code(&[EXPIRED_TOKEN])
            {
                renewed = true;
                provider.expired(used);
                continue;
            }
            if err.may_have_taken_effect() {
                maybe_applied = Some(err.clone());
            }
            let retry = err.is_retryable()
                && (idempotency == Idempotency::Safe || !err.may_have_taken_effect());
            if !retry {
                tracing::debug!(action, attempt, error = %err, "call failed");
                return Err(err);
            }
            if ctx.cancel.is_cancelled() {
                return Err(maybe_applied.unwrap_or(Error::Cancelled));
            }
            let backoff = if err.is_connect_failure() {
                connect_failures += 1;
                CONNECT_BACKOFF
            } else {
                self.backoff
            };
            if attempt >= MAX_ATTEMPTS || connect_failures >= MAX_CONNECT_ATTEMPTS {
                return Err(Error::GaveUp {
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            let jitter = backoff.delay(attempt, rand::random::<f64>());
            // A wait the service asked for is a floor, never shortened by jitter.
            let delay = match &err {
                Error::Api(api) => api.retry_after.map_or(jitter, |w| w.max(jitter)),
                _ => jitter,
            };
            if self
                .timeouts
                .max_retry
                .is_some_and(|cap| started.elapsed() + delay > cap)
            {
                return Err(Error::GaveUp {
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            if Instant::now() + delay >= ctx.deadline {
                return Err(Error::DeadlineExceeded {
                    last: Some(Box::new(err)),
                });
            }
            if err.is_throttling() {
                // Everyone calling this endpoint waits too: the service asked the caller, not the call.
                gate.pause_until(Instant::now() + delay);
            }
            tracing::info!(action, attempt, error = %err, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => return Err(maybe_applied.unwrap_or(Error::Cancelled)),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One attempt, signed with `credentials` or, without them, anonymous.
    async fn send(
        &self,
        endpoint: &Endpoint,
        service: Service,
        action: &str,
        params: &[(String, String)],
        credentials: Option<&Credentials>,
    ) -> Result<Value, Error> {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let host = endpoint.host();
        let anonymous = AnonymousCall {
            method: "POST",
            host: &host,
            action,
            version: service.version(),
            timestamp: &timestamp,
            nonce: &nonce,
        };
        let signed = credentials.map(|c| RpcCall {
            method: "POST",
            host: &host,
            action,
            version: service.version(),
            timestamp: &timestamp,
            nonce: &nonce,
            access_key_id: &c.access_key_id,
            secret: &c.access_key_secret,
            security_token: c.security_token.as_deref(),
        });
        const FORM: &str = "application/x-www-form-urlencoded";
        let request = match self.signature {
            SignatureVersion::V3 => {
                let (query, body): (&[(String, String)], String) = if service.params_in_body() {
                    (&[], sign::canonical_query(params))
                } else {
                    (params, String::new())
                };
                let mut url = endpoint.url().clone();
                url.set_query(
                    Some(&sign::canonical_query(query))
                        .filter(|q| !q.is_empty())
                        .map(String::as_str),
                );
                let headers = match &signed {
                    Some(call) => call.v3_headers_with_body(query, body.as_bytes()),
                    None => anonymous.v3_headers(body.as_bytes()),
                };
                let mut req = self.http.post(url);
                // reqwest derives Host from the URL, exactly as signed.
                for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
                    req = req.header(name, value);
                }
                if body.is_empty() {
                    req
                } else {
                    req.header("content-type", FORM).body(body)
                }
            }
            SignatureVersion::V1 => {
                let all = match &signed {
                    Some(call) => call.v1_params(params),
                    None => anonymous.v1_params(params),
                };
                self.http
                    .post(endpoint.url().clone())
                    .header("content-type", FORM)
                    .body(sign::canonical_query(&all))
            }
        };
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(action, endpoint, &e))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(action, endpoint, &e))?;
        if status.is_success() {
            serde_json::from_slice(&body)
                .map_err(|e| Error::InvalidResponse(format!("{action}: {e}")))
        } else {
            Err(api_error(status, &body, wait))
        }
    }
}

impl Client {
    /// A client for these settings. No network access: credentials that need it are fetched at the first
    /// call.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        let transport = Transport::new(
            &config.timeouts,
            config.signature,
            &config.user_agent,
            config.max_calls_in_flight,
        )?;
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                config,
                share_adds: Batcher::new(SHARE_BATCH_QUIET, SHARE_BATCH_WINDOW, SHARES_PER_IMAGE),
                share_removes: Batcher::new(
                    SHARE_BATCH_QUIET,
                    SHARE_BATCH_WINDOW,
                    SHARES_PER_IMAGE,
                ),
                share_reads: Batcher::new(SHARE_BATCH_QUIET, SHARE_BATCH_WINDOW, usize::MAX),
            }),
        })
    }

    /// The region calls are made in.
    pub fn region(&self) -> &str {
        &self.inner.config.region
    }

    /// Where the client's credentials come from (never a secret).
    pub fn credentials_source(&self) -> String {
        self.inner.config.credentials.describe()
    }

    /// The endpoint calls to `service` go to.
    pub fn endpoint(&self, service: Service) -> &Endpoint {
        match service {
            Service::Ecs => &self.inner.config.ecs_endpoint,
            Service::Ecd => &self.inner.config.ecd_endpoint,
            Service::Sts => &self.inner.config.sts_endpoint,
        }
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    pub(crate) fn share_adds(&self) -> &Batcher<String, String, Result<ShareAdded, Error>> {
        &self.inner.share_adds
    }

    pub(crate) fn share_removes(&self) -> &Batcher<String, String, Result<(), Error>> {
        &self.inner.share_removes
    }

    pub(crate) fn share_reads(&self) -> &Batcher<String, (), Option<Vec<String>>> {
        &self.inner.share_reads
    }

    /// The client's credentials, as the next call would sign with them (fetched or refreshed if needed).
    pub async fn credentials(&self, ctx: &CallContext) -> Result<Credentials, Error> {
        self.inner
            .transport
            .credentials(self.inner.config.credentials.as_ref(), ctx)
            .await
    }

    /// Calls `action` with `params`, retrying what can be retried, at most `MAX_ATTEMPTS` times and never
    /// past `ctx`'s deadline (nor the configured retry cap). A connection that cannot be made at all gets
    /// only a few quick retries. Credentials are asked for before every attempt, so temporary ones are
    /// refreshed during long operations.
    pub async fn call(
        &self,
        service: Service,
        action: &str,
        params: &[(String, String)],
        idempotency: Idempotency,
        ctx: &CallContext,
    ) -> Result<Value, Error> {
        self.inner
            .transport
            .call(
                self.endpoint(service),
                service,
                action,
                params,
                Auth::Provider(self.inner.config.credentials.as_ref()),
                idempotency,
                ctx,
            )
            .await
    }
}

/// `Key.1=…, Key.2=…` for a list parameter.
pub(crate) fn flatten(key: &str, values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{key}.{}", i + 1), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelope_is_parsed() {
        let body = br#"{"RequestId":"R-1","HostId":"ecs.cn-hangzhou.aliyuncs.com","Code":"InvalidImageId.NotFound","Message":"The specified image does not exist.","Recommend":"https://api.aliyun.com/troubleshoot?q=InvalidImageId.NotFound"}"#;
        let Error::Api(e) = api_error(reqwest::StatusCode::NOT_FOUND, body, None) else {
            panic!("not an API error")
        };
        assert_eq!(e.code, "InvalidImageId.NotFound");
        assert_eq!(e.request_id.as_deref(), Some("R-1"));
        assert_eq!(e.http_status, 404);
        assert!(e.recommend.is_some());
        let Error::Api(e) = api_error(
            reqwest::StatusCode::BAD_GATEWAY,
            b"<html>bad gateway</html>",
            None,
        ) else {
            panic!()
        };
        assert_eq!((e.code.as_str(), e.http_status), ("HTTP502", 502));
    }

    #[test]
    fn retry_after_is_read_in_milliseconds_and_capped() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        for (value, expected) in [
            ("1500", Some(Duration::from_millis(1500))),
            ("0", None),
            ("-5", None),
            ("soon", None),
            ("999999999", Some(MAX_RETRY_AFTER)),
        ] {
            headers.insert("x-acs-retry-after", value.parse().expect("a header value"));
            assert_eq!(retry_after(&headers), expected, "{value}");
        }
    }

    mod live {
        use std::sync::atomic::{AtomicUsize, Ordering};

        use chrono::TimeDelta;

        use super::*;
        use crate::credentials::testing::{ManualClock, Recorded, Reply, Server, sts_answer};
        use crate::{
            AssumeRoleInputs, ConfigInputs, MapEnvironment, resolve_client_config,
            resolve_client_config_with_clock,
        };

        fn ctx(seconds: u64) -> CallContext {
            CallContext {
                deadline: Instant::now() + Duration::from_secs(seconds),
                cancel: Default::default(),
            }
        }

        /// STS hands out 15-minute credentials `STS.<n>` (after `delay`); ECD answers every call.
        async fn cloud(clock: &ManualClock, delay: Duration) -> (Server, Arc<AtomicUsize>) {
            let issued = Arc::new(AtomicUsize::new(0));
            let (clock, n) = (clock.clone(), issued.clone());
            let server = Server::start(move |r: &Recorded| match r.action().as_deref() {
                Some("AssumeRole") => {
                    let id = format!("STS.{}", n.fetch_add(1, Ordering::SeqCst) + 1);
                    Reply::json(200, sts_answer(&id, clock.now() + TimeDelta::minutes(15)))
                        .after(delay)
                }
                _ => Reply::json(200, r#"{"RequestId":"R","Images":[]}"#),
            })
            .await;
            (server, issued)
        }

        fn role_inputs(server: &Server) -> ConfigInputs {
            ConfigInputs {
                region: Some("cn-hangzhou".into()),
                access_key: Some("AKBASE".into()),
                secret_key: Some("base-secret".into()),
                endpoint_ecd: Some(server.url.clone()),
                endpoint_sts: Some(server.url.clone()),
                assume_role: Some(AssumeRoleInputs {
                    role_arn: "acs:ram::1:role/deployer".into(),
                    session_expiration: Some(900),
                    ..Default::default()
                }),
                ..Default::default()
            }
        }

        fn ecd_tokens(server: &Server) -> Vec<String> {
            server
                .requests()
                .iter()
                .filter(|r| r.action().as_deref() == Some("DescribeImages"))
                .map(|r| {
                    r.header("x-acs-security-token")
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        }

        #[tokio::test]
        async fn a_fifteen_minute_wait_outlives_fifteen_minute_credentials() {
            let clock = ManualClock::new();
            let (server, issued) = cloud(&clock, Duration::ZERO).await;
            let config = resolve_client_config_with_clock(
                &role_inputs(&server),
                &MapEnvironment::with_vars(&[]),
                clock.clock(),
            )
            .unwrap();
            let client = Client::new(config).unwrap();
            // Configure asked no one.
            assert_eq!(server.count(), 0);
            // One poll a minute for a quarter of an hour, as an image wait does.
            for minute in 0..=15 {
                if minute > 0 {
                    clock.advance(TimeDelta::minutes(1));
                }
                client
                    .call(
                        Service::Ecd,
                        "DescribeImages",
                        &[],
                        Idempotency::Safe,
                        &ctx(30),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("minute {minute}: {e}"));
            }
            let tokens = ecd_tokens(&server);
            assert_eq!(tokens.len(), 16);
            assert!(
                tokens[..12].iter().all(|t| t == "token-of-STS.1"),
                "{tokens:?}"
            );
            // Renewed at minute 12, three minutes before the first set lapsed.
            assert!(
                tokens[12..].iter().all(|t| t == "token-of-STS.2"),
                "{tokens:?}"
            );
            assert_eq!(issued.load(Ordering::SeqCst), 2);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn twenty_concurrent_calls_assume_the_role_once() {
            let clock = ManualClock::new();
            let (server, issued) = cloud(&clock, Duration::from_millis(200)).await;
            let config = resolve_client_config_with_clock(
                &role_inputs(&server),
                &MapEnvironment::with_vars(&[]),
                clock.clock(),
            )
            .unwrap();
            let client = Client::new(config).unwrap();
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..20 {
                let client = client.clone();
                tasks.spawn(async move {
                    client
                        .call(
                            Service::Ecd,
                            "DescribeImages",
                            &[],
                            Idempotency::Safe,
                            &ctx(30),
                        )
                        .await
                        .map(|_| ())
                });
            }
            for result in tasks.join_all().await {
                result.unwrap();
            }
            assert_eq!(issued.load(Ordering::SeqCst), 1);
            assert_eq!(ecd_tokens(&server).len(), 20);
        }

        fn plain_inputs(server: &Server) -> ConfigInputs {
            ConfigInputs {
                region: Some("cn-hangzhou".into()),
                access_key: Some("AK".into()),
                secret_key: Some("S".into()),
                endpoint_ecs: Some(server.url.clone()),
                ..Default::default()
            }
        }

        #[tokio::test]
        async fn max_retry_timeout_caps_the_time_spent_retrying() {
            let server = Server::start(|_| {
                Reply::json(503, r#"{"Code":"ServiceUnavailable","Message":"busy"}"#)
            })
            .await;
            let inputs = ConfigInputs {
                max_retry_timeout: Some(1),
                ..plain_inputs(&server)
            };
            let client =
                Client::new(resolve_client_config(&inputs, &MapEnvironment::default()).unwrap())
                    .unwrap();
            let started = Instant::now();
            let err = client
                .call(
                    Service::Ecs,
                    "DescribeRegions",
                    &[],
                    Idempotency::Safe,
                    &ctx(120),
                )
                .await
                .unwrap_err();
            assert!(matches!(err, Error::GaveUp { .. }), "{err}");
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{:?}",
                started.elapsed()
            );
            assert!(server.count() < MAX_ATTEMPTS as usize, "{}", server.count());
        }

        #[tokio::test]
        async fn client_read_timeout_bounds_each_attempt() {
            let server = Server::start(|_| {
                Reply::json(200, r#"{"RequestId":"R"}"#).after(Duration::from_secs(5))
            })
            .await;
            let inputs = ConfigInputs {
                client_read_timeout: Some(200),
                client_connect_timeout: Some(500),
                ..plain_inputs(&server)
            };
            let config = resolve_client_config(&inputs, &MapEnvironment::default()).unwrap();
            assert_eq!(config.timeouts.connect, Duration::from_millis(500));
            let client = Client::new(config).unwrap();
            let started = Instant::now();
            // Not repeatable after a lost answer, so one attempt only.
            let err = client
                .call(
                    Service::Ecs,
                    "CreateImage",
                    &[],
                    Idempotency::Unsafe,
                    &ctx(60),
                )
                .await
                .unwrap_err();
            assert!(err.to_string().contains("no answer in time"), "{err}");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
        }

        /// Cancels `ctx` once `server` has received its first request.
        fn cancel_when_sent(server: &Server, ctx: &CallContext) -> tokio::task::JoinHandle<()> {
            let (cancel, requests) = (ctx.cancel.clone(), server.requests.clone());
            tokio::spawn(async move {
                while requests.lock().map(|r| r.is_empty()).unwrap_or(true) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                cancel.cancel();
            })
        }

        #[tokio::test]
        async fn a_cancel_with_the_request_on_the_wire_waits_for_its_answer() {
            let server = Server::start(|_| {
                Reply::json(200, r#"{"RequestId":"R","ImageId":"m-made"}"#)
                    .after(Duration::from_millis(800))
            })
            .await;
            let client = Client::new(
                resolve_client_config(&plain_inputs(&server), &MapEnvironment::default()).unwrap(),
            )
            .unwrap();
            let ctx = ctx(60);
            let canceller = cancel_when_sent(&server, &ctx);
            let body = client
                .call(Service::Ecs, "CreateImage", &[], Idempotency::Unsafe, &ctx)
                .await
                .expect("the answer that came after the cancel is the outcome");
            canceller.await.unwrap();
            assert!(ctx.cancel.is_cancelled());
            assert_eq!(body["ImageId"], "m-made");
        }

        #[tokio::test]
        async fn a_cancel_with_no_answer_in_the_grace_is_an_unknown_outcome_not_a_no_op() {
            let server = Server::start(|_| {
                Reply::json(200, r#"{"RequestId":"R"}"#).after(IN_FLIGHT_GRACE * 3)
            })
            .await;
            let client = Client::new(
                resolve_client_config(&plain_inputs(&server), &MapEnvironment::default()).unwrap(),
            )
            .unwrap();
            let ctx = ctx(120);
            let canceller = cancel_when_sent(&server, &ctx);
            let err = client
                .call(Service::Ecs, "CreateImage", &[], Idempotency::Unsafe, &ctx)
                .await
                .unwrap_err();
            canceller.await.unwrap();
            assert!(matches!(err, Error::Interrupted { .. }), "{err}");
            assert!(err.may_have_taken_effect(), "{err}");
            assert_eq!(server.count(), 1, "a cancelled call is not repeated");
        }

        #[tokio::test]
        async fn a_cancel_during_backoff_after_an_ambiguous_failure_reports_that_failure() {
            let server = Server::start(|_| {
                Reply::json(
                    503,
                    r#"{"Code":"ServiceUnavailable","Message":"busy","RequestId":"R"}"#,
                )
            })
            .await;
            let client = Client::new(
                resolve_client_config(&plain_inputs(&server), &MapEnvironment::default()).unwrap(),
            )
            .unwrap();
            let ctx = ctx(120);
            let canceller = cancel_when_sent(&server, &ctx);
            // Safe, so the 503 would be retried after a backoff; the cancel ends the wait.
            let err = client
                .call(
                    Service::Ecs,
                    "ModifyImageSharePermission",
                    &[],
                    Idempotency::Safe,
                    &ctx,
                )
                .await
                .unwrap_err();
            canceller.await.unwrap();
            assert_eq!(err.code(), Some("ServiceUnavailable"), "{err}");
            assert!(err.may_have_taken_effect(), "{err}");
        }

        #[tokio::test]
        async fn a_source_that_fails_stops_the_call_with_its_reason() {
            let clock = ManualClock::new();
            let server = Server::start(|r: &Recorded| match r.action().as_deref() {
                Some("AssumeRole") => Reply::json(
                    403,
                    r#"{"Code":"NoPermission","Message":"not allowed","RequestId":"R"}"#,
                ),
                _ => Reply::json(200, "{}"),
            })
            .await;
            let config = resolve_client_config_with_clock(
                &role_inputs(&server),
                &MapEnvironment::with_vars(&[]),
                clock.clock(),
            )
            .unwrap();
            let client = Client::new(config).unwrap();
            let err = client
                .call(
                    Service::Ecd,
                    "DescribeImages",
                    &[],
                    Idempotency::Safe,
                    &ctx(30),
                )
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("assuming role acs:ram::1:role/deployer")
                    && err.contains("NoPermission"),
                "{err}"
            );
            assert!(!err.contains("base-secret"), "{err}");
            assert_eq!(ecd_tokens(&server).len(), 0);
        }
    }

    #[test]
    fn lists_flatten_from_one() {
        let got = flatten("AddAccount", &["a".into(), "b".into()]);
        assert_eq!(
            got,
            vec![
                ("AddAccount.1".to_string(), "a".to_string()),
                ("AddAccount.2".to_string(), "b".to_string())
            ]
        );
    }
}
