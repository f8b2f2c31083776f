//! The control API under `/_emulator/`, for tests and benchmarks only (loopback peers only): state dump,
//! reset, seed, call counters, fault rules, timing, and out-of-band changes.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ecs::well_formed_account;
use crate::model::{EcdImage, Share, World, now, now_rfc3339};
use crate::{Fault, Shared, Timing};

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
        .route("/_emulator/calls/reset", post(reset_calls))
        .route(
            "/_emulator/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/_emulator/config", get(config).post(set_config))
        .route("/_emulator/ecs/share", post(share))
        .route("/_emulator/ecs/unshare", post(unshare))
        .route("/_emulator/ecs/delete-image", post(delete_ecs_image))
        .route("/_emulator/ecd/create-image", post(create_ecd_image))
        .route("/_emulator/ecd/modify-image", post(modify_ecd_image))
        .route("/_emulator/ecd/delete-image", post(delete_ecd_image))
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

async fn seed(State(s): State<Arc<Shared>>, Json(world): Json<World>) -> Json<Value> {
    s.reset(Some(world));
    Json(json!({"seeded": true}))
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
    let inner = s.lock();
    Json(json!({
        "total": inner.calls.values().sum::<u64>(),
        "byAction": inner.calls,
        "bySignature": inner.schemes,
    }))
}

async fn reset_calls(State(s): State<Arc<Shared>>) -> Json<Value> {
    let mut inner = s.lock();
    inner.calls.clear();
    inner.schemes.clear();
    Json(json!({"reset": true}))
}

async fn faults(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"faults": s.lock().faults}))
}

async fn add_fault(State(s): State<Arc<Shared>>, Json(fault): Json<Fault>) -> Json<Value> {
    s.lock().faults.push(fault);
    Json(json!({"added": true}))
}

async fn clear_faults(State(s): State<Arc<Shared>>) -> Json<Value> {
    s.lock().faults.clear();
    Json(json!({"cleared": true}))
}

async fn config(State(s): State<Arc<Shared>>) -> Json<Timing> {
    Json(s.lock().timing)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimingPatch {
    image_create_seconds: Option<f64>,
    image_delete_seconds: Option<f64>,
}

async fn set_config(State(s): State<Arc<Shared>>, Json(patch): Json<TimingPatch>) -> Answer {
    let valid = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v >= 0.0);
    if !valid(patch.image_create_seconds) || !valid(patch.image_delete_seconds) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "seconds must be finite and not negative",
        ));
    }
    let mut inner = s.lock();
    if let Some(v) = patch.image_create_seconds {
        inner.timing.image_create_seconds = v;
        // Images already being made finish on the new schedule too.
        let at = now() + v;
        for image in inner.world.ecd_images.iter_mut() {
            image.ready_at = image.ready_at.min(at);
        }
    }
    if let Some(v) = patch.image_delete_seconds {
        inner.timing.image_delete_seconds = v;
    }
    Ok(Json(json!(inner.timing)))
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
