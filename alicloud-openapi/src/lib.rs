//! A client for Alibaba Cloud's RPC-style OpenAPI (ECS, ECD, STS and the like).
//!
//! Built in layers, each using only those below it:
//! - [`sign`], errors, endpoints and the environment: the two signature schemes Alibaba's SDKs use, as pure
//!   functions proven by published vectors (`ACS3-HMAC-SHA256`, the default of the current official SDKs,
//!   and RPC `HMAC-SHA1`), [`Error`], [`Endpoint`] and [`Environment`];
//! - the transport: one request on the wire, signed, sent (reqwest with rustls) and classified;
//! - the retry policy: backoff with jitter within a deadline and an attempt cap, `x-acs-retry-after`,
//!   renewal of expired credentials, and never a second try of a change that may have been applied;
//! - [`credentials`]: one small loader per source, tried in the order of Alibaba's own tools; temporary
//!   credentials are fetched at call time, cached and refreshed before they expire, once for all callers;
//! - [`Client`], from [`Settings`] resolved by [`resolve_client_config`];
//! - typed calls for ECD images and ECS image sharing, and [`EcsShares`], which batches share changes.
//!
//! Alibaba's error envelope keeps its code, message and request id in [`Error`]; [`Error::has_code`] lets
//! each caller decide per action what "not found" means.
//!
//! ```no_run
//! # async fn demo() -> Result<(), alicloud_openapi::Error> {
//! use std::time::Duration;
//! use alicloud_openapi::{CallContext, Client, EcsShares, Settings, SystemEnvironment, resolve_client_config};
//!
//! let settings = Settings {
//!     region: Some("cn-hangzhou".into()),
//!     ..Default::default()
//! };
//! // Credentials and endpoints come from the environment and profiles, as with Alibaba's CLI.
//! let client = Client::new(resolve_client_config(&settings, &SystemEnvironment)?)?;
//! let ctx = CallContext::detached(Duration::from_secs(60));
//! let accounts = client.list_image_share_accounts_now(&ctx, "m-bp1g7004ksh0oeuc6ps1").await?;
//! println!("{accounts:?}");
//! // Many concurrent share changes of one image, in few calls:
//! let shares = EcsShares::new(client);
//! shares.add_new(&ctx, "m-bp1g7004ksh0oeuc6ps1", "1234567890123456").await?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

// Layer 0: no network, no retries.
mod context;
mod endpoints;
mod environment;
mod error;
mod redact;
pub mod sign;
// Layer 1: one request on the wire.
mod batch;
mod gate;
mod transport;
// Layer 2: the retry policy.
mod retry;
// Layer 3: where credentials come from.
pub mod credentials;
// Layer 4: settings, resolved into a client's configuration.
mod settings;
// Layer 5: the client.
mod client;
// Layer 6: operations.
mod ecd;
mod ecs;

pub use client::Client;
pub use context::CallContext;
pub use credentials::{Clock, Credentials, ProvideCredentials};
pub use ecd::{EcdDesktop, EcdImage, EcdImageFilter};
pub use ecs::{EcsShares, IMAGE_NOT_FOUND, ImageShares, SHARE_ACCOUNTS_PER_CALL, ShareAdded};
pub use endpoints::{Endpoint, Protocol, Service};
pub use environment::{
    Environment, MapEnvironment, Setting, SettingNames, SystemEnvironment, field_names,
};
pub use error::{ApiError, Error};
pub use retry::Idempotency;
pub use settings::{
    ClientConfig, Settings, resolve_client_config, resolve_client_config_with_clock, resolve_region,
};
pub use transport::{IN_FLIGHT_GRACE, SignatureVersion, Timeouts};
