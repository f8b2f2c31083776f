//! The control API under `/_emulator/`, for tests and benchmarks only (loopback peers only): state dump,
//! reset, seed, accounts, call counters (and waiting for them), fault rules, timing and image holding,
//! out-of-band changes, RAM roles and OIDC providers, the credential clock, the instance role, the metadata
//! service's URL, and the credentials URI.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Inner;
use crate::ecs::well_formed_account;
use crate::metadata::intercept;
use crate::model::{
    EcdImage, InstanceRole, OidcProvider, Role, Share, World, now, now_rfc3339, rfc3339,
};
use crate::{Fault, Shared, sts};

type Answer = Result<Json<Value>, (StatusCode, Json<Value>)>;

fn fail(status: StatusCode, message: impl Into<String>) -> (StatusCode, Json<Value>) {
    (status, Json(json!({"error": message.into()})))
}

async fn loopback_only(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if peer.ip().is_loopback() {
        next.run(request).await
    } else {
        fail(
            StatusCode::FORBIDDEN,
            "the control API answers loopback peers only",
        )
        .into_response()
    }
}

/// The `/_emulator/` routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_emulator/state", get(state))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/seed", post(seed))
        .route("/_emulator/accounts", get(accounts).post(add_accounts))
        .route("/_emulator/calls", get(calls))
        .route("/_emulator/calls/wait", get(wait_calls))
        .route("/_emulator/calls/reset", post(reset_calls))
        .route(
            "/_emulator/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/_emulator/faults/release", post(release_holds))
        .route("/_emulator/config", get(config).post(set_config))
        .route("/_emulator/ecs/share", post(share))
        .route("/_emulator/ecs/unshare", post(unshare))
        .route("/_emulator/ecs/delete-image", post(delete_ecs_image))
        .route("/_emulator/ecd/create-image", post(create_ecd_image))
        .route("/_emulator/ecd/modify-image", post(modify_ecd_image))
        .route("/_emulator/ecd/delete-image", post(delete_ecd_image))
        .route("/_emulator/ecd/release-images", post(release_images))
        .route("/_emulator/roles", get(roles).post(add_role))
        .route(
            "/_emulator/oidc-providers",
            get(oidc_providers).post(add_oidc_provider),
        )
        .route("/_emulator/clock", get(clock).post(advance_clock))
        .route(
            "/_emulator/instance-role",
            get(instance_role)
                .post(set_instance_role)
                .delete(clear_instance_role),
        )
        .route("/_emulator/metadata", get(metadata))
        .route("/_emulator/credentials-uri", get(credentials_uri))
        .layer(middleware::from_fn(loopback_only))
        .with_state(shared)
}

async fn state(State(s): State<Arc<Shared>>) -> Json<Value> {
    let mut inner = s.lock();
    let now = now();
    inner.world.settle(now);
    Json(inner.world.dump(now))
}

async fn reset(State(s): State<Arc<Shared>>) -> Json<Value> {
    s.reset(None);
    Json(json!({"reset": true}))
}

async fn seed(State(s): State<Arc<Shared>>, Json(world): Json<World>) -> Answer {
    if let Some(problem) = world.problem() {
        return Err(fail(StatusCode::BAD_REQUEST, problem));
    }
    s.reset(Some(world));
    Ok(Json(json!({"seeded": true})))
}

async fn accounts(State(s): State<Arc<Shared>>) -> Json<Value> {
    let inner = s.lock();
    let ids: Vec<&str> = inner.world.accounts.iter().map(|a| a.id.as_str()).collect();
    Json(json!({"accountIds": ids}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewAccounts {
    account_ids: Vec<String>,
}

async fn add_accounts(State(s): State<Arc<Shared>>, Json(req): Json<NewAccounts>) -> Answer {
    if let Some(bad) = req.account_ids.iter().find(|a| !well_formed_account(a)) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            format!("not an account id (1 to 20 digits): {bad:?}"),
        ));
    }
    let mut inner = s.lock();
    let added: Vec<&String> = req
        .account_ids
        .iter()
        .filter(|id| inner.world.add_account(id))
        .collect();
    s.persist(&inner.world);
    Ok(Json(
        json!({"added": added, "total": inner.world.accounts.len()}),
    ))
}

async fn calls(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(s.lock().counters())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Wait {
    action: Option<String>,
    count: u64,
    timeout_ms: Option<u64>,
}

/// The longest a wait may be asked to last.
const MAX_WAIT_MS: u64 = 600_000;

/// Answers once the counter of `action` (or the total) reaches `count`; 408 when `timeoutMs` passes first.
async fn wait_calls(State(s): State<Arc<Shared>>, Query(wait): Query<Wait>) -> Answer {
    let timeout = wait.timeout_ms.unwrap_or(10_000);
    if timeout > MAX_WAIT_MS {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            format!("timeoutMs must be at most {MAX_WAIT_MS}"),
        ));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout);
    // Subscribed before the first look, so no change between the look and the wait is missed.
    let mut changes = s.watch_calls();
    loop {
        {
            let inner = s.lock();
            let seen = match &wait.action {
                Some(action) => inner.calls.get(action).copied().unwrap_or(0),
                None => inner.calls.values().sum(),
            };
            if seen >= wait.count {
                return Ok(Json(inner.counters()));
            }
        }
        if !matches!(
            tokio::time::timeout_at(deadline, changes.changed()).await,
            Ok(Ok(()))
        ) {
            let what = wait.action.as_deref().unwrap_or("all actions");
            return Err((
                StatusCode::REQUEST_TIMEOUT,
                Json(json!({
                    "error": format!("{what} did not reach {} calls within {timeout} ms", wait.count),
                    "calls": s.lock().counters(),
                })),
            ));
        }
    }
}

async fn reset_calls(State(s): State<Arc<Shared>>) -> Json<Value> {
    let mut inner = s.lock();
    inner.calls.clear();
    inner.schemes.clear();
    s.calls_changed();
    Json(json!({"reset": true}))
}

async fn faults(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"faults": s.lock().faults}))
}

async fn add_fault(State(s): State<Arc<Shared>>, Json(fault): Json<Fault>) -> Answer {
    if let Some(problem) = fault.problem() {
        return Err(fail(StatusCode::BAD_REQUEST, problem));
    }
    let id = s.lock().add_fault(fault);
    Ok(Json(json!({"added": true, "id": id})))
}

async fn clear_faults(State(s): State<Arc<Shared>>) -> Json<Value> {
    s.lock().faults.clear();
    // Calls held by a removed `hold` rule go on.
    s.calls_changed();
    Json(json!({"cleared": true}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HoldRelease {
    id: Option<u64>,
}

/// Releases `hold` rules (the one with `id`, or all): the calls they hold go on, and they hold no more.
async fn release_holds(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let release: HoldRelease = if body.iter().all(u8::is_ascii_whitespace) {
        HoldRelease::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|err| fail(StatusCode::BAD_REQUEST, err.to_string()))?
    };
    let released = s.lock().release_holds(release.id);
    s.calls_changed();
    if released == 0 && release.id.is_some() {
        return Err(fail(
            StatusCode::NOT_FOUND,
            "no hold rule with that id is holding",
        ));
    }
    Ok(Json(json!({"released": released})))
}

fn config_json(inner: &Inner) -> Value {
    json!({
        "imageCreateSeconds": inner.timing.image_create_seconds,
        "imageDeleteSeconds": inner.timing.image_delete_seconds,
        "holdImages": inner.hold_images,
        "imdsV2Required": inner.imds_v2_required,
    })
}

async fn config(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(config_json(&s.lock()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigPatch {
    image_create_seconds: Option<f64>,
    image_delete_seconds: Option<f64>,
    hold_images: Option<bool>,
    imds_v2_required: Option<bool>,
}

async fn set_config(State(s): State<Arc<Shared>>, Json(patch): Json<ConfigPatch>) -> Answer {
    let valid = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v >= 0.0);
    if !valid(patch.image_create_seconds) || !valid(patch.image_delete_seconds) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "seconds must be finite and not negative",
        ));
    }
    let mut inner = s.lock();
    let now = now();
    if let Some(v) = patch.image_create_seconds {
        inner.timing.image_create_seconds = v;
        // Images already being made finish on the new schedule too (held ones stay held).
        for image in inner.world.ecd_images.iter_mut() {
            image.ready_at = image.ready_at.min(now + v);
        }
    }
    if let Some(v) = patch.image_delete_seconds {
        inner.timing.image_delete_seconds = v;
        // So do images being deleted.
        for image in inner.world.ecd_images.iter_mut() {
            if let Some(at) = image.deleted_at.as_mut() {
                *at = at.min(now + v);
            }
        }
    }
    if let Some(hold) = patch.hold_images {
        inner.hold_images = hold;
    }
    if let Some(required) = patch.imds_v2_required {
        inner.imds_v2_required = required;
    }
    s.persist(&inner.world);
    Ok(Json(config_json(&inner)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShareChange {
    region_id: String,
    image_id: String,
    account_id: Option<String>,
}

fn with_ecs_image(s: &Shared, req: &ShareChange, change: impl FnOnce(&mut World, usize)) -> Answer {
    let mut inner = s.lock();
    let index = inner
        .world
        .ecs_images
        .iter()
        .position(|i| i.region_id == req.region_id && i.image_id == req.image_id)
        .ok_or_else(|| {
            fail(
                StatusCode::NOT_FOUND,
                format!("no ECS image {} in {}", req.image_id, req.region_id),
            )
        })?;
    change(&mut inner.world, index);
    s.persist(&inner.world);
    Ok(Json(json!({"ok": true})))
}

async fn share(State(s): State<Arc<Shared>>, Json(req): Json<ShareChange>) -> Answer {
    let account = req
        .account_id
        .clone()
        .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "accountId is required"))?;
    if !well_formed_account(&account) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            format!("not an account id (1 to 20 digits): {account:?}"),
        ));
    }
    with_ecs_image(&s, &req, |world, i| {
        // Someone shared with it, so it exists.
        world.add_account(&account);
        let shares = &mut world.ecs_images[i].shared_with;
        if !shares.iter().any(|sh| sh.account_id == account) {
            shares.push(Share {
                account_id: account,
                shared_time: now_rfc3339(),
            });
        }
    })
}

async fn unshare(State(s): State<Arc<Shared>>, Json(req): Json<ShareChange>) -> Answer {
    let account = req
        .account_id
        .clone()
        .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "accountId is required"))?;
    with_ecs_image(&s, &req, |world, i| {
        world.ecs_images[i]
            .shared_with
            .retain(|sh| sh.account_id != account)
    })
}

async fn delete_ecs_image(State(s): State<Arc<Shared>>, Json(req): Json<ShareChange>) -> Answer {
    with_ecs_image(&s, &req, |world, i| {
        world.ecs_images.remove(i);
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EcdChange {
    region_id: String,
    image_id: Option<String>,
    desktop_id: Option<String>,
    name: Option<String>,
    description: Option<String>,
}

async fn create_ecd_image(State(s): State<Arc<Shared>>, Json(req): Json<EcdChange>) -> Answer {
    let mut inner = s.lock();
    let desktop_id = req
        .desktop_id
        .clone()
        .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "desktopId is required"))?;
    let owner = inner
        .world
        .ecd_desktops
        .iter()
        .find(|d| d.desktop_id == desktop_id && d.region_id == req.region_id)
        .map(|d| d.owner_id.clone())
        .ok_or_else(|| {
            fail(
                StatusCode::NOT_FOUND,
                format!("no desktop {desktop_id} in {}", req.region_id),
            )
        })?;
    let image_id = format!("m-{}", &uuid::Uuid::new_v4().simple().to_string()[..17]);
    inner.world.ecd_images.push(EcdImage {
        region_id: req.region_id,
        image_id: image_id.clone(),
        owner_id: owner,
        desktop_id,
        name: req.name.unwrap_or_default(),
        description: req.description.unwrap_or_default(),
        creation_time: now_rfc3339(),
        ready_at: now(),
        fails: false,
        held: false,
        deleted_at: None,
    });
    s.persist(&inner.world);
    Ok(Json(json!({"imageId": image_id})))
}

fn with_ecd_image(s: &Shared, req: &EcdChange, change: impl FnOnce(&mut World, usize)) -> Answer {
    let mut inner = s.lock();
    let now = now();
    inner.world.settle(now);
    let image_id = req.image_id.clone().unwrap_or_default();
    let index = inner
        .world
        .ecd_images
        .iter()
        .position(|i| i.image_id == image_id && i.region_id == req.region_id)
        .ok_or_else(|| {
            fail(
                StatusCode::NOT_FOUND,
                format!("no ECD image {image_id} in {}", req.region_id),
            )
        })?;
    change(&mut inner.world, index);
    s.persist(&inner.world);
    Ok(Json(json!({"ok": true})))
}

async fn modify_ecd_image(State(s): State<Arc<Shared>>, Json(req): Json<EcdChange>) -> Answer {
    let (name, description) = (req.name.clone(), req.description.clone());
    with_ecd_image(&s, &req, |world, i| {
        let image = &mut world.ecd_images[i];
        if let Some(n) = name {
            image.name = n;
        }
        if let Some(d) = description {
            image.description = d;
        }
    })
}

async fn delete_ecd_image(State(s): State<Arc<Shared>>, Json(req): Json<EcdChange>) -> Answer {
    with_ecd_image(&s, &req, |world, i| {
        world.ecd_images.remove(i);
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Release {
    region_id: Option<String>,
    image_id: Option<String>,
}

/// Makes `Creating` images (held or not) finish now: all of them, those of a region, or one image.
async fn release_images(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let req: Release = if body.iter().all(u8::is_ascii_whitespace) {
        Release::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|err| fail(StatusCode::BAD_REQUEST, format!("bad body: {err}")))?
    };
    let mut inner = s.lock();
    let now = now();
    inner.world.settle(now);
    let matches = |i: &EcdImage| {
        req.region_id.as_ref().is_none_or(|r| &i.region_id == r)
            && req.image_id.as_ref().is_none_or(|id| &i.image_id == id)
            && i.deleted_at.is_none()
    };
    if let Some(id) = &req.image_id
        && !inner.world.ecd_images.iter().any(&matches)
    {
        return Err(fail(
            StatusCode::NOT_FOUND,
            format!("no ECD image {id} (region {:?})", req.region_id),
        ));
    }
    let mut released = Vec::new();
    for image in inner.world.ecd_images.iter_mut() {
        if matches(image) && image.status(now) == "Creating" {
            image.held = false;
            image.ready_at = image.ready_at.min(now);
            released.push(image.image_id.clone());
        }
    }
    s.persist(&inner.world);
    Ok(Json(json!({"released": released})))
}

async fn roles(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"roles": s.lock().world.roles}))
}

/// Adds a role, or replaces the one with the same ARN; the accounts it names come to exist.
async fn add_role(State(s): State<Arc<Shared>>, Json(role): Json<Role>) -> Answer {
    if let Some(problem) = role.problem() {
        return Err(fail(StatusCode::BAD_REQUEST, problem));
    }
    let mut inner = s.lock();
    let world = &mut inner.world;
    let arn = role.arn.clone();
    let replaced = match world
        .roles
        .iter_mut()
        .find(|r| r.arn.eq_ignore_ascii_case(&arn))
    {
        Some(existing) => {
            *existing = role;
            true
        }
        None => {
            world.roles.push(role);
            false
        }
    };
    world.register_implied_accounts();
    let total = world.roles.len();
    s.persist(&inner.world);
    Ok(Json(
        json!({"arn": arn, "replaced": replaced, "total": total}),
    ))
}

async fn oidc_providers(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"oidcProviders": s.lock().world.oidc_providers}))
}

/// Adds an OIDC provider, or replaces the one with the same ARN.
async fn add_oidc_provider(
    State(s): State<Arc<Shared>>,
    Json(provider): Json<OidcProvider>,
) -> Answer {
    if provider.arn.is_empty()
        || provider.issuer.is_empty()
        || provider.audiences.is_empty()
        || provider.audiences.iter().any(String::is_empty)
    {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "an OIDC provider needs an arn, an issuer and at least one non-empty audience",
        ));
    }
    let mut inner = s.lock();
    let providers = &mut inner.world.oidc_providers;
    let arn = provider.arn.clone();
    let replaced = match providers
        .iter_mut()
        .find(|p| p.arn.eq_ignore_ascii_case(&arn))
    {
        Some(existing) => {
            *existing = provider;
            true
        }
        None => {
            providers.push(provider);
            false
        }
    };
    let total = providers.len();
    s.persist(&inner.world);
    Ok(Json(
        json!({"arn": arn, "replaced": replaced, "total": total}),
    ))
}

fn clock_json(inner: &Inner) -> Value {
    json!({
        "offsetSeconds": inner.clock_offset,
        "now": rfc3339(inner.credential_now()),
    })
}

async fn clock(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(clock_json(&s.lock()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Advance {
    advance_seconds: f64,
}

/// Moves the credential clock forward: every credential expiry check (STS keys, OIDC tokens, metadata
/// tokens) and issue time uses real time plus the sum of the advances. Signature timestamps and nonces keep
/// real time, so clients keep signing with their own clock.
async fn advance_clock(State(s): State<Arc<Shared>>, Json(req): Json<Advance>) -> Answer {
    if !req.advance_seconds.is_finite() || req.advance_seconds < 0.0 {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "advanceSeconds must be finite and not negative",
        ));
    }
    let mut inner = s.lock();
    inner.clock_offset += req.advance_seconds;
    Ok(Json(clock_json(&inner)))
}

async fn instance_role(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"instanceRole": s.lock().world.instance_role}))
}

/// Attaches a role to the emulated instance (replacing any); the metadata service issues a new credential
/// on its next request.
async fn set_instance_role(State(s): State<Arc<Shared>>, Json(role): Json<InstanceRole>) -> Answer {
    if role.name.is_empty() {
        return Err(fail(StatusCode::BAD_REQUEST, "name must not be empty"));
    }
    if role
        .duration_seconds
        .is_some_and(|d| !(sts::MIN_DURATION..=sts::MAX_DURATION).contains(&d))
    {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "durationSeconds must be 900 to 43200",
        ));
    }
    let mut inner = s.lock();
    if inner.world.role(&role.role_arn).is_none() {
        return Err(fail(
            StatusCode::NOT_FOUND,
            format!("no role {}", role.role_arn),
        ));
    }
    inner.world.instance_role = Some(role);
    inner.imds_credential = None;
    s.persist(&inner.world);
    Ok(Json(json!({"instanceRole": inner.world.instance_role})))
}

async fn clear_instance_role(State(s): State<Arc<Shared>>) -> Json<Value> {
    let mut inner = s.lock();
    inner.world.instance_role = None;
    inner.imds_credential = None;
    s.persist(&inner.world);
    Json(json!({"instanceRole": null}))
}

async fn metadata(State(s): State<Arc<Shared>>) -> Answer {
    match s.metadata_url() {
        Some(url) => Ok(Json(json!({"url": url}))),
        None => Err(fail(
            StatusCode::NOT_FOUND,
            "the metadata service is not running",
        )),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UriQuery {
    role_arn: Option<String>,
    duration_seconds: Option<u64>,
}

/// A fresh temporary credential of the configured role (or of `roleArn`), in the shape credential tools
/// expect from `ALIBABA_CLOUD_CREDENTIALS_URI`. Counted as `CredentialsUri`; fault rules naming that apply.
async fn credentials_uri(State(s): State<Arc<Shared>>, Query(query): Query<UriQuery>) -> Response {
    if let Some(answer) = intercept(&s, "CredentialsUri").await {
        return answer;
    }
    let refuse = |status: StatusCode, code: &str, message: String| {
        (status, Json(json!({"Code": code, "Message": message}))).into_response()
    };
    let mut inner = s.lock();
    let configured = inner.world.credentials_uri.clone();
    let Some(arn) = query
        .role_arn
        .clone()
        .or_else(|| configured.as_ref().map(|c| c.role_arn.clone()))
    else {
        return refuse(
            StatusCode::NOT_FOUND,
            "NotConfigured",
            "no credentialsUri role in the seed and no roleArn in the query".into(),
        );
    };
    let duration = query
        .duration_seconds
        .or(configured.and_then(|c| c.duration_seconds))
        .unwrap_or(sts::DEFAULT_DURATION);
    if !(sts::MIN_DURATION..=sts::MAX_DURATION).contains(&duration) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "InvalidParameter.DurationSeconds",
            "durationSeconds must be 900 to 43200".into(),
        );
    }
    let Some(role) = inner.world.role(&arn).cloned() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "EntityNotExist.Role",
            format!("The specified Role not exists: {arn}"),
        );
    };
    let now = inner.credential_now();
    let credential = sts::issue(
        &mut inner.world,
        &role,
        "credentials-uri",
        duration,
        "credentials-uri",
        now,
    );
    s.persist(&inner.world);
    let mut body = sts::credentials_json(&credential);
    body["Code"] = json!("Success");
    Json(body).into_response()
}
