//! The connection back to the Pulumi engine, used to show progress of long waits.

use std::sync::{Mutex, RwLock};
use std::time::Duration;

use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::proto::pulumirpc::{LogRequest, LogSeverity, engine_client::EngineClient};
use crate::resources::Progress;

/// The engine's address, learned from Handshake or Attach.
#[derive(Default)]
pub struct Engine {
    client: RwLock<Option<EngineClient<Channel>>>,
}

impl Engine {
    /// Remembers the engine's address; the connection is made on first use.
    pub fn connect(&self, address: &str) {
        if address.is_empty() {
            return;
        }
        match Endpoint::from_shared(format!("http://{address}")) {
            Ok(endpoint) => {
                let client = EngineClient::new(endpoint.connect_lazy());
                if let Ok(mut slot) = self.client.write() {
                    *slot = Some(client);
                }
            }
            Err(err) => tracing::warn!(address, %err, "ignoring an unusable engine address"),
        }
    }

    /// Sends a warning to the engine, which shows it among the update's diagnostics (for `urn`, or for the
    /// whole update when empty). Best effort: waits a few seconds at most and never fails.
    pub async fn warn(&self, urn: &str, message: String) {
        self.log(LogSeverity::Warning, urn, message).await;
    }

    /// Sends an error to the engine, shown among the update's diagnostics like [`Engine::warn`].
    pub async fn error(&self, urn: &str, message: String) {
        self.log(LogSeverity::Error, urn, message).await;
    }

    async fn log(&self, severity: LogSeverity, urn: &str, message: String) {
        let Some(mut client) = self.client.read().ok().and_then(|c| c.clone()) else {
            return;
        };
        let request = LogRequest {
            severity: severity as i32,
            message,
            urn: urn.to_string(),
            stream_id: 0,
            ephemeral: false,
        };
        match tokio::time::timeout(Duration::from_secs(5), client.log(request)).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::debug!(%err, "engine log failed"),
            Err(_) => tracing::debug!("engine log timed out"),
        }
    }

    /// A progress reporter for one resource.
    pub fn progress(&self, urn: &str) -> EngineProgress {
        EngineProgress {
            client: self.client.read().ok().and_then(|c| c.clone()),
            urn: urn.to_string(),
            pending: Mutex::new(Vec::new()),
        }
    }
}

/// Sends ephemeral progress messages for one resource to the engine.
pub struct EngineProgress {
    client: Option<EngineClient<Channel>>,
    urn: String,
    /// Warnings on their way to the engine.
    pending: Mutex<Vec<JoinHandle<()>>>,
}

impl EngineProgress {
    fn send(&self, severity: LogSeverity, message: String, ephemeral: bool) {
        let Some(mut client) = self.client.clone() else {
            return;
        };
        let request = LogRequest {
            severity: severity as i32,
            message,
            urn: self.urn.clone(),
            stream_id: 0,
            ephemeral,
        };
        // Progress is advisory: a lost message must never hold up or fail the operation.
        let sent = tokio::spawn(async move {
            if let Err(err) = client.log(request).await {
                tracing::debug!(%err, "engine log failed");
            }
        });
        if !ephemeral && let Ok(mut pending) = self.pending.lock() {
            pending.push(sent);
        }
    }

    /// Waits (a few seconds at most) for the warnings sent so far to reach the engine, so that they are
    /// shown with the operation they belong to.
    pub async fn flush(&self) {
        let pending: Vec<JoinHandle<()>> = match self.pending.lock() {
            Ok(mut pending) => pending.drain(..).collect(),
            Err(_) => return,
        };
        for sent in pending {
            let _ = tokio::time::timeout(Duration::from_secs(5), sent).await;
        }
    }
}

impl Progress for EngineProgress {
    fn report(&self, message: String) {
        tracing::info!(urn = %self.urn, "{message}");
        self.send(LogSeverity::Info, message, true);
    }

    fn warn(&self, message: String) {
        tracing::warn!(urn = %self.urn, "{message}");
        self.send(LogSeverity::Warning, message, false);
    }
}
