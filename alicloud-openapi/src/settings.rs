//! Everything Configure needs, resolved once: region, credentials, endpoints and signing.

use super::credentials::{ConfigLoader, ProfileLoader, ProfileSelection, default_chain};
use super::{Credentials, Endpoint, Environment, Error, Service};

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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// Resolved client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Region id.
    pub region: String,
    /// Credentials.
    pub credentials: Credentials,
    /// ECS endpoint.
    pub ecs_endpoint: Endpoint,
    /// ECD endpoint.
    pub ecd_endpoint: Endpoint,
    /// Signature scheme.
    pub signature: SignatureVersion,
    /// User-Agent header.
    pub user_agent: String,
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

fn endpoint(
    service: Service,
    configured: &Option<String>,
    region: &str,
    env: &dyn Environment,
) -> Result<Endpoint, Error> {
    let upper = service.product().to_ascii_uppercase();
    let value = configured
        .clone()
        .or_else(|| env.var(&format!("ALICLOUD_ENDPOINT_{upper}")))
        .or_else(|| env.var(&format!("ALIBABA_CLOUD_ENDPOINT_{upper}")));
    match value {
        Some(v) => Endpoint::parse(&v),
        None => Ok(Endpoint::regional(service, region)),
    }
}

fn profile_loader(inputs: &ConfigInputs) -> ProfileLoader {
    ProfileLoader {
        selection: ProfileSelection {
            configured: inputs.profile.clone(),
        },
    }
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

/// Resolves settings from config, then the environment, then the profile file.
pub fn resolve_client_config(
    inputs: &ConfigInputs,
    env: &dyn Environment,
) -> Result<ClientConfig, Error> {
    let profile = profile_loader(inputs);
    let config = ConfigLoader {
        access_key: inputs.access_key.clone(),
        secret_key: inputs.secret_key.clone(),
        security_token: inputs.security_token.clone(),
    };
    let credentials = default_chain(config, profile).resolve(env)?;
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
        ecs_endpoint: endpoint(Service::Ecs, &inputs.endpoint_ecs, &region, env)?,
        ecd_endpoint: endpoint(Service::Ecd, &inputs.endpoint_ecd, &region, env)?,
        region,
        credentials,
        signature,
        user_agent: user_agent(inputs.application.as_deref()),
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
