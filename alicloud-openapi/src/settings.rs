//! Everything Configure needs, resolved once and without network access: region, where credentials come
//! from, endpoints, signing and timeouts.

use std::sync::Arc;
use std::time::Duration;

use super::credentials::{self, Clock, LoadContext, ProfileLoader, ProvideCredentials};
use super::endpoints::Protocol;
use super::sts::StsEndpoints;
use super::{Endpoint, Environment, Error, Service};

/// What the provider's configuration says (each may be unset).
#[derive(Clone, Default)]
pub struct ConfigInputs {
    /// `region`.
    pub region: Option<String>,
    /// `accessKey`.
    pub access_key: Option<String>,
    /// `secretKey`.
    pub secret_key: Option<String>,
    /// `securityToken`.
    pub security_token: Option<String>,
    /// `profile`.
    pub profile: Option<String>,
    /// `endpoints.ecs`.
    pub endpoint_ecs: Option<String>,
    /// `endpoints.ecd`.
    pub endpoint_ecd: Option<String>,
    /// The application calling, as `name/version`, put before this crate's own User-Agent.
    pub application: Option<String>,
    /// `sharedCredentialsFile`: the `~/.aliyun/config.json`-style profile file to read.
    pub shared_credentials_file: Option<String>,
    /// `assumeRole`: a RAM role assumed on top of whatever base credentials the chain found.
    pub assume_role: Option<AssumeRoleInputs>,
    /// `assumeRoleWithOidc`: a RAM role assumed with an OIDC token (anonymous STS call).
    pub assume_role_with_oidc: Option<OidcRoleInputs>,
    /// `ecsRoleName`: the ECS instance RAM role to take credentials from (metadata service).
    pub ecs_role_name: Option<String>,
    /// `credentialsUri`: a URL that answers credentials as JSON (`Code: "Success"`).
    pub credentials_uri: Option<String>,
    /// `endpoints.sts`.
    pub endpoint_sts: Option<String>,
    /// `protocol`: `HTTP` or `HTTPS`, the scheme for endpoints given as a bare host or `host:port`.
    pub protocol: Option<String>,
    /// `maxRetryTimeout` in seconds: an upper bound on the time one call spends retrying.
    pub max_retry_timeout: Option<u64>,
    /// `clientReadTimeout` in milliseconds: how long one attempt waits for its answer.
    pub client_read_timeout: Option<u64>,
    /// `clientConnectTimeout` in milliseconds: how long one attempt waits for the connection.
    pub client_connect_timeout: Option<u64>,
    /// `maxCallsInFlight`: calls in flight to one endpoint at most (default 10).
    pub max_calls_in_flight: Option<usize>,
}

/// `assumeRole`, named as in the bridged provider's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssumeRoleInputs {
    /// `roleArn`.
    pub role_arn: String,
    /// `sessionName`.
    pub session_name: Option<String>,
    /// `policy`: a policy document that narrows the role's permissions.
    pub policy: Option<String>,
    /// `sessionExpiration` in seconds (900..=43200).
    pub session_expiration: Option<u64>,
    /// `externalId`.
    pub external_id: Option<String>,
}

/// `assumeRoleWithOidc`, named as in the bridged provider's configuration.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OidcRoleInputs {
    /// `roleArn`.
    pub role_arn: String,
    /// `oidcProviderArn`.
    pub oidc_provider_arn: String,
    /// `oidcToken`: the token itself (a secret).
    pub oidc_token: Option<String>,
    /// `oidcTokenFile`: a file holding the token, read at each refresh.
    pub oidc_token_file: Option<String>,
    /// `roleSessionName`.
    pub role_session_name: Option<String>,
    /// `policy`.
    pub policy: Option<String>,
    /// `durationSeconds`.
    pub duration_seconds: Option<u64>,
}

impl std::fmt::Debug for OidcRoleInputs {
    // The OIDC token is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcRoleInputs")
            .field("role_arn", &self.role_arn)
            .field("oidc_provider_arn", &self.oidc_provider_arn)
            .field(
                "oidc_token",
                &self.oidc_token.as_ref().map(|_| "<redacted>"),
            )
            .field("oidc_token_file", &self.oidc_token_file)
            .field("role_session_name", &self.role_session_name)
            .field("policy", &self.policy)
            .field("duration_seconds", &self.duration_seconds)
            .finish()
    }
}

impl std::fmt::Debug for ConfigInputs {
    // Secrets and tokens never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigInputs")
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("profile", &self.profile)
            .field(
                "assume_role",
                &self.assume_role.as_ref().map(|r| &r.role_arn),
            )
            .field(
                "assume_role_with_oidc",
                &self.assume_role_with_oidc.as_ref().map(|r| &r.role_arn),
            )
            .field("ecs_role_name", &self.ecs_role_name)
            .field("shared_credentials_file", &self.shared_credentials_file)
            // A credentials URI may carry a token in its query.
            .field(
                "credentials_uri",
                &self.credentials_uri.as_ref().map(|_| "<set>"),
            )
            .field("endpoint_ecs", &self.endpoint_ecs)
            .field("endpoint_ecd", &self.endpoint_ecd)
            .field("endpoint_sts", &self.endpoint_sts)
            .field("protocol", &self.protocol)
            .field("max_retry_timeout", &self.max_retry_timeout)
            .field("client_read_timeout", &self.client_read_timeout)
            .field("client_connect_timeout", &self.client_connect_timeout)
            .finish_non_exhaustive()
    }
}

/// Which signature scheme requests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureVersion {
    /// `ACS3-HMAC-SHA256` (the default, as in Alibaba's current SDKs).
    #[default]
    V3,
    /// RPC `HMAC-SHA1`.
    V1,
}

/// How long the client waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For a connection (`clientConnectTimeout`; default 5 s).
    pub connect: Duration,
    /// For one attempt's answer (`clientReadTimeout`; default 30 s), never beyond the operation's deadline.
    pub attempt: Duration,
    /// No retry starts later than this after the call began (`maxRetryTimeout`); unset, the operation's
    /// deadline and the attempt cap bound retries.
    pub max_retry: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            attempt: Duration::from_secs(30),
            max_retry: None,
        }
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
    /// STS endpoint, for [`Client::assume_role`](crate::Client::assume_role) and the like.
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

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

fn profile_loader(inputs: &ConfigInputs) -> ProfileLoader {
    ProfileLoader::default_position(inputs)
}

/// The region: the configured one, else `ALIBABA_CLOUD_REGION_ID`, `ALICLOUD_REGION`, else the profile's
/// `region_id`.
pub fn resolve_region(inputs: &ConfigInputs, env: &dyn Environment) -> Option<String> {
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

fn millis(value: Option<u64>, name: &str, default: Duration) -> Result<Duration, Error> {
    match value {
        None => Ok(default),
        Some(0) => Err(Error::Config(format!(
            "{name} must be a positive number of milliseconds"
        ))),
        Some(ms) => Ok(Duration::from_millis(ms)),
    }
}

fn timeouts(inputs: &ConfigInputs) -> Result<Timeouts, Error> {
    let default = Timeouts::default();
    Ok(Timeouts {
        connect: millis(
            inputs.client_connect_timeout,
            "clientConnectTimeout",
            default.connect,
        )?,
        attempt: millis(
            inputs.client_read_timeout,
            "clientReadTimeout",
            default.attempt,
        )?,
        max_retry: inputs
            .max_retry_timeout
            .filter(|s| *s > 0)
            .map(Duration::from_secs),
    })
}

/// Where STS calls go, from `endpoints.sts`, `ALICLOUD_ENDPOINT_STS`, `ALIBABA_CLOUD_ENDPOINT_STS`, else
/// `ALIBABA_CLOUD_STS_REGION` or the central endpoint.
pub fn resolve_sts_endpoints(
    inputs: &ConfigInputs,
    env: &dyn Environment,
) -> Result<StsEndpoints, Error> {
    let protocol = protocol(inputs)?;
    let explicit = endpoint_override(Service::Sts, &inputs.endpoint_sts, env, protocol)?;
    Ok(StsEndpoints::from_env(explicit, env, protocol))
}

fn protocol(inputs: &ConfigInputs) -> Result<Protocol, Error> {
    inputs
        .protocol
        .as_deref()
        .map_or(Ok(Protocol::Https), Protocol::parse)
}

/// Resolves settings from config, then the environment, then the profile files, with the system clock.
/// Credentials sources are examined but not contacted: those that need the network (STS, the metadata
/// service, a credentials URI, an external command) are asked at the first call.
pub fn resolve_client_config(
    inputs: &ConfigInputs,
    env: &dyn Environment,
) -> Result<ClientConfig, Error> {
    resolve_client_config_with_clock(inputs, env, Clock::system())
}

/// [`resolve_client_config`] with the clock that decides when temporary credentials are due for refresh.
pub fn resolve_client_config_with_clock(
    inputs: &ConfigInputs,
    env: &dyn Environment,
    clock: Clock,
) -> Result<ClientConfig, Error> {
    let protocol = protocol(inputs)?;
    let sts = resolve_sts_endpoints(inputs, env)?;
    let credentials = credentials::resolve(
        inputs,
        &LoadContext {
            env,
            sts: &sts,
            clock: &clock,
        },
    )?;
    let region = resolve_region(inputs, env).ok_or_else(|| {
            Error::Config(
                "no region: set alicloud:region (e.g. cn-hangzhou), ALIBABA_CLOUD_REGION_ID or ALICLOUD_REGION, or region_id in the profile".into(),
            )
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
        ecs_endpoint: endpoint(Service::Ecs, &inputs.endpoint_ecs, &region, env, protocol)?,
        ecd_endpoint: endpoint(Service::Ecd, &inputs.endpoint_ecd, &region, env, protocol)?,
        sts_endpoint: sts.endpoint()?,
        region,
        credentials,
        signature,
        user_agent: user_agent(inputs.application.as_deref()),
        timeouts: timeouts(inputs)?,
        max_calls_in_flight: match inputs.max_calls_in_flight {
            Some(0) => {
                return Err(Error::Config("maxCallsInFlight must be at least 1".into()));
            }
            Some(n) => n,
            None => DEFAULT_MAX_CALLS_IN_FLIGHT,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnvironment;

    fn creds() -> ConfigInputs {
        ConfigInputs {
            access_key: Some("AK".into()),
            secret_key: Some("S".into()),
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
        inputs.endpoint_ecs = Some("http://127.0.0.1:9002".into());
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
        inputs.application = Some("pulumi-alicloud-rs/1.2.3".into());
        let c = resolve_client_config(&inputs, &MapEnvironment::with_vars(&[])).unwrap();
        assert!(
            c.user_agent
                .starts_with("pulumi-alicloud-rs/1.2.3 alicloud-openapi/"),
            "{}",
            c.user_agent
        );
    }

    #[test]
    fn protocol_sts_endpoint_and_timeouts() {
        let mut inputs = creds();
        inputs.region = Some("cn-hangzhou".into());
        inputs.protocol = Some("HTTP".into());
        inputs.endpoint_ecd = Some("127.0.0.1:9000".into());
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
        inputs.endpoint_sts = Some("http://127.0.0.1:8".into());
        assert_eq!(
            resolve_client_config(&inputs, &env)
                .unwrap()
                .sts_endpoint
                .to_string(),
            "http://127.0.0.1:8"
        );
        inputs.max_retry_timeout = Some(30);
        inputs.client_read_timeout = Some(1500);
        let t = resolve_client_config(&inputs, &env).unwrap().timeouts;
        assert_eq!(
            (t.attempt, t.max_retry),
            (Duration::from_millis(1500), Some(Duration::from_secs(30)))
        );
        inputs.client_connect_timeout = Some(0);
        assert!(resolve_client_config(&inputs, &env).is_err());
        inputs.client_connect_timeout = None;
        inputs.protocol = Some("gopher".into());
        let err = resolve_client_config(&inputs, &env).unwrap_err();
        assert!(err.to_string().contains("HTTP or HTTPS"), "{err}");
    }

    #[test]
    fn configure_needs_no_network_and_shows_no_secret() {
        // An OIDC role and an assumed role on top: both need STS, neither is contacted at Configure.
        let env = MapEnvironment::with_vars(&[]).file("/var/run/token", "jwt-secret");
        let inputs = ConfigInputs {
            region: Some("cn-hangzhou".into()),
            endpoint_sts: Some("http://127.0.0.1:1".into()),
            assume_role_with_oidc: Some(OidcRoleInputs {
                role_arn: "acs:ram::1:role/ci".into(),
                oidc_provider_arn: "acs:ram::1:oidc-provider/gh".into(),
                oidc_token_file: Some("/var/run/token".into()),
                ..Default::default()
            }),
            assume_role: Some(AssumeRoleInputs {
                role_arn: "acs:ram::1:role/deployer".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let c = resolve_client_config(&inputs, &env).unwrap();
        let shown = format!("{c:?} {inputs:?}");
        assert!(
            shown.contains("acs:ram::1:role/deployer") && shown.contains("AssumeRoleWithOIDC"),
            "{shown}"
        );
        assert!(!shown.contains("jwt-secret"), "{shown}");
        let with_token = ConfigInputs {
            secret_key: Some("very-secret".into()),
            security_token: Some("sts-secret".into()),
            credentials_uri: Some("http://h/c?token=uri-secret".into()),
            assume_role_with_oidc: Some(OidcRoleInputs {
                oidc_token: Some("oidc-secret".into()),
                ..Default::default()
            }),
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
