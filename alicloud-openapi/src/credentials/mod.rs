//! Credentials and where they come from. Each source is a small [`Loader`]; the chain asks them in order
//! and the first that has credentials wins.

mod chain;
mod config;
mod env;
mod profile;

use std::fmt;

pub use chain::{Chain, default_chain};
pub use config::ConfigLoader;
pub use env::EnvLoader;
pub use profile::{ProfileLoader, ProfileSelection};

use super::{Environment, Error};

/// An AccessKey pair, optionally with an STS token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// AccessKey ID.
    pub access_key_id: String,
    /// AccessKey secret.
    pub access_key_secret: String,
    /// STS security token, for temporary credentials.
    pub security_token: Option<String>,
    /// Where they were found, for messages.
    pub source: String,
}

impl fmt::Debug for Credentials {
    // Secrets never reach logs or error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("source", &self.source)
            .finish()
    }
}

/// One place credentials may come from.
pub trait Loader: Send + Sync {
    /// The place, as named in the "no credentials" error.
    fn describe(&self) -> String;
    /// `Ok(None)` when this source has nothing; `Err` when it has something broken.
    fn load(&self, env: &dyn Environment) -> Result<Option<Credentials>, Error>;
}

/// Builds credentials from optional parts: both key and secret, or neither.
fn from_parts(
    source: &str,
    (id_name, id): (&str, Option<String>),
    (secret_name, secret): (&str, Option<String>),
    token: Option<String>,
) -> Result<Option<Credentials>, Error> {
    match (id, secret) {
        (None, None) if token.is_none() => Ok(None),
        (Some(access_key_id), Some(access_key_secret)) => Ok(Some(Credentials {
            access_key_id,
            access_key_secret,
            security_token: token,
            source: source.to_string(),
        })),
        (Some(_), None) => Err(Error::Credentials(format!(
            "{source}: {id_name} is set but {secret_name} is not"
        ))),
        (None, _) => Err(Error::Credentials(format!(
            "{source}: {secret_name} or a security token is set but {id_name} is not"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials {
            access_key_id: "AK".into(),
            access_key_secret: "very-secret".into(),
            security_token: Some("token-secret".into()),
            source: "test".into(),
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("AK"));
        assert!(
            !shown.contains("very-secret") && !shown.contains("token-secret"),
            "{shown}"
        );
    }
}
