//! Errors of the Alibaba client, and how each is treated by retries.

use std::fmt;

/// An error answer from the Alibaba API (the JSON envelope of a non-2xx response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// `Code`, e.g. `InvalidImageId.NotFound`.
    pub code: String,
    /// `Message`.
    pub message: String,
    /// `RequestId`, for Alibaba support.
    pub request_id: Option<String>,
    /// The HTTP status.
    pub http_status: u16,
    /// `Recommend`: Alibaba's troubleshooting link.
    pub recommend: Option<String>,
    /// How long the service asked us to wait before retrying (`x-acs-retry-after`, milliseconds).
    pub retry_after: Option<std::time::Duration>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        match &self.request_id {
            Some(id) => write!(f, " (HTTP {}, RequestId: {id})", self.http_status),
            None => write!(f, " (HTTP {})", self.http_status),
        }
    }
}

/// Why a call failed.
///
/// ```
/// use alicloud_openapi::{ApiError, Error};
///
/// let refused = Error::Api(ApiError {
///     code: "Throttling.User".into(),
///     message: "Request was denied due to user flow control.".into(),
///     request_id: Some("R-1".into()),
///     http_status: 400,
///     recommend: None,
///     retry_after: None,
/// });
/// assert!(refused.is_throttling() && !refused.may_have_taken_effect());
/// assert_eq!(refused.code(), Some("Throttling.User"));
/// assert!(refused.to_string().contains("RequestId: R-1"));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Alibaba answered with an error.
    #[error("{0}")]
    Api(ApiError),
    /// The request or its answer was lost on the network.
    #[error("{action} at {endpoint}: network error: {message}")]
    Transport {
        /// The action being called.
        action: String,
        /// The endpoint called, so a wrong address is easy to spot.
        endpoint: String,
        /// What went wrong.
        message: String,
        /// Whether the connection was never made, so the request cannot have been applied.
        never_sent: bool,
    },
    /// The operation's deadline passed, possibly after retrying `last`.
    #[error("{}", deadline_message(.last))]
    DeadlineExceeded {
        /// The last error before the deadline.
        last: Option<Box<Error>>,
    },
    /// Retries ran out before the deadline did.
    #[error("{last} (gave up after {attempts} attempts)")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: Box<Error>,
    },
    /// A step before a change failed, so the change was not sent (say, the read before an add).
    #[error("{0}")]
    BeforeChange(Box<Error>),
    /// The operation was cancelled before anything it sent could have taken effect.
    #[error("the operation was cancelled")]
    Cancelled,
    /// The operation was cancelled while a request was on the wire, and no answer came within a short grace:
    /// the service may have applied it (a real service finishes a request that arrived, whoever hangs up).
    #[error(
        "cancelled while {action} was on its way to {endpoint}; no answer came in time, so whether it took \
         effect is unknown"
    )]
    Interrupted {
        /// The action that was in flight.
        action: String,
        /// Where it was sent.
        endpoint: String,
    },
    /// No usable credentials.
    #[error("{0}")]
    Credentials(String),
    /// Invalid settings (region, endpoints).
    #[error("{0}")]
    Config(String),
    /// A 2xx answer that is not what the API documents.
    #[error("unexpected response: {0}")]
    InvalidResponse(String),
}

fn deadline_message(last: &Option<Box<Error>>) -> String {
    match last {
        Some(err) => format!("timed out; the last attempt failed with: {err}"),
        None => "timed out".to_string(),
    }
}

/// Codes Alibaba uses for throttling: the request was refused before it was applied.
fn is_throttling(code: &str) -> bool {
    code.starts_with("Throttling") || code == "Rejected.Throttling"
}

impl Error {
    /// The Alibaba error code, if the API answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(&e.code),
            Error::DeadlineExceeded { last: Some(last) }
            | Error::GaveUp { last, .. }
            | Error::BeforeChange(last) => last.code(),
            _ => None,
        }
    }

    /// Whether Alibaba refused the call for throttling (it was not applied).
    pub fn is_throttling(&self) -> bool {
        matches!(self, Error::Api(e) if is_throttling(&e.code))
    }

    /// Whether Alibaba answered with one of `codes`. "Not found" is decided this way, per action, from the
    /// codes that action documents: many other codes also end in `.NotFound` (`InvalidAccessKeyId.NotFound`,
    /// `InvalidRegionId.NotFound`) without meaning that the resource is gone.
    pub fn has_code(&self, codes: &[&str]) -> bool {
        self.code().is_some_and(|c| codes.contains(&c))
    }

    /// Whether the connection was never made (refused, unresolvable host), so the request was not applied.
    pub fn is_connect_failure(&self) -> bool {
        matches!(
            self,
            Error::Transport {
                never_sent: true,
                ..
            }
        )
    }

    /// Whether trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => {
                is_throttling(&e.code)
                    || matches!(e.code.as_str(), "ServiceUnavailable" | "InternalError")
                    || e.http_status >= 500
            }
            Error::Transport { .. } => true,
            _ => false,
        }
    }

    /// Whether the request may have been applied although the call failed: a retry of a call that is
    /// not idempotent could then do it twice.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            Error::Api(e) => !is_throttling(&e.code) && e.http_status >= 500,
            Error::Transport { never_sent, .. } => !never_sent,
            Error::Interrupted { .. } => true,
            Error::DeadlineExceeded { last: Some(last) } | Error::GaveUp { last, .. } => {
                last.may_have_taken_effect()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str, status: u16) -> Error {
        Error::Api(ApiError {
            retry_after: None,
            code: code.into(),
            message: "m".into(),
            request_id: Some("R1".into()),
            http_status: status,
            recommend: None,
        })
    }

    #[test]
    fn classification_table() {
        // (error, retryable, may have taken effect, is InvalidImageId.NotFound)
        let cases = [
            (api("Throttling.User", 400), true, false, false),
            (api("Throttling", 400), true, false, false),
            (api("Rejected.Throttling", 400), true, false, false),
            (api("ServiceUnavailable", 503), true, true, false),
            (api("InternalError", 500), true, true, false),
            (api("UnknownError", 502), true, true, false),
            (api("InvalidParameter", 400), false, false, false),
            (api("InvalidImageId.NotFound", 404), false, false, true),
            (api("SignatureDoesNotMatch", 400), false, false, false),
            // Codes that end in NotFound without saying anything about the resource.
            (api("InvalidAccessKeyId.NotFound", 404), false, false, false),
            (api("InvalidRegionId.NotFound", 404), false, false, false),
            (api("InvalidAction.NotFound", 404), false, false, false),
            (api("HTTP404", 404), false, false, false),
            (
                Error::Transport {
                    action: "A".into(),
                    endpoint: "http://127.0.0.1:9".into(),
                    message: "refused".into(),
                    never_sent: true,
                },
                true,
                false,
                false,
            ),
            (
                Error::Transport {
                    action: "A".into(),
                    endpoint: "http://127.0.0.1:9".into(),
                    message: "reset".into(),
                    never_sent: false,
                },
                true,
                true,
                false,
            ),
            (Error::Cancelled, false, false, false),
            (
                Error::Interrupted {
                    action: "A".into(),
                    endpoint: "http://127.0.0.1:9".into(),
                },
                false,
                true,
                false,
            ),
        ];
        for (err, retry, effect, not_found) in cases {
            assert_eq!(err.is_retryable(), retry, "{err}");
            assert_eq!(err.may_have_taken_effect(), effect, "{err}");
            assert_eq!(
                err.has_code(&["InvalidImageId.NotFound"]),
                not_found,
                "{err}"
            );
        }
    }

    #[test]
    fn display_carries_code_message_and_request_id() {
        assert_eq!(
            api("InvalidParameter", 400).to_string(),
            "InvalidParameter: m (HTTP 400, RequestId: R1)"
        );
        let timed_out = Error::DeadlineExceeded {
            last: Some(Box::new(api("Throttling.User", 400))),
        };
        assert!(timed_out.to_string().contains("Throttling.User"));
        assert_eq!(timed_out.code(), Some("Throttling.User"));
    }
}
