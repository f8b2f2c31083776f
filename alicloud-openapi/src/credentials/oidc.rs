//! A RAM role assumed with an OIDC token (STS `AssumeRoleWithOIDC`, anonymous): the caller's
//! `assume_role_with_oidc`, or `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` and
//! `ALIBABA_CLOUD_OIDC_TOKEN_FILE` (as set by ACK RRSA and CI systems).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::OidcRoleSettings;
use super::configured;
use super::sts::{self, AssumeRoleWithOidc, check_duration};
use super::{
    BoxFuture, Credentials, FetchContext, LoadContext, Loaded, Loader, ProvideCredentials, cached,
    expand_path, read, with_context,
};
use crate::endpoints::Endpoint;
use crate::environment::{Environment, Setting, SettingNames};
use crate::error::Error;

/// Where the token comes from.
#[derive(Clone)]
enum Token {
    /// Given in configuration.
    Inline(String),
    /// Read from this file at every refresh (the platform rotates it).
    File(PathBuf),
}

/// What a source says about the OIDC role.
#[derive(Debug, Clone, Default)]
pub(crate) struct OidcSpec {
    pub role_arn: String,
    pub oidc_provider_arn: String,
    pub token: Option<String>,
    pub token_file: Option<String>,
    pub session_name: Option<String>,
    pub duration_seconds: Option<u64>,
    pub policy: Option<String>,
    pub sts_region: Option<String>,
}

/// Assumes a role with an OIDC token.
pub(crate) struct OidcProvider {
    role_arn: String,
    oidc_provider_arn: String,
    token: Token,
    session_name: String,
    duration_seconds: Option<u64>,
    policy: Option<String>,
    endpoint: Endpoint,
    env: Arc<dyn Environment>,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl OidcProvider {
    /// Checks `spec` (named `what` in messages: the role, the provider and a readable, non-empty token) and
    /// builds a cached provider.
    pub(crate) fn build(
        spec: OidcSpec,
        what: &str,
        cx: &LoadContext<'_>,
    ) -> Result<Arc<dyn ProvideCredentials>, Error> {
        let missing = |name: &str| Error::Credentials(format!("{what}: {name} is not set"));
        if spec.role_arn.trim().is_empty() {
            return Err(missing("the role ARN"));
        }
        if spec.oidc_provider_arn.trim().is_empty() {
            return Err(missing("the OIDC provider ARN"));
        }
        let token = match (spec.token.filter(|t| !t.is_empty()), spec.token_file) {
            (Some(token), _) => Token::Inline(token),
            (None, Some(file)) if !file.is_empty() => {
                let path = expand_path(&file, cx.env);
                match read(cx.env, &path, "the OIDC token file")? {
                    Some(text) if !text.trim().is_empty() => Token::File(path),
                    Some(_) => {
                        return Err(Error::Credentials(format!(
                            "{what}: the OIDC token file {} is empty",
                            path.display()
                        )));
                    }
                    None => {
                        return Err(Error::Credentials(format!(
                            "{what}: the OIDC token file {} does not exist",
                            path.display()
                        )));
                    }
                }
            }
            _ => return Err(missing("an OIDC token or token file")),
        };
        let duration_seconds = spec
            .duration_seconds
            .filter(|d| *d > 0)
            .map(|d| check_duration(d, &format!("{what}: the session duration")))
            .transpose()?;
        let session_name = spec
            .session_name
            .filter(|s| !s.is_empty())
            .or_else(|| cx.env.var("ALIBABA_CLOUD_ROLE_SESSION_NAME"))
            .unwrap_or_else(|| sts::default_session_name(cx.clock.now()));
        Ok(cached(
            OidcProvider {
                role_arn: spec.role_arn,
                oidc_provider_arn: spec.oidc_provider_arn,
                token,
                session_name,
                duration_seconds,
                policy: spec.policy.filter(|p| !p.is_empty()),
                endpoint: cx.sts.for_region(spec.sts_region.as_deref())?,
                env: cx.env.to_shared(),
            },
            cx.clock,
        ))
    }

    fn token(&self) -> Result<String, Error> {
        match &self.token {
            Token::Inline(t) => Ok(t.clone()),
            Token::File(path) => read(self.env.as_ref(), path, "the OIDC token file")?
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    Error::Credentials(format!(
                        "the OIDC token file {} is missing or empty",
                        path.display()
                    ))
                }),
        }
    }
}

impl ProvideCredentials for OidcProvider {
    fn describe(&self) -> String {
        let token = match &self.token {
            Token::Inline(_) => "a configured token".to_string(),
            Token::File(p) => format!("the token in {}", p.display()),
        };
        format!(
            "role {} (STS AssumeRoleWithOIDC at {}, provider {}, {token})",
            self.role_arn, self.endpoint, self.oidc_provider_arn
        )
    }

    fn provide<'a>(
        &'a self,
        cx: &'a FetchContext<'a>,
    ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
        Box::pin(async move {
            let request = AssumeRoleWithOidc {
                role_arn: self.role_arn.clone(),
                oidc_provider_arn: self.oidc_provider_arn.clone(),
                oidc_token: self.token()?,
                role_session_name: self.session_name.clone(),
                duration_seconds: self.duration_seconds,
                policy: self.policy.clone(),
            };
            sts::assume_role_with_oidc(cx.transport(), &self.endpoint, cx.call(), &request)
                .await
                .map(Some)
                .map_err(|e| {
                    with_context(
                        e,
                        &format!(
                            "assuming role {} with an OIDC token at {}",
                            self.role_arn, self.endpoint
                        ),
                    )
                })
        })
    }
}

/// The caller's `assume_role_with_oidc`, or the OIDC variables of the environment.
#[derive(Debug, Clone)]
pub(crate) enum OidcLoader {
    /// `assume_role_with_oidc` (unset: nothing here).
    Config(Option<OidcRoleSettings>),
    /// `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`, `ALIBABA_CLOUD_OIDC_TOKEN_FILE`,
    /// `ALIBABA_CLOUD_ROLE_SESSION_NAME`.
    Environment,
}

const ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
const PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
const TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";

impl Loader for OidcLoader {
    fn describe(&self, names: SettingNames) -> String {
        match self {
            OidcLoader::Config(_) => configured(names, &[Setting::AssumeRoleWithOidc]),
            OidcLoader::Environment => {
                format!("OIDC role from the environment ({ROLE_ARN}, {PROVIDER_ARN}, {TOKEN_FILE})")
            }
        }
    }

    fn load(&self, cx: &LoadContext<'_>) -> Result<Loaded, Error> {
        let spec = match self {
            OidcLoader::Config(None) => return Ok(Loaded::Absent("not set".into())),
            OidcLoader::Config(Some(i)) => OidcSpec {
                role_arn: i.role_arn.clone(),
                oidc_provider_arn: i.oidc_provider_arn.clone(),
                token: i.oidc_token.clone(),
                token_file: i.oidc_token_file.clone(),
                session_name: i.session_name.clone(),
                duration_seconds: i.duration_seconds,
                policy: i.policy.clone(),
                sts_region: None,
            },
            OidcLoader::Environment => {
                let (provider, file) = (cx.env.var(PROVIDER_ARN), cx.env.var(TOKEN_FILE));
                // ALIBABA_CLOUD_ROLE_ARN alone is also read for plain AssumeRole; OIDC needs the other two.
                if provider.is_none() && file.is_none() {
                    return Ok(Loaded::Absent(format!(
                        "{PROVIDER_ARN} and {TOKEN_FILE} are not set"
                    )));
                }
                for (name, value) in [
                    (ROLE_ARN, cx.env.var(ROLE_ARN)),
                    (PROVIDER_ARN, provider.clone()),
                    (TOKEN_FILE, file.clone()),
                ] {
                    if value.is_none() {
                        return Err(Error::Credentials(format!(
                            "OIDC role from the environment: {name} is not set (the OIDC role needs {ROLE_ARN}, {PROVIDER_ARN} and {TOKEN_FILE})"
                        )));
                    }
                }
                OidcSpec {
                    role_arn: cx.env.var(ROLE_ARN).unwrap_or_default(),
                    oidc_provider_arn: provider.unwrap_or_default(),
                    token_file: file,
                    ..Default::default()
                }
            }
        };
        let what = match self {
            OidcLoader::Config(_) => (cx.names)(Setting::AssumeRoleWithOidc),
            OidcLoader::Environment => "OIDC role from the environment".to_string(),
        };
        Ok(Loaded::Found(OidcProvider::build(spec, &what, cx)?))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::credentials::sts::StsEndpoints;
    use crate::credentials::testing::{
        ManualClock, Reply, Server, absent, found, load, load_with_sts, provide, sts_answer,
        transport,
    };
    use crate::{MapEnvironment, SignatureVersion};

    fn vars() -> Vec<(&'static str, &'static str)> {
        vec![
            (ROLE_ARN, "acs:ram::1:role/ci"),
            (PROVIDER_ARN, "acs:ram::1:oidc-provider/gh"),
            (TOKEN_FILE, "/var/run/token"),
        ]
    }

    #[tokio::test]
    async fn environment_token_file_is_read_at_each_refresh() {
        let expires = ManualClock::new().now() + TimeDelta::minutes(15);
        let server =
            Server::start(move |_| Reply::json(200, sts_answer("STS.OIDC", expires))).await;
        let mut v = vars();
        v.push(("ALIBABA_CLOUD_ROLE_SESSION_NAME", "ci-run"));
        let env = MapEnvironment::with_vars(&v).file("/var/run/token", "jwt-1\n");
        let sts = StsEndpoints {
            explicit: Some(server.endpoint()),
            ..Default::default()
        };
        let p = found(load_with_sts(&OidcLoader::Environment, &env, &sts).unwrap());
        assert!(p.describe().contains("/var/run/token"), "{}", p.describe());
        assert!(!p.describe().contains("jwt-1"));
        let got = provide(p.as_ref(), &transport(SignatureVersion::V3))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.access_key_id, "STS.OIDC");
        let req = &server.requests()[0];
        assert_eq!(req.param("OIDCToken").as_deref(), Some("jwt-1"));
        assert_eq!(req.param("RoleSessionName").as_deref(), Some("ci-run"));
        assert_eq!(req.param("RoleArn").as_deref(), Some("acs:ram::1:role/ci"));
        assert!(req.header("authorization").is_none());
    }

    #[tokio::test]
    async fn config_inline_token_and_sts_failure() {
        let server = Server::start(|_| {
            Reply::json(
                400,
                r#"{"Code":"AuthenticationFail.OIDCToken.Expired","Message":"expired","RequestId":"R"}"#,
            )
        })
        .await;
        let inputs = OidcRoleSettings {
            role_arn: "acs:ram::1:role/ci".into(),
            oidc_provider_arn: "acs:ram::1:oidc-provider/gh".into(),
            oidc_token: Some("inline-jwt".into()),
            duration_seconds: Some(900),
            ..Default::default()
        };
        let sts = StsEndpoints {
            explicit: Some(server.endpoint()),
            ..Default::default()
        };
        let env = MapEnvironment::with_vars(&[]);
        let p = found(load_with_sts(&OidcLoader::Config(Some(inputs)), &env, &sts).unwrap());
        let err = provide(p.as_ref(), &transport(SignatureVersion::V1))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AuthenticationFail.OIDCToken.Expired"),
            "{err}"
        );
        assert!(!err.contains("inline-jwt"), "{err}");
        let req = &server.requests()[0];
        assert_eq!(req.param("OIDCToken").as_deref(), Some("inline-jwt"));
        assert_eq!(req.param("DurationSeconds").as_deref(), Some("900"));
        assert!(req.param("Signature").is_none());
    }

    #[test]
    fn missing_partial_and_broken() {
        let env = MapEnvironment::with_vars(&[(ROLE_ARN, "acs:ram::1:role/x")]);
        assert!(absent(load(&OidcLoader::Environment, &env).unwrap()).contains(PROVIDER_ARN));
        assert!(absent(load(&OidcLoader::Config(None), &env).unwrap()).contains("not set"));
        let env = MapEnvironment::with_vars(&[(PROVIDER_ARN, "p"), (TOKEN_FILE, "/t")]);
        let err = load(&OidcLoader::Environment, &env).unwrap_err();
        assert!(
            err.to_string()
                .contains("ALIBABA_CLOUD_ROLE_ARN is not set"),
            "{err}"
        );
        // All set, but the token file is not there.
        let err = load(
            &OidcLoader::Environment,
            &MapEnvironment::with_vars(&vars()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let empty = MapEnvironment::with_vars(&vars()).file("/var/run/token", " \n");
        assert!(
            load(&OidcLoader::Environment, &empty)
                .unwrap_err()
                .to_string()
                .contains("is empty")
        );
        let inputs = OidcRoleSettings {
            role_arn: "r".into(),
            oidc_provider_arn: "p".into(),
            ..Default::default()
        };
        let err = load(&OidcLoader::Config(Some(inputs)), &env).unwrap_err();
        assert!(
            err.to_string().contains("an OIDC token or token file"),
            "{err}"
        );
    }
}
