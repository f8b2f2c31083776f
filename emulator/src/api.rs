//! The OpenAPI surface on `/`: parse, route by version and action, authenticate (or, for anonymous actions,
//! take the call unsigned), apply faults, run the action, and answer with a body or Alibaba's error
//! envelope.
//!
//! A call whose request has fully arrived runs to the end whatever its connection does: the work runs in
//! its own task, so a client that hangs up (a timeout, a cancelled operation) does not stop it, and
//! [`crate::serve`] waits for such calls before it returns. This rests on an assumption: the HTTP servers of
//! Alibaba's API gateway, in front of ECS, ECD and STS, process a request once they have received it,
//! whether or not its client is still connected. Assumed: no Alibaba document found states it. ECS's
//! idempotence guide is consistent with it: it asks for a `ClientToken` on a retry "when no response is
//! received", since the first request may have taken effect (ECS "How to ensure idempotence",
//! alibabacloud.com/help/en/ecs/developer-reference/how-to-ensure-idempotence).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

use crate::auth::{self, Scheme, Signed};
use crate::error::ApiError;
use crate::model::now;
use crate::params::Params;
use crate::{Fault, FaultKind, Shared, ecd, ecs, sts};

/// The products this endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Product {
    Ecs,
    Ecd,
    Sts,
}

/// Actions that take calls without a signature (the official SDKs send them with `auth_type=Anonymous`).
const ANONYMOUS_ACTIONS: &[&str] = &["AssumeRoleWithOIDC"];

impl Product {
    fn by_version(version: &str) -> Option<Product> {
        match version {
            "2014-05-26" => Some(Product::Ecs),
            "2020-09-30" => Some(Product::Ecd),
            "2015-04-01" => Some(Product::Sts),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Product::Ecs => "ecs",
            Product::Ecd => "ecd",
            Product::Sts => "sts",
        }
    }

    fn actions(self) -> &'static [&'static str] {
        match self {
            Product::Ecs => &["ModifyImageSharePermission", "DescribeImageSharePermission"],
            Product::Ecd => &[
                "CreateImage",
                "DescribeImages",
                "ModifyImageAttribute",
                "DeleteImages",
                "DescribeDesktops",
            ],
            Product::Sts => &["AssumeRole", "AssumeRoleWithOIDC"],
        }
    }
}

/// The `/` routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", any(handle))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found(headers: HeaderMap) -> Response {
    envelope(
        &host(&headers),
        &ApiError::new(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        ),
    )
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .unwrap_or("127.0.0.1")
        .to_string()
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// Alibaba's error envelope.
fn envelope(host: &str, err: &ApiError) -> Response {
    let id = request_id();
    let body = json!({
        "RequestId": id,
        "HostId": host,
        "Code": err.code,
        "Message": err.message,
        "Recommend": format!("https://api.aliyun.com/troubleshoot?q={}&product=Emulator&requestId={id}", err.code),
    });
    let mut response = (
        err.status,
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        body.to_string(),
    )
        .into_response();
    if let Some(ms) = err.retry_after_ms {
        response
            .headers_mut()
            .insert("x-acs-retry-after", ms.into());
    }
    response
}

fn pairs(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The product a `Host` pins the request to, when it names a product endpoint.
fn host_product(host: &str) -> Option<Product> {
    let name = host.split(':').next().unwrap_or_default();
    if !name.ends_with(".aliyuncs.com") {
        return None;
    }
    match name.split(['.', '-']).next() {
        Some("ecs") => Some(Product::Ecs),
        Some("ecd") => Some(Product::Ecd),
        Some("sts") => Some(Product::Sts),
        _ => None,
    }
}

/// Axum calls this once the whole request (body included) has been read.
async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = host(&headers);
    if method != Method::GET && method != Method::POST {
        return envelope(
            &host,
            &ApiError::new(
                403,
                "UnsupportedHTTPMethod",
                format!("This http method {method} is not supported."),
            ),
        );
    }
    // The request has arrived: from here on the call runs to the end even if this handler is dropped (the
    // client hung up), because only the wait for the task's outcome belongs to the connection.
    let in_flight = shared.in_flight();
    let work = tokio::spawn({
        let (shared, host) = (shared.clone(), host.clone());
        async move {
            let _in_flight = in_flight;
            let query = pairs(uri.query().unwrap_or_default().as_bytes());
            let is_form = headers
                .get(header::CONTENT_TYPE)
                .and_then(|c| c.to_str().ok())
                .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
            let form = if is_form { pairs(&body) } else { Vec::new() };
            let signed = Signed {
                method: method.as_str(),
                query: &query,
                form: &form,
                headers: &headers,
                body: &body,
            };
            call(&shared, &signed, &host).await
        }
    });
    let outcome = work.await.unwrap_or_else(|err| {
        tracing::error!(%err, "an API call's task failed");
        Err(ApiError::new(
            500,
            "InternalError",
            "The request processing has failed due to some unknown error.",
        ))
    });
    match outcome {
        Ok(Reply::Body(value)) => answer(value),
        // The change is made; the client only sees the connection fail.
        Ok(Reply::CommittedThenDrop | Reply::Drop) => dropped(),
        Ok(Reply::Hang(limit)) => {
            held(&shared, limit).await;
            dropped()
        }
        Ok(Reply::CommittedThenHold(limit, result)) => {
            if held(&shared, limit).await {
                match result {
                    Ok(value) => answer(value),
                    Err(err) => envelope(&host, &err),
                }
            } else {
                dropped()
            }
        }
        Err(err) => envelope(&host, &err),
    }
}

/// Holds a request for `limit` milliseconds, or until the server stops when there is no limit. True when
/// the time ran out, false when the server stopped first.
async fn held(shared: &Shared, limit: Option<u64>) -> bool {
    let time = async {
        match limit {
            Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = time => true,
        () = shared.stopped() => false,
    }
}

/// A successful answer, with a `RequestId` added.
fn answer(mut value: Value) -> Response {
    if let Some(map) = value.as_object_mut() {
        map.insert("RequestId".into(), Value::String(request_id()));
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

/// A response that breaks the connection before anything of it is sent: the client sees a network error.
pub(crate) fn dropped() -> Response {
    let broken = tokio_stream::iter(vec![Err::<Bytes, std::io::Error>(std::io::Error::other(
        "connection dropped by fault rule",
    ))]);
    (StatusCode::OK, Body::from_stream(broken)).into_response()
}

/// What the client gets when a call does not fail.
enum Reply {
    /// This answer (a `RequestId` is added).
    Body(Value),
    /// Nothing: the call ran, then the connection is dropped.
    CommittedThenDrop,
    /// The call ran; its answer (a success or an error) is held for this many milliseconds, then sent.
    /// Without a limit, or when the server stops first, the connection is dropped when the server stops.
    CommittedThenHold(Option<u64>, Result<Value, ApiError>),
    /// Nothing: the connection is dropped and the call never runs.
    Drop,
    /// Nothing for this many milliseconds (or until the server stops), then the connection is dropped;
    /// the call never runs.
    Hang(Option<u64>),
}

/// Routes, authenticates and runs one call. Order: count the call; `drop_before` and `hang` rules (before
/// verification, so nothing of the request, not even its nonce, is used; the call never runs); verify;
/// `throttle`, `server_error` and `error` rules; `hold`; `latency`; run (`commit_then_drop`, `commit_then_hold` and
/// `create_failed` apply there). It runs in a task of its own (see `handle`), so all of it happens even if
/// the client hangs up meanwhile, during a `latency` sleep for instance.
async fn call(shared: &Shared, req: &Signed<'_>, host: &str) -> Result<Reply, ApiError> {
    let scheme = auth::scheme(req);
    let all: Vec<(String, String)> = req.query.iter().chain(req.form.iter()).cloned().collect();
    let params = Params(all);
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let param = |name: &str| params.get(name).map(str::to_string);
    let (action, version) = match scheme {
        Some(Scheme::V3) => (header("x-acs-action"), header("x-acs-version")),
        Some(Scheme::V1) => (param("Action"), param("Version")),
        // The official SDKs send anonymous RPC calls with both the V1 parameters and the V3 headers.
        None => (
            param("Action").or_else(|| header("x-acs-action")),
            param("Version").or_else(|| header("x-acs-version")),
        ),
    };
    if scheme.is_none()
        && !action
            .as_deref()
            .is_some_and(|a| ANONYMOUS_ACTIONS.contains(&a))
    {
        return Err(auth::unsigned());
    }
    let action = action
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::missing("Action"))?;
    let version = version
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing("Version"))?;
    let invalid_version = || {
        ApiError::new(
            400,
            "InvalidVersion",
            format!("Specified parameter Version {version} is not valid."),
        )
    };
    let product = Product::by_version(&version).ok_or_else(invalid_version)?;
    if host_product(host).is_some_and(|p| p != product) {
        return Err(invalid_version());
    }
    if !product.actions().contains(&action.as_str()) {
        return Err(ApiError::new(
            404,
            "InvalidAction.NotFound",
            format!(
                "Specified api {action} is not found for product {} version {version}.",
                product.code()
            ),
        ));
    }

    let ((hold, latency), caller) = {
        let mut inner = shared.lock();
        shared.count_call(&mut inner, &action);
        if let Some(rule) = inner.take_fault(&action, &[FaultKind::DropBefore, FaultKind::Hang]) {
            return Ok(match rule.kind {
                FaultKind::Hang => Reply::Hang(rule.latency_ms),
                _ => Reply::Drop,
            });
        }
        let clock = auth::Clock {
            now: now(),
            credentials: inner.credential_now(),
        };
        let inner = &mut *inner;
        let caller = match scheme {
            Some(Scheme::V3) => auth::verify_v3(req, &inner.world, &mut inner.nonces, clock)?,
            Some(Scheme::V1) => auth::verify_v1(req, &inner.world, &mut inner.nonces, clock)?,
            None => auth::Caller {
                account_id: String::new(),
            },
        };
        let scheme_name = match scheme {
            Some(Scheme::V3) => "v3",
            Some(Scheme::V1) => "v1",
            None => "anonymous",
        };
        *inner.schemes.entry(scheme_name.into()).or_default() += 1;
        let refusal = inner.take_fault(
            &action,
            &[
                FaultKind::Throttle,
                FaultKind::ServerError,
                FaultKind::Error,
            ],
        );
        if let Some(rule) = refusal {
            return Err(refused(&rule));
        }
        let hold = inner.take_fault(&action, &[FaultKind::Hold]).map(|f| f.id);
        let latency = inner
            .take_fault(&action, &[FaultKind::Latency])
            .and_then(|f| f.latency_ms);
        match (hold, latency) {
            (None, None) => return run(shared, inner, &caller, &action, &params),
            (hold, latency) => ((hold, latency), caller),
        }
    };
    if let Some(rule) = hold
        && !held_by(shared, rule).await
    {
        return Ok(Reply::Drop);
    }
    if let Some(ms) = latency {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut inner = shared.lock();
    run(shared, &mut inner, &caller, &action, &params)
}

/// Holds a call under the `hold` rule `id` until the rule lets go (enough calls arrived, released, or
/// removed): true then; false when the server stops first.
async fn held_by(shared: &Shared, id: u64) -> bool {
    // Subscribed before the first look, so no arrival or release between the look and the wait is missed.
    let mut changes = shared.watch_calls();
    set_holding(shared, id, 1);
    let went_on = loop {
        if !shared.lock().still_holding(id) {
            break true;
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { break true },
            () = shared.stopped() => break false,
        }
    };
    set_holding(shared, id, -1);
    went_on
}

fn set_holding(shared: &Shared, id: u64, by: i32) {
    if let Some(rule) = shared.lock().faults.iter_mut().find(|f| f.id == id) {
        rule.holding = rule.holding.saturating_add_signed(by);
    }
    // Those waiting for a call to be held look at the rule again.
    shared.calls_changed();
}

/// The answer of a rule that refuses a call.
fn refused(rule: &Fault) -> ApiError {
    match rule.kind {
        FaultKind::Throttle => {
            let mut err = ApiError::new(
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
            );
            err.retry_after_ms = rule.retry_after_ms;
            err
        }
        FaultKind::Error => ApiError::new(
            rule.http_status.unwrap_or(400),
            rule.code.as_deref().unwrap_or("InternalError"),
            rule.message
                .clone()
                .unwrap_or_else(|| "The request was refused by an emulator fault rule.".into()),
        ),
        _ => ApiError::new(
            503,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        ),
    }
}

/// Runs the action. A `commit_then_drop` rule drops the connection after the call ran, whatever its answer;
/// a `commit_then_hold` rule holds that answer (see [`Reply::CommittedThenHold`]); the first added of the
/// two wins. A `create_failed` rule is used by the next CreateImage that succeeds.
fn run(
    shared: &Shared,
    inner: &mut crate::Inner,
    caller: &auth::Caller,
    action: &str,
    params: &Params,
) -> Result<Reply, ApiError> {
    let now = now();
    inner.world.settle(now);
    let timing = inner.timing;
    let result = match action {
        "ModifyImageSharePermission" => {
            ecs::modify_image_share_permission(&mut inner.world, caller, params).map(|v| (v, true))
        }
        "DescribeImageSharePermission" => {
            ecs::describe_image_share_permission(&mut inner.world, caller, params)
                .map(|v| (v, false))
        }
        "CreateImage" => {
            let outcome = ecd::Outcome {
                fails: inner.has_fault(action, FaultKind::CreateFailed),
                held: inner.hold_images,
            };
            let made = ecd::create_image(&mut inner.world, caller, params, &timing, outcome, now);
            if made.is_ok() && outcome.fails {
                inner.take_fault(action, &[FaultKind::CreateFailed]);
            }
            made.map(|v| (v, true))
        }
        "DescribeImages" => {
            ecd::describe_images(&mut inner.world, caller, params, now).map(|v| (v, false))
        }
        "ModifyImageAttribute" => {
            ecd::modify_image_attribute(&mut inner.world, caller, params, now).map(|v| (v, true))
        }
        "DeleteImages" => {
            ecd::delete_images(&mut inner.world, caller, params, &timing, now).map(|v| (v, true))
        }
        "DescribeDesktops" => {
            ecd::describe_desktops(&mut inner.world, caller, params).map(|v| (v, false))
        }
        "AssumeRole" => {
            let now = inner.credential_now();
            sts::assume_role(&mut inner.world, caller, params, now).map(|v| (v, true))
        }
        "AssumeRoleWithOIDC" => {
            let now = inner.credential_now();
            sts::assume_role_with_oidc(&mut inner.world, params, now).map(|v| (v, true))
        }
        other => Err(ApiError::new(
            404,
            "InvalidAction.NotFound",
            format!("Specified api {other} is not found."),
        )),
    };
    if let Ok((_, true)) = &result {
        shared.persist(&inner.world);
    }
    let after = inner.take_fault(
        action,
        &[FaultKind::CommitThenDrop, FaultKind::CommitThenHold],
    );
    let result = result.map(|(value, _)| value);
    match after {
        Some(rule) if rule.kind == FaultKind::CommitThenHold => {
            Ok(Reply::CommittedThenHold(rule.latency_ms, result))
        }
        Some(_) => Ok(Reply::CommittedThenDrop),
        None => result.map(Reply::Body),
    }
}
