//! The ECS instance metadata service, on its own loopback port: session tokens (`PUT /latest/api/token`), the
//! instance's RAM role name, and that role's temporary credentials, as ECS serves them at
//! `http://100.100.100.200`. Requests are counted as `IMDS.Token`, `IMDS.RoleList` and
//! `IMDS.RoleCredentials`, and fault rules naming those apply to them.
//!
//! It answers whatever `Host` a request names, and requests in proxy form (`GET http://100.100.100.200/…`)
//! too, so a client whose metadata host is fixed can reach it through an HTTP proxy setting.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::json;

use crate::api::dropped;
use crate::model::rfc3339;
use crate::{FaultKind, Inner, Shared, sts};

/// The longest session token (seconds), as ECS documents it.
pub const MAX_TOKEN_TTL: u64 = 21_600;
/// How long an instance credential lasts when the instance role does not say.
pub const DEFAULT_CREDENTIAL_SECONDS: u64 = 21_600;
/// The session name instance credentials are issued under.
pub const SESSION_NAME: &str = "ecs-instance";

const TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";
const TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials";

/// The metadata service's routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/latest/api/token", put(token))
        .route(CREDENTIALS_PATH, get(role_list))
        .route(&format!("{CREDENTIALS_PATH}/"), get(role_list))
        .route(
            &format!("{CREDENTIALS_PATH}/{{role}}"),
            get(role_credentials),
        )
        .fallback(|| async { text(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(shared)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut response = (status, body.into()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Counts the request and applies the first fault rule that names `action`. `Some` is the answer to give
/// instead of running the request.
pub(crate) async fn intercept(shared: &Shared, action: &str) -> Option<Response> {
    let rule = {
        let mut inner = shared.lock();
        shared.count_call(&mut inner, action);
        inner.take_named_fault(
            action,
            &[
                FaultKind::DropBefore,
                FaultKind::Hang,
                FaultKind::Throttle,
                FaultKind::ServerError,
                FaultKind::Error,
                FaultKind::Latency,
            ],
        )?
    };
    match rule.kind {
        FaultKind::DropBefore => Some(dropped()),
        FaultKind::Hang => {
            let held = async {
                match rule.latency_ms {
                    Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = held => {}
                () = shared.stopped() => {}
            }
            Some(dropped())
        }
        FaultKind::Throttle => Some(text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")),
        FaultKind::Error => Some(text(
            StatusCode::from_u16(rule.http_status.unwrap_or(500))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            rule.message
                .or(rule.code)
                .unwrap_or_else(|| "refused by a fault rule".into()),
        )),
        FaultKind::Latency => {
            tokio::time::sleep(Duration::from_millis(rule.latency_ms.unwrap_or(0))).await;
            None
        }
        _ => Some(text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")),
    }
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(answer) = intercept(&shared, "IMDS.Token").await {
        return answer;
    }
    let ttl = headers
        .get(TTL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|t| (1..=MAX_TOKEN_TTL).contains(t));
    let Some(ttl) = ttl else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("{TTL_HEADER} must be a number of seconds from 1 to {MAX_TOKEN_TTL}"),
        );
    };
    let mut inner = shared.lock();
    let now = inner.credential_now();
    if inner.imds_tokens.len() > 10_000 {
        inner.imds_tokens.retain(|_, expires| *expires > now);
    }
    let token = sts::random_token(56);
    inner.imds_tokens.insert(token.clone(), now + ttl as f64);
    text(StatusCode::OK, token)
}

/// The refusal of a request with a token that is unknown or expired, and, under `imdsV2Required`, of one
/// without a token.
fn token_refusal(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    let valid = match headers.get(TOKEN_HEADER).map(|v| v.to_str()) {
        Some(Ok(token)) => inner
            .imds_tokens
            .get(token)
            .is_some_and(|expires| *expires > inner.credential_now()),
        Some(Err(_)) => false,
        None => !inner.imds_v2_required,
    };
    (!valid).then(|| text(StatusCode::UNAUTHORIZED, "Unauthorized"))
}

async fn role_list(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(answer) = intercept(&shared, "IMDS.RoleList").await {
        return answer;
    }
    let inner = shared.lock();
    if let Some(refused) = token_refusal(&inner, &headers) {
        return refused;
    }
    match &inner.world.instance_role {
        // One name per line, without a trailing newline: clients take the body as the name.
        Some(role) => text(StatusCode::OK, role.name.clone()),
        None => text(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn role_credentials(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = intercept(&shared, "IMDS.RoleCredentials").await {
        return answer;
    }
    let mut inner = shared.lock();
    if let Some(refused) = token_refusal(&inner, &headers) {
        return refused;
    }
    let Some(instance) = inner.world.instance_role.clone().filter(|r| r.name == name) else {
        return text(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(role) = inner.world.role(&instance.role_arn).cloned() else {
        return text(StatusCode::NOT_FOUND, "Not Found");
    };
    let now = inner.credential_now();
    let lifetime = instance
        .duration_seconds
        .unwrap_or(DEFAULT_CREDENTIAL_SECONDS) as f64;
    // The same credential until less than a quarter of its lifetime is left, then a new one.
    let current = inner.imds_credential.as_ref().and_then(|id| {
        inner.world.sts_credentials.iter().rev().find(|c| {
            &c.access_key_id == id
                && c.role_arn == role.arn
                && c.expires_at - now > (c.expires_at - c.issued_at) / 4.0
        })
    });
    let credential = match current {
        Some(c) => c.clone(),
        None => {
            let issued = sts::issue(
                &mut inner.world,
                &role,
                SESSION_NAME,
                lifetime as u64,
                "metadata",
                now,
            );
            inner.imds_credential = Some(issued.access_key_id.clone());
            shared.persist(&inner.world);
            issued
        }
    };
    let body = json!({
        "AccessKeyId": credential.access_key_id,
        "AccessKeySecret": credential.access_key_secret,
        "Expiration": rfc3339(credential.expires_at),
        "SecurityToken": credential.security_token,
        "LastUpdated": rfc3339(credential.issued_at),
        "Code": "Success",
    });
    text(StatusCode::OK, body.to_string())
}
