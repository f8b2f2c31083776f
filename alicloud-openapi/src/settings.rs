//! Everything a client needs, resolved once and without network access: region, where credentials come
//! from, endpoints, signing and timeouts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::credentials::sts::StsEndpoints;
use crate::credentials::{
    self, Clock, CredentialSettings, LoadContext, ProfileLoader, ProvideCredentials,
};
use crate::endpoints::{Endpoint, Protocol, Service};
use crate::environment::{Environment, Setting, SettingNames, field_names};
use crate::error::Error;
use crate::transport::{SignatureVersion, Timeouts};

/// What the caller says; each setting may be unset, and then comes from the environment, the profile files
/// or a default.
///
/// ```
/// use alicloud_openapi::{MapEnvironment, Settings, resolve_client_config};
///
/// let settings = Settings {
///     region: Some("cn-hangzhou".into()),
///     ..Default::default()
/// };
/// let env = MapEnvironment::with_vars(&[
///     ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tExample"),
///     ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "example-secret"),
/// ]);
/// let config = resolve_client_config(&settings, &env)?;
/// assert_eq!(config.ecs_endpoint.to_string(), "https://ecs.cn-hangzhou.aliyuncs.com");
/// # Ok::<(), alicloud_openapi::Error>(())
/// ```
#[derive(Clone)]
pub struct Settings {
    /// Region id, e.g. `cn-hangzhou`; else `ALIBABA_CLOUD_REGION_ID`, `ALICLOUD_REGION`, or the profile's.
    pub region: Option<String>,
    /// Credentials of the caller's own, tried first.
    pub credentials: CredentialSettings,
    /// ECS endpoint; else `ALICLOUD_ENDPOINT_ECS`, `ALIBABA_CLOUD_ENDPOINT_ECS`, else the regional one.
    pub ecs_endpoint: Option<String>,
    /// ECD endpoint, likewise.
    pub ecd_endpoint: Option<String>,
    /// STS endpoint, likewise, else by `ALIBABA_CLOUD_STS_REGION`, else the central one.
    pub sts_endpoint: Option<String>,
    /// `HTTP` or `HTTPS`: the scheme of endpoints given as a bare host or `host:port`.
    pub protocol: Option<String>,
    /// The application calling, as `name/version`, put before this crate's own User-Agent.
    pub application: Option<String>,
    /// An upper bound, in seconds, on the time one call spends retrying.
    pub max_retry_seconds: Option<u64>,
    /// How long one attempt waits for its answer, in milliseconds.
    pub read_timeout_ms: Option<u64>,
    /// How long one attempt waits for the connection, in milliseconds.
    pub connect_timeout_ms: Option<u64>,
    /// Calls in flight to one endpoint at most (default 10).
    pub max_calls_in_flight: Option<usize>,
    /// How messages name these settings; by default, by their field names.
    pub setting_names: SettingNames,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            region: None,
            credentials: CredentialSettings::default(),
            ecs_endpoint: None,
            ecd_endpoint: None,
            sts_endpoint: None,
            protocol: None,
            application: None,
            max_retry_seconds: None,
            read_timeout_ms: None,
            connect_timeout_ms: None,
            max_calls_in_flight: None,
            setting_names: field_names,
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("region", &self.region)
            .field("credentials", &self.credentials)
            .field("ecs_endpoint", &self.ecs_endpoint)
            .field("ecd_endpoint", &self.ecd_endpoint)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("protocol", &self.protocol)
            .field("application", &self.application)
            .field("max_retry_seconds", &self.max_retry_seconds)
            .field("read_timeout_ms", &self.read_timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("max_calls_in_flight", &self.max_calls_in_flight)
            .finish_non_exhaustive()
    }
}

/// Resolved client settings.
#[derive(Clone)]
pub struct ClientConfig {
    /// Region id.
    pub region: String,
    /// Where credentials come from; asked before every attempt. Temporary credentials are cached and
    /// refreshed inside it.
    pub credentials: Arc<dyn ProvideCredentials>,
    /// ECS endpoint.
    pub ecs_endpoint: Endpoint,
    /// ECD endpoint.
    pub ecd_endpoint: Endpoint,
    /// STS endpoint.
    pub sts_endpoint: Endpoint,
    /// Signature scheme.
    pub signature: SignatureVersion,
    /// User-Agent header.
    pub user_agent: String,
    /// Connect, attempt and retry limits.
    pub timeouts: Timeouts,
    /// Calls in flight to one endpoint at most.
    pub max_calls_in_flight: usize,
}

/// Calls in flight to one endpoint at most, unless configured.
pub const DEFAULT_MAX_CALLS_IN_FLIGHT: usize = 10;

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("region", &self.region)
            .field("credentials", &self.credentials.describe())
            .field("ecs_endpoint", &self.ecs_endpoint)
            .field("ecd_endpoint", &self.ecd_endpoint)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("signature", &self.signature)
            .field("user_agent", &self.user_agent)
            .field("timeouts", &self.timeouts)
            .field("max_calls_in_flight", &self.max_calls_in_flight)
            .finish()
    }
}

fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// An endpoint override: the configured one, else `ALICLOUD_ENDPOINT_<PRODUCT>`, else
/// `ALIBABA_CLOUD_ENDPOINT_<PRODUCT>`.
fn endpoint_override(
    service: Service,
    configured: &Option<String>,
    env: &dyn Environment,
    protocol: Protocol,
) -> Result<Option<Endpoint>, Error> {
    let upper = service.product().to_ascii_uppercase();
    configured
        .clone()
        .or_else(|| env.var(&format!("ALICLOUD_ENDPOINT_{upper}")))
        .or_else(|| env.var(&format!("ALIBABA_CLOUD_ENDPOINT_{upper}")))
        .map(|v| Endpoint::parse_with(&v, protocol))
        .transpose()
}

fn endpoint(
    service: Service,
    configured: &Option<String>,
    region: &str,
    env: &dyn Environment,
    protocol: Protocol,
) -> Result<Endpoint, Error> {
    Ok(endpoint_override(service, configured, env, protocol)?
        .unwrap_or_else(|| Endpoint::regional_with(service, region, protocol)))
}

fn profile_loader(inputs: &Settings) -> ProfileLoader {
    ProfileLoader::default_position(&inputs.credentials)
}

/// The region a client of `inputs` would use, without resolving anything else.
///
/// ```
/// use alicloud_openapi::{MapEnvironment, Settings, resolve_region};
///
/// let env = MapEnvironment::with_vars(&[("ALICLOUD_REGION", "cn-shanghai")]);
/// assert_eq!(resolve_region(&Settings::default(), &env).as_deref(), Some("cn-shanghai"));
/// ```
///
/// The region: the configured one, else `ALIBABA_CLOUD_REGION_ID`, `ALICLOUD_REGION`, else the profile's
/// `region_id`.
pub fn resolve_region(inputs: &Settings, env: &dyn Environment) -> Option<String> {
    inputs
        .region
        .clone()
        .or_else(|| env.var("ALIBABA_CLOUD_REGION_ID"))
        .or_else(|| env.var("ALICLOUD_REGION"))
        .or_else(|| profile_loader(inputs).region(env))
}

/// `[<application> ]alicloud-openapi/<version> (<os>; <arch>)`.
fn user_agent(application: Option<&str>) -> String {
    let own = format!(
        "alicloud-openapi/{} ({}; {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    match application {
        Some(app) => format!("{app} {own}"),
        None => own,
    }
}

fn millis(value: Option<u64>, name: String, default: Duration) -> Result<Duration, Error> {
    match value {
        None => Ok(default),
        Some(0) => Err(Error::Config(format!(
            "{name} must be a positive number of milliseconds"
        ))),
        Some(ms) => Ok(Duration::from_millis(ms)),
    }
}

fn timeouts(inputs: &Settings) -> Result<Timeouts, Error> {
    let default = Timeouts::default();
    Ok(Timeouts {
        connect: millis(
            inputs.connect_timeout_ms,
            (inputs.setting_names)(Setting::ConnectTimeout),
            default.connect,
        )?,
        attempt: millis(
            inputs.read_timeout_ms,
            (inputs.setting_names)(Setting::ReadTimeout),
            default.attempt,
        )?,
        max_retry: inputs
            .max_retry_seconds
            .filter(|s| *s > 0)
            .map(Duration::from_secs),
    })
}

/// Where STS calls go, from `sts_endpoint`, `ALICLOUD_ENDPOINT_STS`, `ALIBABA_CLOUD_ENDPOINT_STS`, else
/// `ALIBABA_CLOUD_STS_REGION` or the central endpoint.
fn resolve_sts_endpoints(inputs: &Settings, env: &dyn Environment) -> Result<StsEndpoints, Error> {
    let protocol = protocol(inputs)?;
    let explicit = endpoint_override(Service::Sts, &inputs.sts_endpoint, env, protocol)?;
    Ok(StsEndpoints::from_env(explicit, env, protocol))
}

fn protocol(inputs: &Settings) -> Result<Protocol, Error> {
    inputs
        .protocol
        .as_deref()
        .map_or(Ok(Protocol::Https), Protocol::parse)
}

/// Resolves settings from `inputs`, then the environment, then the profile files, with the system clock.
/// Credentials sources are examined but not contacted: those that need the network (STS, the metadata
/// service, a credentials URI, an external command) are asked at the first call.
pub fn resolve_client_config(
    inputs: &Settings,
    env: &dyn Environment,
) -> Result<ClientConfig, Error> {
    resolve_client_config_with_clock(inputs, env, Clock::system())
}

/// [`resolve_client_config`] with the clock that decides when temporary credentials are due for refresh.
pub fn resolve_client_config_with_clock(
    inputs: &Settings,
    env: &dyn Environment,
    clock: Clock,
) -> Result<ClientConfig, Error> {
    let protocol = protocol(inputs)?;
    let sts = resolve_sts_endpoints(inputs, env)?;
    let credentials = credentials::resolve(
        &inputs.credentials,
        &LoadContext {
            env,
            sts: &sts,
            clock: &clock,
            names: inputs.setting_names,
        },
    )?;
    let region = resolve_region(inputs, env).ok_or_else(|| {
        Error::Config(format!(
            "no region: set {} (e.g. cn-hangzhou), ALIBABA_CLOUD_REGION_ID or ALICLOUD_REGION, or region_id in \
             the profile",
            (inputs.setting_names)(Setting::Region)
        ))
    })?;
    if !valid_region(&region) {
        return Err(Error::Config(format!(
            "invalid region {region:?}: expected an id such as cn-hangzhou"
        )));
    }
    let signature = match env
        .var("ALIBABA_CLOUD_SIGNATURE_VERSION")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("v3") => SignatureVersion::V3,
        Some("v1") => SignatureVersion::V1,
        Some(other) => {
            return Err(Error::Config(format!(
                "ALIBABA_CLOUD_SIGNATURE_VERSION must be v3 or v1, got {other:?}"
            )));
        }
    };
    Ok(ClientConfig {
        ecs_endpoint: endpoint(Service::Ecs, &inputs.ecs_endpoint, &region, env, protocol)?,
        ecd_endpoint: endpoint(Service::Ecd, &inputs.ecd_endpoint, &region, env, protocol)?,
        sts_endpoint: sts.endpoint()?,
        region,
        credentials,
        signature,
        user_agent: user_agent(inputs.application.as_deref()),
        timeouts: timeouts(inputs)?,
        max_calls_in_flight: match inputs.max_calls_in_flight {
            Some(0) => {
                return Err(Error::Config(format!(
                    "{} must be at least 1",
                    (inputs.setting_names)(Setting::MaxCallsInFlight)
                )));
            }
            Some(n) => n,
            None => DEFAULT_MAX_CALLS_IN_FLIGHT,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{AssumeRoleSettings, OidcRoleSettings};
    use crate::environment::MapEnvironment;

    fn creds() -> Settings {
        Settings {
            credentials: CredentialSettings {
                access_key_id: Some("AK".into()),
                access_key_secret: Some("S".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn region_order_and_validation() {
        let env = MapEnvironment::with_vars(&[
            ("ALIBABA_CLOUD_REGION_ID", "cn-beijing"),
            ("ALICLOUD_REGION", "cn-shanghai"),
        ]);
        let mut inputs = creds();
        assert_eq!(
            resolve_client_config(&inputs, &env).unwrap().region,
            "cn-beijing"
        );
        inputs.region = Some("ap-southeast-1".into());
        assert_eq!(
            resolve_client_config(&inputs, &env).unwrap().region,
            "ap-southeast-1"
        );
        let env = MapEnvironment::with_vars(&[("ALICLOUD_REGION", "cn-shanghai")]);
        assert_eq!(
            resolve_client_config(&creds(), &env).unwrap().region,
            "cn-shanghai"
        );
        let err = resolve_client_config(&creds(), &MapEnvironment::with_vars(&[])).unwrap_err();
        assert!(err.to_string().contains("no region"), "{err}");
        inputs.region = Some("Hangzhou".into());
        assert!(resolve_client_config(&inputs, &env).is_err());
    }

    #[test]
    fn endpoints_config_then_env_then_regional() {
        let env = MapEnvironment::with_vars(&[
            ("ALICLOUD_ENDPOINT_ECS", "http://127.0.0.1:9001"),
            ("ALIBABA_CLOUD_ENDPOINT_ECD", "ecd-vpc.example"),
        ]);
        let mut inputs = creds();
        inputs.region = Some("cn-hangzhou".into());
        let c = resolve_client_config(&inputs, &env).unwrap();
        assert_eq!(c.ecs_endpoint.to_string(), "http://127.0.0.1:9001");
        assert_eq!(c.ecd_endpoint.to_string(), "https://ecd-vpc.example");
        inputs.ecs_endpoint = Some("http://127.0.0.1:9002".into());
        assert_eq!(
            resolve_client_config(&inputs, &env)
                .unwrap()
                .ecs_endpoint
                .to_string(),
            "http://127.0.0.1:9002"
        );
        let c = resolve_client_config(&inputs, &MapEnvironment::with_vars(&[])).unwrap();
        assert_eq!(
            c.ecd_endpoint.to_string(),
            "https://ecd.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(c.signature, SignatureVersion::V3);
        assert!(c.user_agent.starts_with("alicloud-openapi/"));
        inputs.application = Some("example-tool/1.2.3".into());
        let c = resolve_client_config(&inputs, &MapEnvironment::with_vars(&[])).unwrap();
        assert!(
            c.user_agent
                .starts_with("example-tool/1.2.3 alicloud-openapi/"),
            "{}",
            c.user_agent
        );
    }

    #[test]
    fn protocol_sts_endpoint_and_timeouts() {
        let mut inputs = creds();
        inputs.region = Some("cn-hangzhou".into());
        inputs.protocol = Some("HTTP".into());
        inputs.ecd_endpoint = Some("127.0.0.1:9000".into());
        let env = MapEnvironment::with_vars(&[]);
        let c = resolve_client_config(&inputs, &env).unwrap();
        assert_eq!(
            c.ecs_endpoint.to_string(),
            "http://ecs.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(c.ecd_endpoint.to_string(), "http://127.0.0.1:9000");
        assert_eq!(c.sts_endpoint.to_string(), "http://sts.aliyuncs.com");
        assert_eq!(c.timeouts, Timeouts::default());
        inputs.protocol = None;
        let env = MapEnvironment::with_vars(&[("ALIBABA_CLOUD_STS_REGION", "cn-beijing")]);
        assert_eq!(
            resolve_client_config(&inputs, &env)
                .unwrap()
                .sts_endpoint
                .to_string(),
            "https://sts.cn-beijing.aliyuncs.com"
        );
        let env = MapEnvironment::with_vars(&[
            ("ALIBABA_CLOUD_STS_REGION", "cn-beijing"),
            ("ALIBABA_CLOUD_ENDPOINT_STS", "sts-vpc.example"),
        ]);
        assert_eq!(
            resolve_client_config(&inputs, &env)
                .unwrap()
                .sts_endpoint
                .to_string(),
            "https://sts-vpc.example"
        );
        let env = MapEnvironment::with_vars(&[("ALICLOUD_ENDPOINT_STS", "http://127.0.0.1:7")]);
        inputs.sts_endpoint = Some("http://127.0.0.1:8".into());
        assert_eq!(
            resolve_client_config(&inputs, &env)
                .unwrap()
                .sts_endpoint
                .to_string(),
            "http://127.0.0.1:8"
        );
        inputs.max_retry_seconds = Some(30);
        inputs.read_timeout_ms = Some(1500);
        let t = resolve_client_config(&inputs, &env).unwrap().timeouts;
        assert_eq!(
            (t.attempt, t.max_retry),
            (Duration::from_millis(1500), Some(Duration::from_secs(30)))
        );
        inputs.connect_timeout_ms = Some(0);
        assert!(resolve_client_config(&inputs, &env).is_err());
        inputs.connect_timeout_ms = None;
        inputs.protocol = Some("gopher".into());
        let err = resolve_client_config(&inputs, &env).unwrap_err();
        assert!(err.to_string().contains("HTTP or HTTPS"), "{err}");
    }

    #[test]
    fn configure_needs_no_network_and_shows_no_secret() {
        // An OIDC role and an assumed role on top: both need STS, neither is contacted while resolving.
        let env = MapEnvironment::with_vars(&[]).file("/var/run/token", "jwt-secret");
        let inputs = Settings {
            region: Some("cn-hangzhou".into()),
            sts_endpoint: Some("http://127.0.0.1:1".into()),
            credentials: CredentialSettings {
                assume_role_with_oidc: Some(OidcRoleSettings {
                    role_arn: "acs:ram::1:role/ci".into(),
                    oidc_provider_arn: "acs:ram::1:oidc-provider/gh".into(),
                    oidc_token_file: Some("/var/run/token".into()),
                    ..Default::default()
                }),
                assume_role: Some(AssumeRoleSettings {
                    role_arn: "acs:ram::1:role/deployer".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let c = resolve_client_config(&inputs, &env).unwrap();
        let shown = format!("{c:?} {inputs:?}");
        assert!(
            shown.contains("acs:ram::1:role/deployer") && shown.contains("AssumeRoleWithOIDC"),
            "{shown}"
        );
        assert!(!shown.contains("jwt-secret"), "{shown}");
        let with_token = Settings {
            credentials: CredentialSettings {
                access_key_secret: Some("very-secret".into()),
                security_token: Some("sts-secret".into()),
                credentials_uri: Some("http://h/c?token=uri-secret".into()),
                assume_role_with_oidc: Some(OidcRoleSettings {
                    oidc_token: Some("oidc-secret".into()),
                    ..Default::default()
                }),
                ..inputs.credentials.clone()
            },
            ..inputs
        };
        let shown = format!("{with_token:?}");
        for secret in ["very-secret", "sts-secret", "uri-secret", "oidc-secret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn signature_version_from_env() {
        let mut inputs = creds();
        inputs.region = Some("cn-hangzhou".into());
        let env = MapEnvironment::with_vars(&[("ALIBABA_CLOUD_SIGNATURE_VERSION", "v1")]);
        assert_eq!(
            resolve_client_config(&inputs, &env).unwrap().signature,
            SignatureVersion::V1
        );
        let env = MapEnvironment::with_vars(&[("ALIBABA_CLOUD_SIGNATURE_VERSION", "v9")]);
        assert!(resolve_client_config(&inputs, &env).is_err());
    }
}
