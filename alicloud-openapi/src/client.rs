//! The one client every Alibaba call goes through: it signs, sends, retries, maps errors and logs.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::retry::Backoff;
use super::settings::{ClientConfig, SignatureVersion};
use super::sign::{self, RpcCall};
use super::{ApiError, Endpoint, Error};

/// How long one attempt may take before it counts as lost (never beyond the operation's deadline).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
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
}

impl Service {
    /// The product code used in endpoints.
    pub fn product(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::Ecd => "ecd",
        }
    }

    /// The API version.
    pub fn version(self) -> &'static str {
        match self {
            Service::Ecs => "2014-05-26",
            Service::Ecd => "2020-09-30",
        }
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
    /// Cancels waits and retries at once.
    pub cancel: CancellationToken,
}

/// The Alibaba OpenAPI client. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    backoff: Backoff,
}

fn transport(action: &str, endpoint: &Endpoint, err: &reqwest::Error) -> Error {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    Error::Transport {
        action: action.to_string(),
        endpoint: endpoint.url().as_str().trim_end_matches('/').to_string(),
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

impl Client {
    /// A client for these settings.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                config,
                backoff: Backoff::default(),
            }),
        })
    }

    /// The region calls are made in.
    pub fn region(&self) -> &str {
        &self.inner.config.region
    }

    fn endpoint(&self, service: Service) -> &Endpoint {
        match service {
            Service::Ecs => &self.inner.config.ecs_endpoint,
            Service::Ecd => &self.inner.config.ecd_endpoint,
        }
    }

    /// Calls `action` with `params`, retrying what can be retried, at most `MAX_ATTEMPTS` times and never
    /// past `ctx`'s deadline. A connection that cannot be made at all gets only a few quick retries.
    pub async fn call(
        &self,
        service: Service,
        action: &str,
        params: &[(String, String)],
        idempotency: Idempotency,
        ctx: &CallContext,
    ) -> Result<Value, Error> {
        let endpoint = self.endpoint(service).url().as_str().trim_end_matches('/');
        let mut attempt = 0u32;
        let mut connect_failures = 0u32;
        loop {
            attempt += 1;
            let left = ctx.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::DeadlineExceeded { last: None });
            }
            let sent = tokio::time::timeout(
                left.min(ATTEMPT_TIMEOUT),
                self.send(service, action, params),
            );
            let result = tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => return Err(Error::Cancelled),
                r = sent => r.unwrap_or_else(|_| Err(Error::Transport {
                    action: action.to_string(),
                    endpoint: endpoint.to_string(),
                    message: "no answer in time".into(),
                    never_sent: false,
                })),
            };
            let err = match result {
                Ok(body) => {
                    tracing::debug!(action, attempt, "call succeeded");
                    return Ok(body);
                }
                Err(err) => err,
            };
            let retry = err.is_retryable()
                && (idempotency == Idempotency::Safe || !err.may_have_taken_effect());
            if !retry {
                tracing::debug!(action, attempt, error = %err, "call failed");
                return Err(err);
            }
            let backoff = if err.is_connect_failure() {
                connect_failures += 1;
                CONNECT_BACKOFF
            } else {
                self.inner.backoff
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
            if Instant::now() + delay >= ctx.deadline {
                return Err(Error::DeadlineExceeded {
                    last: Some(Box::new(err)),
                });
            }
            tracing::info!(action, attempt, error = %err, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => return Err(Error::Cancelled),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One signed attempt.
    async fn send(
        &self,
        service: Service,
        action: &str,
        params: &[(String, String)],
    ) -> Result<Value, Error> {
        let config = &self.inner.config;
        let creds = &config.credentials;
        let endpoint = self.endpoint(service);
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let call = RpcCall {
            method: "POST",
            host: &endpoint.host(),
            action,
            version: service.version(),
            timestamp: &timestamp,
            nonce: &nonce,
            access_key_id: &creds.access_key_id,
            secret: &creds.access_key_secret,
            security_token: creds.security_token.as_deref(),
        };
        let request = match config.signature {
            SignatureVersion::V3 => {
                let mut url = endpoint.url().clone();
                url.set_query(
                    Some(&sign::canonical_query(params))
                        .filter(|q| !q.is_empty())
                        .map(String::as_str),
                );
                let mut req = self.inner.http.post(url);
                // reqwest derives Host from the URL, exactly as signed.
                for (name, value) in call.v3_headers(params).iter().filter(|(n, _)| n != "host") {
                    req = req.header(name, value);
                }
                req
            }
            SignatureVersion::V1 => self
                .inner
                .http
                .post(endpoint.url().clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(sign::canonical_query(&call.v1_params(params))),
        };
        let response = request
            .send()
            .await
            .map_err(|e| transport(action, endpoint, &e))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| transport(action, endpoint, &e))?;
        if status.is_success() {
            serde_json::from_slice(&body)
                .map_err(|e| Error::InvalidResponse(format!("{action}: {e}")))
        } else {
            Err(api_error(status, &body, wait))
        }
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
