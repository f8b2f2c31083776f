//! A client for Alibaba Cloud's RPC-style OpenAPI (ECS, ECD, STS and the like).
//!
//! - [`sign`]: the two signature schemes Alibaba's SDKs use, as pure functions proven by published vectors:
//!   `ACS3-HMAC-SHA256` (V3, the default of the current official SDKs) and RPC `HMAC-SHA1` (V1).
//! - [`credentials`]: where credentials come from, one small loader per source, tried in the order of
//!   Alibaba's own tools; temporary credentials are fetched at call time, cached and refreshed before they
//!   expire, once for all concurrent callers.
//! - [`Client`]: signs, sends (reqwest with rustls), retries with backoff within a deadline and an attempt
//!   cap, honours `x-acs-retry-after`, and maps Alibaba's error envelope to [`Error`], which keeps the code,
//!   message and request id. [`Error::has_code`] lets each caller decide per action what "not found" means.
//! - Typed calls for ECS image sharing, ECD images and STS ([`sts`]), built on [`Client::call`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), alicloud_openapi::Error> {
//! use alicloud_openapi::{CallContext, Client, ConfigInputs, SystemEnvironment, resolve_client_config};
//!
//! let inputs = ConfigInputs {
//!     region: Some("cn-hangzhou".into()),
//!     ..Default::default()
//! };
//! // Credentials and endpoints come from the environment and profiles, as with Alibaba's CLI.
//! let client = Client::new(resolve_client_config(&inputs, &SystemEnvironment)?)?;
//! let ctx = CallContext {
//!     deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(60),
//!     cancel: Default::default(),
//! };
//! let accounts = client.list_image_share_accounts(&ctx, "m-bp1g7004ksh0oeuc6ps1").await?;
//! println!("{accounts:?}");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod batch;
mod client;
pub mod credentials;
mod ecd;
mod ecs;
pub mod endpoints;
mod environment;
mod error;
mod gate;
pub mod retry;
mod settings;
pub mod sign;
pub mod sts;

pub use client::{CallContext, Client, IN_FLIGHT_GRACE, Idempotency, Service};
pub use credentials::{Clock, Credentials, ProvideCredentials};
pub use ecd::{EcdImage, EcdImageFilter};
pub use ecs::{IMAGE_NOT_FOUND, ShareAdded};
pub use endpoints::{Endpoint, Protocol};
pub use environment::{Environment, MapEnvironment, SystemEnvironment};
pub use error::{ApiError, Error};
pub use settings::{
    AssumeRoleInputs, ClientConfig, ConfigInputs, OidcRoleInputs, SignatureVersion, Timeouts,
    resolve_client_config, resolve_client_config_with_clock, resolve_region, resolve_sts_endpoints,
};
