//! A local Alibaba Cloud OpenAPI endpoint for ECS (2014-05-26), ECD (2020-09-30) and STS (2015-04-01), strict
//! enough that a client bug shows up as a failure: it verifies signatures, versions, parameters and limits,
//! answers with Alibaba's error envelope, and offers a control API for tests (state, counters, faults, the
//! credential clock). Beside it, on its own port, an ECS instance metadata service hands out the instance
//! role's temporary credentials.

pub mod api;
pub mod auth;
pub mod control;
mod ecd;
mod ecs;
pub mod error;
pub mod metadata;
pub mod model;
pub mod options;
mod params;
pub mod seed;
pub mod sts;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    /// Set by the emulator: the rule's number, in the order rules were added.
    #[serde(skip_deserializing)]
    pub id: u64,
    /// What the rule does.
    pub kind: FaultKind,
    /// The action it applies to; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// How many more calls it applies to.
    #[serde(default = "one")]
    pub count: u32,
    /// Set by the emulator: how many calls it has applied to so far.
    #[serde(skip_deserializing)]
    pub used: u32,
    /// For `latency`: the added delay (required); for `hang`: how long to hold the request before dropping
    /// it; for `commit_then_hold`: how long to hold the answer of the call that ran before sending it. For
    /// the last two it is optional: without it the request is held until the emulator stops, and then the
    /// connection is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// For `throttle`: the wait announced in `x-acs-retry-after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// For `error`: the `Code` answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// For `error`: the HTTP status answered (400–599).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// For `error`: the `Message` answered (a generic one when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For `hold`: held calls go on once this many calls of the rule's action (of any action when it
    /// names none) have arrived since the rule was added, the held ones included. Without it they wait for
    /// `POST /_emulator/faults/release`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_calls: Option<u64>,
    /// Set by the emulator, for `hold`: calls of the rule's action (any action when it names none) that
    /// arrived since the rule was added.
    #[serde(skip_deserializing)]
    pub arrived: u64,
    /// Set by the emulator, for `hold`: how many calls the rule holds now.
    #[serde(skip_deserializing)]
    pub holding: u32,
    /// Set by the emulator, for `hold`: whether the control API released the rule; a released rule holds
    /// nothing (the calls it held go on, and later ones are not held).
    #[serde(skip_deserializing)]
    pub released: bool,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// Why the rule cannot be used, if it cannot.
    pub fn problem(&self) -> Option<&'static str> {
        let error_fields =
            self.code.is_some() || self.http_status.is_some() || self.message.is_some();
        match self.kind {
            FaultKind::Error => {
                if self.code.as_deref().is_none_or(str::is_empty) {
                    Some("an error rule needs a non-empty \"code\"")
                } else if !self.http_status.is_some_and(|s| (400..=599).contains(&s)) {
                    Some("an error rule needs an \"httpStatus\" from 400 to 599")
                } else if self.message.as_deref() == Some("") {
                    Some("\"message\" must not be empty")
                } else {
                    None
                }
            }
            _ if error_fields => {
                Some("\"code\", \"httpStatus\" and \"message\" belong to error rules")
            }
            FaultKind::Hold if self.until_calls == Some(0) => {
                Some("\"untilCalls\" must be at least 1")
            }
            FaultKind::Hold if self.latency_ms.is_some() => {
                Some("a hold rule waits for calls or a release, not for \"latencyMs\"")
            }
            _ if self.until_calls.is_some() && self.kind != FaultKind::Hold => {
                Some("\"untilCalls\" belongs to hold rules")
            }
            FaultKind::Latency if self.latency_ms.is_none() => {
                Some("a latency rule needs \"latencyMs\"")
            }
            _ => None,
        }
    }
}

/// What a fault does.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `Throttling.User` without running the call.
    Throttle,
    /// Answer `ServiceUnavailable` (503) without running the call.
    ServerError,
    /// Answer the rule's `code` and `httpStatus` without running the call.
    Error,
    /// Delay the call, then run it.
    Latency,
    /// Drop the connection without answering and without running the call.
    DropBefore,
    /// Hold the request without answering or running it, until the emulator stops or `latencyMs` passes;
    /// then drop the connection.
    Hang,
    /// Run the call, then drop the connection without an answer.
    CommitThenDrop,
    /// Run the call (its change is applied and persisted), then hold its answer: for `latencyMs`, after which
    /// the real answer is sent, or, without `latencyMs`, until the emulator stops. When the emulator stops
    /// first the connection is dropped without an answer. Lets a client be cancelled after the effect and
    /// before the answer.
    CommitThenHold,
    /// The next CreateImage makes an image that ends `CreateFailed`.
    CreateFailed,
    /// Hold the call (counted and verified, not yet run) until `untilCalls` calls have arrived since the
    /// rule was added, or until the control API releases the rule; then run it as usual. Lets a test make a
    /// client's batching deterministic: while the first call of a batch is held, every other request the
    /// client gets queues behind it, whatever the timing. When the emulator stops first the connection is
    /// dropped and the call never runs.
    Hold,
}

/// Mutable emulator state, behind one lock.
#[derive(Debug, Default)]
pub struct Inner {
    /// The emulated cloud.
    pub world: World,
    /// Nonces seen.
    pub nonces: auth::Nonces,
    /// Calls per action, counted when a request for the action arrives.
    pub calls: BTreeMap<String, u64>,
    /// Authenticated calls per signature scheme (`v3`, `v1`).
    pub schemes: BTreeMap<String, u64>,
    /// Fault rules, used up ones included (with `count` 0), in the order they were added.
    pub faults: Vec<Fault>,
    /// The id the next fault rule gets.
    pub next_fault_id: u64,
    /// Operation timing.
    pub timing: Timing,
    /// Whether new ECD images stay `Creating` until released through the control API.
    pub hold_images: bool,
    /// Seconds added to real time for every credential expiry check (STS keys, OIDC tokens, metadata
    /// tokens) and for the times credentials are issued at; never for signature timestamps or nonces.
    pub clock_offset: f64,
    /// Metadata service session tokens and when they expire (credential clock).
    pub imds_tokens: HashMap<String, f64>,
    /// Whether the metadata service refuses requests without a valid session token (IMDSv2 only).
    pub imds_v2_required: bool,
    /// The AccessKey ID of the credential the metadata service currently hands out.
    pub imds_credential: Option<String>,
}

impl Inner {
    /// Unix seconds on the credential clock: real time plus the control API's offset.
    pub fn credential_now(&self) -> f64 {
        model::now() + self.clock_offset
    }

    /// Like [`Inner::take_fault`], but only rules that name `action` apply (the metadata service and the
    /// credentials URI are not hit by rules meant for API calls).
    pub fn take_named_fault(&mut self, action: &str, kinds: &[FaultKind]) -> Option<Fault> {
        let rule = self.faults.iter_mut().find(|f| {
            kinds.contains(&f.kind) && f.count > 0 && f.action.as_deref() == Some(action)
        })?;
        rule.count -= 1;
        rule.used += 1;
        Some(rule.clone())
    }

    /// Consumes one use of the first rule (in the order added) of one of `kinds` matching `action`.
    pub fn take_fault(&mut self, action: &str, kinds: &[FaultKind]) -> Option<Fault> {
        let rule = self.faults.iter_mut().find(|f| {
            kinds.contains(&f.kind)
                && f.count > 0
                && f.action.as_deref().is_none_or(|a| a == action)
        })?;
        rule.count -= 1;
        rule.used += 1;
        Some(rule.clone())
    }

    /// Whether a rule of `kind` would apply to the next call of `action`.
    pub fn has_fault(&self, action: &str, kind: FaultKind) -> bool {
        self.faults.iter().any(|f| {
            f.kind == kind && f.count > 0 && f.action.as_deref().is_none_or(|a| a == action)
        })
    }

    /// Adds a fault rule and returns its id.
    pub fn add_fault(&mut self, mut fault: Fault) -> u64 {
        self.next_fault_id += 1;
        fault.id = self.next_fault_id;
        fault.used = 0;
        fault.arrived = 0;
        fault.holding = 0;
        fault.released = false;
        self.faults.push(fault);
        self.next_fault_id
    }

    /// Whether the `hold` rule `id` still holds its calls: it exists, was not released, and fewer calls than
    /// its `untilCalls` have arrived.
    pub fn still_holding(&self, id: u64) -> bool {
        self.faults
            .iter()
            .any(|f| f.id == id && !f.released && f.until_calls.is_none_or(|n| f.arrived < n))
    }

    /// Releases the `hold` rules (only rule `id` when given); the number released.
    pub fn release_holds(&mut self, id: Option<u64>) -> usize {
        let mut released = 0;
        for rule in self
            .faults
            .iter_mut()
            .filter(|f| f.kind == FaultKind::Hold && !f.released && id.is_none_or(|id| f.id == id))
        {
            rule.released = true;
            released += 1;
        }
        released
    }

    /// The call counters as the control API shows them.
    pub fn counters(&self) -> serde_json::Value {
        serde_json::json!({
            "total": self.calls.values().sum::<u64>(),
            "byAction": self.calls,
            "bySignature": self.schemes,
        })
    }
}

/// State shared by every request.
pub struct Shared {
    inner: Mutex<Inner>,
    seed: World,
    initial_timing: Timing,
    state_file: Option<PathBuf>,
    /// Bumped whenever a call counter changes, so waiters need not poll.
    calls_changed: watch::Sender<u64>,
    /// Set once the server is stopping; held (`hang`, `commit_then_hold`) requests let go then.
    stopping: watch::Sender<bool>,
    /// API calls whose request has arrived and whose work has not finished yet, whether or not their client
    /// is still connected; [`serve`] waits for them before it returns.
    in_flight: watch::Sender<usize>,
    /// The metadata service's URL, once it listens.
    metadata_url: Mutex<Option<String>>,
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
            calls_changed: watch::Sender::new(0),
            stopping: watch::Sender::new(false),
            in_flight: watch::Sender::new(0),
            metadata_url: Mutex::new(None),
        })
    }

    /// The metadata service's URL, when it runs.
    pub fn metadata_url(&self) -> Option<String> {
        self.metadata_url
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Counts a call of `action` and wakes those waiting for counters.
    pub fn count_call(&self, inner: &mut Inner, action: &str) {
        *inner.calls.entry(action.to_string()).or_default() += 1;
        for rule in inner
            .faults
            .iter_mut()
            .filter(|f| f.kind == FaultKind::Hold)
        {
            if rule.action.as_deref().is_none_or(|a| a == action) {
                rule.arrived += 1;
            }
        }
        self.calls_changed();
    }

    /// The lock; a panic elsewhere never makes the state unusable.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Back to the seed: world, counters, faults, nonces, timing and image holding.
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
        self.calls_changed();
    }

    /// Wakes everything waiting for a call counter to change.
    pub fn calls_changed(&self) {
        self.calls_changed.send_modify(|version| *version += 1);
    }

    /// A receiver that sees every later change of the call counters.
    pub fn watch_calls(&self) -> watch::Receiver<u64> {
        self.calls_changed.subscribe()
    }

    /// Tells held requests that the server is stopping.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Completes once the server is stopping.
    pub async fn stopped(&self) {
        let mut stopping = self.stopping.subscribe();
        // The sender lives as long as `self`, so this only ends when the flag is set.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }

    /// Marks one API call as in flight until the returned guard is dropped.
    pub(crate) fn in_flight(self: &Arc<Self>) -> InFlight {
        self.in_flight.send_modify(|n| *n += 1);
        InFlight(self.clone())
    }

    /// Completes once no API call is in flight.
    async fn settled(&self) {
        let mut in_flight = self.in_flight.subscribe();
        // The sender lives as long as `self`, so this only ends when the count is 0.
        let _ = in_flight.wait_for(|n| *n == 0).await;
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

/// One API call in flight (see [`Shared::in_flight`]); dropping it ends that.
pub(crate) struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.send_modify(|n| *n -= 1);
    }
}

/// Loads the world: the state file when it exists, else the seed.
pub fn load_world(seed: &World, state_file: Option<&std::path::Path>) -> anyhow::Result<World> {
    match state_file {
        Some(path) if path.exists() => Ok(serde_json::from_slice(&std::fs::read(path)?)?),
        _ => Ok(seed.clone()),
    }
}

/// Serves the ECS instance metadata service on `listener` until the API server stops (see [`serve`]). Its URL
/// is known to the control API (`GET /_emulator/metadata`) as soon as this is called.
pub fn serve_metadata(
    listener: TcpListener,
    shared: Arc<Shared>,
) -> impl Future<Output = std::io::Result<()>> + Send + 'static {
    let addr = listener.local_addr();
    if let Ok(addr) = &addr {
        *shared
            .metadata_url
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(format!("http://{addr}"));
    }
    async move {
        addr?;
        let app = metadata::router(shared.clone());
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shared.stopped().await })
        .await
    }
}

/// Serves the emulator on `listener` until `shutdown` completes, then returns once every API call that
/// arrived has finished its work, also those whose client hung up (see `api`).
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = control::router(shared.clone()).merge(api::router(shared.clone()));
    let stopping = shared.clone();
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // Graceful shutdown waits for open requests: let held ones go.
        stopping.stop();
    })
    .await;
    shared.settled().await;
    served
}
