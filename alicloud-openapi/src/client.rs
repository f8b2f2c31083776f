//! The one client every Alibaba call goes through: it signs, sends, retries, maps errors and logs.

use std::sync::Arc;

use serde_json::Value;
use tokio::time::Instant;

use crate::context::{BoxFuture, CallContext};
use crate::credentials::{Credentials, FetchContext, ProvideCredentials};
use crate::endpoints::{Endpoint, Service};
use crate::error::Error;
use crate::retry::{self, Auth, Idempotency, Renewable};
use crate::settings::ClientConfig;
use crate::transport::{Request, Transport};

/// The Alibaba OpenAPI client. Cheap to clone; clones share one connection pool and one credentials cache.
///
/// ```no_run
/// # async fn demo() -> Result<(), alicloud_openapi::Error> {
/// use std::time::Duration;
/// use alicloud_openapi::{
///     CallContext, Client, Idempotency, Service, Settings, SystemEnvironment, resolve_client_config,
/// };
///
/// let client = Client::new(resolve_client_config(&Settings::default(), &SystemEnvironment)?)?;
/// let ctx = CallContext::detached(Duration::from_secs(60));
/// let regions = client
///     .call(Service::Ecs, "DescribeRegions", &[], Idempotency::Safe, &ctx)
///     .await?;
/// println!("{regions}");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    config: ClientConfig,
}

/// The client's credentials source, asked before every attempt within the call's deadline and cancellation.
struct Source<'a> {
    provider: &'a dyn ProvideCredentials,
    transport: &'a Transport,
}

impl Renewable for Source<'_> {
    fn credentials<'a>(
        &'a self,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Credentials, Error>> {
        Box::pin(async move {
            let left = ctx.deadline.saturating_duration_since(Instant::now());
            let cx = FetchContext::new(ctx, self.transport);
            let fetched = tokio::time::timeout(left, self.provider.provide(&cx));
            tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => Err(Error::Cancelled),
                r = fetched => match r {
                    Err(_) => Err(Error::DeadlineExceeded { last: None }),
                    Ok(Ok(Some(credentials))) => Ok(credentials),
                    Ok(Ok(None)) => Err(Error::Credentials(format!(
                        "no credentials from {}",
                        self.provider.describe()
                    ))),
                    Ok(Err(err)) => Err(err),
                },
            }
        })
    }

    fn expired(&self, rejected: &Credentials) {
        self.provider.expired(rejected);
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
            inner: Arc::new(Inner { transport, config }),
        })
    }

    /// The region calls are made in.
    pub fn region(&self) -> &str {
        &self.inner.config.region
    }

    /// The endpoint calls to `service` go to.
    pub fn endpoint(&self, service: Service) -> &Endpoint {
        match service {
            Service::Ecs => &self.inner.config.ecs_endpoint,
            Service::Ecd => &self.inner.config.ecd_endpoint,
            Service::Sts => &self.inner.config.sts_endpoint,
        }
    }

    /// Calls `action` with `params`, retrying what can be retried, a few times at most and never past `ctx`'s
    /// deadline (nor the configured retry cap). A connection that cannot be made at all gets only a few quick
    /// retries. Credentials are asked for before every attempt, so temporary ones are refreshed during long
    /// operations.
    pub async fn call(
        &self,
        service: Service,
        action: &str,
        params: &[(String, String)],
        idempotency: Idempotency,
        ctx: &CallContext,
    ) -> Result<Value, Error> {
        let request = Request {
            endpoint: self.endpoint(service),
            service,
            action,
            params,
        };
        let source = Source {
            provider: self.inner.config.credentials.as_ref(),
            transport: &self.inner.transport,
        };
        retry::call(
            &self.inner.transport,
            &request,
            Auth::Renewable(&source),
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

/// A text field of an answer.
pub(crate) fn string_field(body: &Value, key: &str, action: &str) -> Result<String, Error> {
    body[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::InvalidResponse(format!("{action} answered without {key}: {body}")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    mod live {
        use std::sync::atomic::{AtomicUsize, Ordering};

        use chrono::TimeDelta;

        use super::*;
        use crate::credentials::testing::{ManualClock, Recorded, Reply, Server, sts_answer};
        use crate::credentials::{AssumeRoleSettings, CredentialSettings};
        use crate::environment::MapEnvironment;
        use crate::retry::MAX_ATTEMPTS;
        use crate::settings::{Settings, resolve_client_config, resolve_client_config_with_clock};
        use crate::transport::IN_FLIGHT_GRACE;

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

        fn role_inputs(server: &Server) -> Settings {
            Settings {
                region: Some("cn-hangzhou".into()),
                credentials: CredentialSettings {
                    access_key_id: Some("AKBASE".into()),
                    access_key_secret: Some("base-secret".into()),
                    assume_role: Some(AssumeRoleSettings {
                        role_arn: "acs:ram::1:role/deployer".into(),
                        duration_seconds: Some(900),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ecd_endpoint: Some(server.url.clone()),
                sts_endpoint: Some(server.url.clone()),
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
            // Resolving the settings asked no one.
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

        fn plain_inputs(server: &Server) -> Settings {
            Settings {
                region: Some("cn-hangzhou".into()),
                credentials: CredentialSettings {
                    access_key_id: Some("AK".into()),
                    access_key_secret: Some("S".into()),
                    ..Default::default()
                },
                ecs_endpoint: Some(server.url.clone()),
                ..Default::default()
            }
        }

        // The clock is paused: time moves only when every task waits on a timer, so the times below are
        // the client's own waits, whatever the machine's load.
        #[tokio::test(start_paused = true)]
        async fn max_retry_timeout_caps_the_time_spent_retrying() {
            let server = Server::start(|_| {
                Reply::json(503, r#"{"Code":"ServiceUnavailable","Message":"busy"}"#)
            })
            .await;
            let inputs = Settings {
                max_retry_seconds: Some(1),
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
            // No retry starts past the cap: the waits between attempts add up to at most 1 s.
            let waited = Instant::now() - started;
            assert!(waited <= Duration::from_secs(1), "{waited:?}");
            assert!(server.count() < MAX_ATTEMPTS as usize, "{}", server.count());
        }

        #[tokio::test(start_paused = true)]
        async fn client_read_timeout_bounds_each_attempt() {
            // Answered only long after the call's 60 s deadline.
            let server = Server::start(|_| {
                Reply::json(200, r#"{"RequestId":"R"}"#).after(Duration::from_secs(3600))
            })
            .await;
            let inputs = Settings {
                read_timeout_ms: Some(200),
                connect_timeout_ms: Some(500),
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
            assert_eq!(server.count(), 1);
            // Cut at the read timeout, not at the 60 s deadline.
            let waited = Instant::now() - started;
            assert!(waited < Duration::from_secs(1), "{waited:?}");
        }

        /// A client signing with plain keys, its ECS endpoint `server`.
        fn plain_client(server: &Server) -> Client {
            Client::new(
                resolve_client_config(&plain_inputs(server), &MapEnvironment::default()).unwrap(),
            )
            .unwrap()
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
            let client = plain_client(&server);
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

        #[tokio::test(start_paused = true)]
        async fn a_cancel_with_no_answer_in_the_grace_is_an_unknown_outcome_not_a_no_op() {
            let server = Server::start(|_| {
                Reply::json(200, r#"{"RequestId":"R"}"#).after(IN_FLIGHT_GRACE * 3)
            })
            .await;
            let client = plain_client(&server);
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
            let client = plain_client(&server);
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
