//! A local Alibaba Cloud OpenAPI endpoint for ECS (2014-05-26) and ECD (2020-09-30), strict enough that a
//! client bug shows up as a failure: it verifies signatures, versions, parameters and limits, answers with
//! Alibaba's error envelope, and offers a control API for tests (state, counters, faults).

pub mod api;
pub mod auth;
pub mod control;
mod ecd;
mod ecs;
pub mod error;
pub mod model;
mod params;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use model::World;

/// How long emulated operations take.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    /// Seconds an ECD image stays `Creating`.
    pub image_create_seconds: f64,
    /// Seconds a deleted ECD image stays listed.
    pub image_delete_seconds: f64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            image_create_seconds: 5.0,
            image_delete_seconds: 0.0,
        }
    }
}

/// A fault rule from the control API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// `throttle`, `server_error`, `latency`, `commit_then_drop` or `create_failed`.
    pub kind: FaultKind,
    /// The action it applies to; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// How many more calls it applies to.
    #[serde(default = "one")]
    pub count: u32,
    /// Added latency, for `latency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// For `throttle`: the wait announced in `x-acs-retry-after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

/// What a fault does.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `Throttling.User`.
    Throttle,
    /// Answer `ServiceUnavailable` (503).
    ServerError,
    /// Delay the answer.
    Latency,
    /// Apply the call, then drop the connection without an answer.
    CommitThenDrop,
    /// The next CreateImage makes an image that ends `CreateFailed`.
    CreateFailed,
}

/// Mutable emulator state, behind one lock.
#[derive(Debug, Default)]
pub struct Inner {
    /// The emulated cloud.
    pub world: World,
    /// Nonces seen.
    pub nonces: auth::Nonces,
    /// Calls per action.
    pub calls: BTreeMap<String, u64>,
    /// Authenticated calls per signature scheme (`v3`, `v1`).
    pub schemes: BTreeMap<String, u64>,
    /// Active fault rules.
    pub faults: Vec<Fault>,
    /// Operation timing.
    pub timing: Timing,
}

impl Inner {
    /// Consumes one use of the first rule of `kind` matching `action`.
    pub fn take_fault(&mut self, action: &str, kinds: &[FaultKind]) -> Option<Fault> {
        let index = self.faults.iter().position(|f| {
            kinds.contains(&f.kind)
                && f.count > 0
                && f.action.as_deref().is_none_or(|a| a == action)
        })?;
        let rule = self.faults[index].clone();
        self.faults[index].count -= 1;
        if self.faults[index].count == 0 {
            self.faults.remove(index);
        }
        Some(rule)
    }
}

/// State shared by every request.
pub struct Shared {
    inner: Mutex<Inner>,
    seed: World,
    initial_timing: Timing,
    state_file: Option<PathBuf>,
}

impl Shared {
    /// State from `world` (already loaded), seeded by `seed` for resets.
    pub fn new(
        mut world: World,
        mut seed: World,
        timing: Timing,
        state_file: Option<PathBuf>,
    ) -> Arc<Shared> {
        world.register_implied_accounts();
        seed.register_implied_accounts();
        Arc::new(Shared {
            inner: Mutex::new(Inner {
                world,
                timing,
                ..Inner::default()
            }),
            seed,
            initial_timing: timing,
            state_file,
        })
    }

    /// The lock; a panic elsewhere never makes the state unusable.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Back to the seed: world, counters, faults, nonces and timing.
    pub fn reset(&self, seed: Option<World>) {
        let mut inner = self.lock();
        let mut world = seed.unwrap_or_else(|| self.seed.clone());
        world.register_implied_accounts();
        *inner = Inner {
            world,
            timing: self.initial_timing,
            ..Inner::default()
        };
        self.persist(&inner.world);
    }

    /// Writes the state file, atomically (temporary file, then rename).
    pub fn persist(&self, world: &World) {
        let Some(path) = &self.state_file else { return };
        let tmp = path.with_extension("tmp");
        let result = serde_json::to_vec_pretty(world)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(err) = result {
            tracing::error!(path = %path.display(), %err, "cannot write the state file");
        }
    }
}

/// Loads the world: the state file when it exists, else the seed.
pub fn load_world(seed: &World, state_file: Option<&std::path::Path>) -> anyhow::Result<World> {
    match state_file {
        Some(path) if path.exists() => Ok(serde_json::from_slice(&std::fs::read(path)?)?),
        _ => Ok(seed.clone()),
    }
}

/// Serves the emulator on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = control::router(shared.clone()).merge(api::router(shared));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
