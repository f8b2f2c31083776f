//! What the caller says about credentials: the first link of the chain, and a role on top of it.

use std::fmt;

use crate::redact::Redact;

/// The caller's own credential settings, each optional: tried before the environment and the files.
///
/// ```
/// use alicloud_openapi::credentials::{AssumeRoleSettings, CredentialSettings};
///
/// let settings = CredentialSettings {
///     access_key_id: Some("LTAI5tExample".into()),
///     access_key_secret: Some("example-secret".into()),
///     assume_role: Some(AssumeRoleSettings {
///         role_arn: "acs:ram::123456789012:role/deployer".into(),
///         ..Default::default()
///     }),
///     ..Default::default()
/// };
/// assert!(!format!("{settings:?}").contains("example-secret"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CredentialSettings {
    /// An AccessKey ID, with `access_key_secret`.
    pub access_key_id: Option<String>,
    /// An AccessKey secret, with `access_key_id`.
    pub access_key_secret: Option<String>,
    /// An STS token, for temporary keys.
    pub security_token: Option<String>,
    /// The profile to take from the profile file (`~/.aliyun/config.json`).
    pub profile: Option<String>,
    /// A profile file to read instead of `~/.aliyun/config.json`.
    pub shared_credentials_file: Option<String>,
    /// A RAM role assumed on top of whatever base credentials the chain found.
    pub assume_role: Option<AssumeRoleSettings>,
    /// A RAM role assumed with an OIDC token (an anonymous STS call).
    pub assume_role_with_oidc: Option<OidcRoleSettings>,
    /// The ECS instance RAM role to take credentials from (metadata service).
    pub ecs_role_name: Option<String>,
    /// A URL that answers credentials as JSON (`Code: "Success"`).
    pub credentials_uri: Option<String>,
}

impl fmt::Debug for CredentialSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialSettings")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &Redact::from(&self.access_key_secret))
            .field("security_token", &Redact::from(&self.security_token))
            .field("profile", &self.profile)
            .field("shared_credentials_file", &self.shared_credentials_file)
            .field("assume_role", &self.assume_role)
            .field("assume_role_with_oidc", &self.assume_role_with_oidc)
            .field("ecs_role_name", &self.ecs_role_name)
            // A credentials URI may carry a token in its query.
            .field("credentials_uri", &Redact::from(&self.credentials_uri))
            .finish()
    }
}

/// A RAM role to assume with STS `AssumeRole`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssumeRoleSettings {
    /// `RoleArn`, e.g. `acs:ram::123456789012:role/deployer`.
    pub role_arn: String,
    /// `RoleSessionName`; else `ALIBABA_CLOUD_ROLE_SESSION_NAME`, else `alicloud-openapi-<unix micros>`.
    pub session_name: Option<String>,
    /// `Policy`: a policy document that narrows the role's permissions.
    pub policy: Option<String>,
    /// `DurationSeconds` (900..=43200; default 3600).
    pub duration_seconds: Option<u64>,
    /// `ExternalId`.
    pub external_id: Option<String>,
}

/// A RAM role to assume with an OIDC token (STS `AssumeRoleWithOIDC`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OidcRoleSettings {
    /// `RoleArn`.
    pub role_arn: String,
    /// `OIDCProviderArn`.
    pub oidc_provider_arn: String,
    /// The token itself (a secret).
    pub oidc_token: Option<String>,
    /// A file holding the token, read at each refresh.
    pub oidc_token_file: Option<String>,
    /// `RoleSessionName`.
    pub session_name: Option<String>,
    /// `Policy`.
    pub policy: Option<String>,
    /// `DurationSeconds`.
    pub duration_seconds: Option<u64>,
}

impl fmt::Debug for OidcRoleSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcRoleSettings")
            .field("role_arn", &self.role_arn)
            .field("oidc_provider_arn", &self.oidc_provider_arn)
            .field("oidc_token", &Redact::from(&self.oidc_token))
            .field("oidc_token_file", &self.oidc_token_file)
            .field("session_name", &self.session_name)
            .field("policy", &self.policy)
            .field("duration_seconds", &self.duration_seconds)
            .finish()
    }
}
