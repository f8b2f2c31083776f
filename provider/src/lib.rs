//! Pulumi native resource provider for Alibaba Cloud: ECS image sharing and Elastic Cloud Desktop images.

/// The Alibaba Cloud OpenAPI client, a crate of its own.
pub use alicloud_openapi as alicloud;
pub mod autoname;
pub mod check;
pub mod config;
pub mod diff;
pub mod engine;
pub mod functions;
pub mod overlap;
pub mod preview;
pub mod resources;
pub mod schema;
pub mod server;
#[cfg(test)]
mod shape;
pub mod values;

/// Generated Pulumi protocol types (`pulumirpc`).
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    /// The Pulumi provider, engine and plugin protocol.
    pub mod pulumirpc {
        tonic::include_proto!("pulumirpc");
    }
}

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use proto::pulumirpc::resource_provider_server::ResourceProviderServer;

/// Large enough for any schema or state the engine exchanges with us.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// Serves the provider on `listener` until `shutdown` completes, reading credentials and settings from the
/// process environment.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    serve_with(listener, Arc::new(alicloud::SystemEnvironment), shutdown).await
}

/// Serves the provider on `listener` until `shutdown` completes, reading credentials and settings from `env`
/// instead of the process environment, so that providers in one process (as the tests run them) each have
/// an environment of their own. Only the HTTP client's proxy settings still come from the process.
pub async fn serve_with(
    listener: TcpListener,
    env: Arc<dyn alicloud::Environment>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let provider = server::Provider::new(env);
    let service = ResourceProviderServer::new(provider)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    tonic::transport::Server::builder()
        .add_service(service)
        // Without TCP_NODELAY, Nagle's algorithm holds a larger answer until the engine's delayed ACK: ~40 ms
        // on every GetSchema after the first, and on any Check or Diff whose answer spans two segments.
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
}
