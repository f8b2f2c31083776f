//! Credentials and where they come from, in the order of Alibaba's own tools.
//!
//! Two phases:
//! - **Resolving the settings** (one loader per source): each source looks at the settings, the environment
//!   and its files, without touching the network. It says there is nothing there (with the reason), that
//!   credentials come from it, or that only the network can tell (the ECS metadata service off an
//!   instance). A broken source is an error, so mistakes surface before the first call.
//! - **Calls** ([`ProvideCredentials`]): the client asks the resolved provider before every attempt. Sources
//!   that hand out temporary credentials (STS, the metadata service, a credentials URI, an external command)
//!   are cached: refreshed three minutes before they expire, once for all concurrent callers.
//!
//! The chain is built from [`CredentialSettings`] when the client's settings are resolved.

mod assume_role;
mod cache;
mod chain;
mod config;
mod ecs_metadata;
mod env;
mod external;
mod ini;
mod oidc;
mod profile;
mod settings;
pub(crate) mod sts;
mod uri;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;

pub(crate) use chain::resolve;
pub(crate) use profile::ProfileLoader;
pub use settings::{AssumeRoleSettings, CredentialSettings, OidcRoleSettings};

pub use crate::context::BoxFuture;
use crate::context::CallContext;
use crate::environment::{Environment, Setting, SettingNames};
use crate::error::Error;
pub use crate::sign::Credentials;
use crate::transport::Transport;
use cache::Cached;
use sts::StsEndpoints;

/// What a credentials source may use while fetching: the call's deadline and cancellation, and the client's
/// transport for STS calls.
///
/// ```
/// use alicloud_openapi::credentials::{BoxFuture, Credentials, FetchContext, ProvideCredentials};
/// use alicloud_openapi::Error;
///
/// /// Credentials from a vault of one's own.
/// struct Vault;
///
/// impl ProvideCredentials for Vault {
///     fn describe(&self) -> String {
///         "the vault".into()
///     }
///
///     fn provide<'a>(
///         &'a self,
///         _cx: &'a FetchContext<'a>,
///     ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
///         Box::pin(async { Ok(Some(Credentials::new("AK", "secret", None, "the vault"))) })
///     }
/// }
/// ```
pub struct FetchContext<'a> {
    call: &'a CallContext,
    transport: &'a Transport,
}

impl<'a> FetchContext<'a> {
    pub(crate) fn new(call: &'a CallContext, transport: &'a Transport) -> Self {
        FetchContext { call, transport }
    }

    /// The deadline and cancellation of the call that needs the credentials.
    pub fn call(&self) -> &CallContext {
        self.call
    }

    pub(crate) fn transport(&self) -> &Transport {
        self.transport
    }
}

/// Hands out credentials at call time (see [`FetchContext`] for an example).
pub trait ProvideCredentials: Send + Sync {
    /// The source, as named in messages (never a secret).
    fn describe(&self) -> String;
    /// Credentials valid now. `Ok(None)` only from a source that could not tell when the settings were
    /// resolved whether it has any (the metadata service off an instance) and found out that it has none.
    fn provide<'a>(
        &'a self,
        cx: &'a FetchContext<'a>,
    ) -> BoxFuture<'a, Result<Option<Credentials>, Error>>;
    /// The credentials, when they are fixed and known without asking anyone (tests only).
    #[cfg(test)]
    fn known(&self) -> Option<Credentials> {
        None
    }
    /// The service refused `rejected` as expired: a cache forgets them, so that the next call fetches new
    /// ones whatever the local clock says.
    fn expired(&self, _rejected: &Credentials) {}
}

impl ProvideCredentials for Credentials {
    fn describe(&self) -> String {
        self.source.clone()
    }

    #[cfg(test)]
    fn known(&self) -> Option<Credentials> {
        Some(self.clone())
    }

    fn provide<'a>(
        &'a self,
        _cx: &'a FetchContext<'a>,
    ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
        Box::pin(async move { Ok(Some(self.clone())) })
    }
}

/// The time, behind a function so that expiry can be tested.
///
/// ```
/// use alicloud_openapi::Clock;
/// use chrono::{TimeZone, Utc};
///
/// let noon = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
/// assert_eq!(Clock::from_fn(move || noon).now(), noon);
/// ```
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(Arc::new(Utc::now))
    }

    /// A clock that reads `now`.
    pub fn from_fn(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// What one source has, as far as can be told without the network.
pub(crate) enum Loaded {
    /// Nothing here; the reason is shown if no source has credentials.
    Absent(String),
    /// Credentials come from here.
    Found(Arc<dyn ProvideCredentials>),
    /// Only asking over the network tells: tried at the first call, and skipped if it has none.
    Maybe(Arc<dyn ProvideCredentials>),
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loaded::Absent(why) => write!(f, "Absent({why:?})"),
            Loaded::Found(p) => write!(f, "Found({})", p.describe()),
            Loaded::Maybe(p) => write!(f, "Maybe({})", p.describe()),
        }
    }
}

/// What loaders read when the settings are resolved.
#[derive(Clone, Copy)]
pub(crate) struct LoadContext<'a> {
    /// Variables and files.
    pub env: &'a dyn Environment,
    /// Where STS calls go.
    pub sts: &'a StsEndpoints,
    /// The clock caches of temporary credentials use.
    pub clock: &'a Clock,
    /// How messages name the caller's settings.
    pub names: SettingNames,
}

/// One place credentials may come from, examined without network access when the settings are resolved.
pub(crate) trait Loader: Send + Sync {
    /// The place, as named in the "no credentials" error, naming the caller's settings with `names`.
    fn describe(&self, names: SettingNames) -> String;
    /// [`Loaded::Absent`] when this source has nothing; `Err` when it has something broken.
    fn load(&self, cx: &LoadContext<'_>) -> Result<Loaded, Error>;
}

/// The caller's `settings`, as a place credentials may come from.
fn configured(names: SettingNames, settings: &[Setting]) -> String {
    let named: Vec<String> = settings.iter().map(|s| names(*s)).collect();
    format!("configuration ({})", named.join(", "))
}

/// Static credentials as a provider.
fn found(credentials: Credentials) -> Loaded {
    Loaded::Found(Arc::new(credentials))
}

/// A temporary-credentials provider behind a refreshing cache.
fn cached(
    provider: impl ProvideCredentials + 'static,
    clock: &Clock,
) -> Arc<dyn ProvideCredentials> {
    Arc::new(Cached::new(Arc::new(provider), clock.clone()))
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
        (Some(access_key_id), Some(access_key_secret)) => Ok(Some(Credentials::new(
            access_key_id,
            access_key_secret,
            token,
            source,
        ))),
        (Some(_), None) => Err(Error::Credentials(format!(
            "{source}: {id_name} is set but {secret_name} is not"
        ))),
        (None, _) => Err(Error::Credentials(format!(
            "{source}: {secret_name} or a security token is set but {id_name} is not"
        ))),
    }
}

/// A path as written in configuration: a leading `~/` is the home directory.
fn expand_path(path: &str, env: &dyn Environment) -> PathBuf {
    match (path.strip_prefix("~/"), env.home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// Reads a file through the environment; a missing file is `Ok(None)`.
fn read(env: &dyn Environment, path: &Path, what: &str) -> Result<Option<String>, Error> {
    env.read_file(path)
        .map_err(|e| Error::Credentials(format!("cannot read {what} {}: {e}", path.display())))
}

/// An `Expiration` as Alibaba writes it (`2006-01-02T15:04:05Z`, RFC 3339).
pub(crate) fn parse_expiration(text: &str, source: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Error::Credentials(format!(
                "{source}: invalid Expiration {text:?} ({e}); expected e.g. 2026-01-01T00:00:00Z"
            ))
        })
}

/// The temporary credentials STS, the ECS metadata service and a credentials URI answer with (STS nests them
/// under `Credentials`; the others put `Code` and `Message` beside them).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TemporaryAnswer {
    pub code: Option<String>,
    pub message: Option<String>,
    access_key_id: Option<String>,
    access_key_secret: Option<String>,
    security_token: Option<String>,
    expiration: Option<String>,
}

impl TemporaryAnswer {
    /// The credentials, named `source`; else why not, naming the fields as `prefix` + name (the answer's
    /// secrets are never repeated).
    pub(crate) fn credentials(self, source: &str, prefix: &str) -> Result<Credentials, String> {
        let (Some(id), Some(secret), Some(token), Some(expiration)) = (
            self.access_key_id,
            self.access_key_secret,
            self.security_token,
            self.expiration,
        ) else {
            return Err(format!(
                "the answer lacks {prefix}AccessKeyId, {prefix}AccessKeySecret, {prefix}SecurityToken or \
                 {prefix}Expiration"
            ));
        };
        let mut c = Credentials::new(id, secret, Some(token), source);
        c.expiration = Some(parse_expiration(&expiration, source).map_err(|e| e.to_string())?);
        Ok(c)
    }
}

/// Says what was being done when a source failed; deadline, cancellation and errors that already name
/// their source stay as they are.
pub(crate) fn with_context(err: Error, what: &str) -> Error {
    match err {
        Error::Cancelled | Error::DeadlineExceeded { .. } | Error::Credentials(_) => err,
        other => Error::Credentials(format!("{what}: {other}")),
    }
}

/// Whether a variable is `true` (any case).
fn is_true(env: &dyn Environment, name: &str) -> bool {
    env.var(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials::new("AK", "very-secret", Some("token-secret".into()), "test");
        let shown = format!("{c:?}");
        assert!(shown.contains("AK"));
        assert!(
            !shown.contains("very-secret") && !shown.contains("token-secret"),
            "{shown}"
        );
    }

    #[test]
    fn expirations_and_paths() {
        let t = parse_expiration("2026-01-01T00:15:00Z", "s").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-01T00:15:00+00:00");
        assert!(parse_expiration("tomorrow", "s").is_err());
        let env = crate::MapEnvironment::with_vars(&[]);
        assert_eq!(
            expand_path("~/.aliyun/x", &env),
            PathBuf::from("/home/test/.aliyun/x")
        );
        assert_eq!(expand_path("/etc/x", &env), PathBuf::from("/etc/x"));
    }
}
