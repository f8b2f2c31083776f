//! Alibaba's error answers: code, HTTP status and message, sent in the JSON envelope
//! `{RequestId, HostId, Code, Message, Recommend}`.

use axum::http::StatusCode;

/// One error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `Code`.
    pub code: String,
    /// `Message`.
    pub message: String,
    /// Sent as `x-acs-retry-after` (milliseconds), as throttled answers may carry it.
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code: code.to_string(),
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// `MissingParameter`: a mandatory parameter is absent.
    pub fn missing(name: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    /// `InvalidParameter`: a parameter has a value the API does not take.
    pub fn invalid(name: &str, why: &str) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid: {why}"),
        )
    }
}
