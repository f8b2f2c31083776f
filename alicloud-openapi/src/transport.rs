//! One request on the wire: sign it, send it, and classify the answer. No retries here (see
//! [`retry`](crate::retry)).

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::context::CallContext;
use crate::endpoints::{Endpoint, Service};
use crate::error::{ApiError, Error};
use crate::gate::Gates;
use crate::sign::{self, Call, Credentials};

/// The longest `x-acs-retry-after` honoured (the official SDKs' cap).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// How long a request already on the wire may still answer after its operation is cancelled. The service
/// finishes a request that arrived whatever the caller does; waiting a little for its answer tells what it
/// did, and beyond this the call reports [`Error::Interrupted`] (the outcome is unknown).
pub const IN_FLIGHT_GRACE: Duration = Duration::from_secs(5);

/// Which signature scheme requests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureVersion {
    /// `ACS3-HMAC-SHA256` (the default, as in Alibaba's current SDKs).
    #[default]
    V3,
    /// RPC `HMAC-SHA1`.
    V1,
}

/// How long the client waits.
///
/// ```
/// use std::time::Duration;
/// use alicloud_openapi::Timeouts;
///
/// assert_eq!(Timeouts::default().attempt, Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For a connection (default 5 s).
    pub connect: Duration,
    /// For one attempt's answer (default 30 s), never beyond the operation's deadline.
    pub attempt: Duration,
    /// No retry starts later than this after the call began; unset, the operation's deadline and the
    /// attempt cap bound retries.
    pub max_retry: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            attempt: Duration::from_secs(30),
            max_retry: None,
        }
    }
}

/// One request of a call: where it goes and what it asks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub endpoint: &'a Endpoint,
    pub service: Service,
    pub action: &'a str,
    pub params: &'a [(String, String)],
}

/// An HTTP client built at its first request. Building one loads the TLS configuration and its root
/// certificates, which a process that is configured but makes no call never needs.
pub(crate) struct LazyHttp {
    builder: Box<dyn Fn() -> reqwest::ClientBuilder + Send + Sync>,
    client: OnceLock<reqwest::Client>,
}

impl LazyHttp {
    /// A client that `builder` makes when first asked for.
    pub(crate) fn new(
        builder: impl Fn() -> reqwest::ClientBuilder + Send + Sync + 'static,
    ) -> LazyHttp {
        LazyHttp {
            builder: Box::new(builder),
            client: OnceLock::new(),
        }
    }

    /// The client, built now if it was not yet.
    pub(crate) fn get(&self) -> Result<&reqwest::Client, Error> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let built = (self.builder)()
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        // Two first requests at once may both build one; the first stored is kept.
        Ok(self.client.get_or_init(|| built))
    }
}

/// Signs and sends requests; shared by the client and the credential sources that call STS.
pub(crate) struct Transport {
    http: LazyHttp,
    signature: SignatureVersion,
    timeouts: Timeouts,
    gates: Gates,
}

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
        let (connect, user_agent) = (timeouts.connect, user_agent.to_string());
        let http = LazyHttp::new(move || {
            reqwest::Client::builder()
                .connect_timeout(connect)
                .user_agent(&user_agent)
        });
        Ok(Transport {
            http,
            signature,
            timeouts: *timeouts,
            gates: Gates::new(max_calls_in_flight),
        })
    }

    pub(crate) fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    pub(crate) fn gates(&self) -> &Gates {
        &self.gates
    }

    /// One attempt, bounded by the attempt timeout and `ctx`'s deadline. A cancel while the request may be
    /// on the wire waits up to [`IN_FLIGHT_GRACE`] for its answer, since the service finishes what arrived;
    /// without one the outcome is unknown ([`Error::Interrupted`]), never "not done".
    pub(crate) async fn attempt(
        &self,
        request: &Request<'_>,
        credentials: Option<&Credentials>,
        ctx: &CallContext,
    ) -> Result<Value, Error> {
        let left = ctx.deadline.saturating_duration_since(Instant::now());
        let sent = tokio::time::timeout(
            left.min(self.timeouts.attempt),
            self.send(request, credentials),
        );
        tokio::pin!(sent);
        let no_answer = || Error::Transport {
            action: request.action.to_string(),
            endpoint: request.endpoint.to_string(),
            message: "no answer in time".into(),
            never_sent: false,
        };
        tokio::select! {
            biased;
            r = &mut sent => r.unwrap_or_else(|_| Err(no_answer())),
            _ = ctx.cancel.cancelled() => match tokio::time::timeout(IN_FLIGHT_GRACE, &mut sent).await {
                Ok(r) => r.unwrap_or_else(|_| Err(no_answer())),
                Err(_) => Err(Error::Interrupted {
                    action: request.action.to_string(),
                    endpoint: request.endpoint.to_string(),
                }),
            },
        }
    }

    /// Signs (or, without credentials, does not sign) and sends one request; a non-2xx answer is an error.
    async fn send(
        &self,
        request: &Request<'_>,
        credentials: Option<&Credentials>,
    ) -> Result<Value, Error> {
        let Request {
            endpoint,
            service,
            action,
            params,
        } = *request;
        let http = self.http.get()?;
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let host = endpoint.host();
        let call = Call {
            method: "POST",
            host: &host,
            action,
            version: service.version(),
            timestamp: &timestamp,
            nonce: &nonce,
            credentials,
        };
        const FORM: &str = "application/x-www-form-urlencoded";
        let http_request = match self.signature {
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
                let mut req = http.post(url);
                // reqwest derives Host from the URL, exactly as signed.
                for (name, value) in call
                    .v3_headers(query, body.as_bytes())
                    .iter()
                    .filter(|(n, _)| n != "host")
                {
                    req = req.header(name, value);
                }
                if body.is_empty() {
                    req
                } else {
                    req.header("content-type", FORM).body(body)
                }
            }
            SignatureVersion::V1 => http
                .post(endpoint.url().clone())
                .header("content-type", FORM)
                .body(sign::canonical_query(&call.v1_params(params))),
        };
        let response = http_request
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
}
