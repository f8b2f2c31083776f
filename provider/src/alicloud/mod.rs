//! The Alibaba Cloud OpenAPI client: signing, credentials, endpoints, retries and the typed calls the
//! resources make. Every call goes through [`Client::call`].

mod client;
pub mod credentials;
mod ecd;
mod ecs;
pub mod endpoints;
mod environment;
mod error;
pub mod retry;
mod settings;
pub mod sign;

pub use client::{CallContext, Client, Idempotency, Service};
pub use credentials::Credentials;
pub use ecd::EcdImage;
pub use ecs::IMAGE_NOT_FOUND;
pub use endpoints::Endpoint;
pub use environment::{Environment, MapEnvironment, SystemEnvironment};
pub use error::{ApiError, Error};
pub use settings::{
    ClientConfig, ConfigInputs, SignatureVersion, resolve_client_config, resolve_region,
};
