//! Security Token Service (2015-04-01): `AssumeRole`, signed with the caller's credentials, and
//! `AssumeRoleWithOIDC`, anonymous (the OIDC token is the proof). Both answer
//! `Credentials.{AccessKeyId, AccessKeySecret, SecurityToken, Expiration}`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::TemporaryAnswer;
use crate::context::CallContext;
use crate::endpoints::{Endpoint, Protocol, Service};
use crate::environment::Environment;
use crate::error::Error;
use crate::redact::Redact;
use crate::retry::{self, Auth, Idempotency};
use crate::sign::Credentials;
use crate::transport::{Request, Transport};

/// `DurationSeconds` when none is given.
pub(crate) const DEFAULT_DURATION_SECONDS: u64 = 3600;
/// The shortest session STS grants.
pub(crate) const MIN_DURATION_SECONDS: u64 = 900;
/// The longest session a RAM role can allow.
pub(crate) const MAX_DURATION_SECONDS: u64 = 43200;

/// A session name like credentials-go's (`credentials-go-<unix micros>`): `alicloud-openapi-<unix micros>`.
pub(crate) fn default_session_name(now: DateTime<Utc>) -> String {
    format!("alicloud-openapi-{}", now.timestamp_micros())
}

/// Checks a session duration against what STS accepts.
pub(crate) fn check_duration(seconds: u64, what: &str) -> Result<u64, Error> {
    if (MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(Error::Config(format!(
            "{what} must be between {MIN_DURATION_SECONDS} and {MAX_DURATION_SECONDS} seconds, got {seconds}"
        )))
    }
}

/// `AssumeRole` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AssumeRole {
    /// `RoleArn`, e.g. `acs:ram::123456789012:role/deployer`.
    pub role_arn: String,
    /// `RoleSessionName`.
    pub role_session_name: String,
    /// `DurationSeconds` (900..=43200).
    pub duration_seconds: u64,
    /// `Policy`: narrows the role's permissions.
    pub policy: Option<String>,
    /// `ExternalId`.
    pub external_id: Option<String>,
}

impl AssumeRole {
    fn params(&self) -> Vec<(String, String)> {
        let mut p = vec![
            ("RoleArn".to_string(), self.role_arn.clone()),
            (
                "RoleSessionName".to_string(),
                self.role_session_name.clone(),
            ),
            (
                "DurationSeconds".to_string(),
                self.duration_seconds.to_string(),
            ),
        ];
        if let Some(policy) = &self.policy {
            p.push(("Policy".into(), policy.clone()));
        }
        if let Some(id) = &self.external_id {
            p.push(("ExternalId".into(), id.clone()));
        }
        p
    }
}

/// `AssumeRoleWithOIDC` parameters.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AssumeRoleWithOidc {
    /// `RoleArn`.
    pub role_arn: String,
    /// `OIDCProviderArn`.
    pub oidc_provider_arn: String,
    /// `OIDCToken` (a secret: never shown).
    pub oidc_token: String,
    /// `RoleSessionName`.
    pub role_session_name: String,
    /// `DurationSeconds`; STS's default (3600) when unset.
    pub duration_seconds: Option<u64>,
    /// `Policy`.
    pub policy: Option<String>,
}

impl fmt::Debug for AssumeRoleWithOidc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumeRoleWithOidc")
            .field("role_arn", &self.role_arn)
            .field("oidc_provider_arn", &self.oidc_provider_arn)
            .field("oidc_token", &Redact::from(&self.oidc_token))
            .field("role_session_name", &self.role_session_name)
            .field("duration_seconds", &self.duration_seconds)
            .field("policy", &self.policy)
            .finish()
    }
}

impl AssumeRoleWithOidc {
    fn params(&self) -> Vec<(String, String)> {
        let mut p = vec![
            ("RoleArn".to_string(), self.role_arn.clone()),
            (
                "OIDCProviderArn".to_string(),
                self.oidc_provider_arn.clone(),
            ),
            ("OIDCToken".to_string(), self.oidc_token.clone()),
            (
                "RoleSessionName".to_string(),
                self.role_session_name.clone(),
            ),
        ];
        if let Some(d) = self.duration_seconds {
            p.push(("DurationSeconds".into(), d.to_string()));
        }
        if let Some(policy) = &self.policy {
            p.push(("Policy".into(), policy.clone()));
        }
        p
    }
}

/// Where STS calls go: an explicit endpoint, else `sts[-vpc].<region>.aliyuncs.com` for a region (a
/// profile's `sts_region`, else `ALIBABA_CLOUD_STS_REGION`), else the central `sts.aliyuncs.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StsEndpoints {
    /// `endpoints.sts`, `ALICLOUD_ENDPOINT_STS` or `ALIBABA_CLOUD_ENDPOINT_STS`.
    pub explicit: Option<Endpoint>,
    /// `ALIBABA_CLOUD_STS_REGION`.
    pub region: Option<String>,
    /// `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`: the VPC endpoint of the region.
    pub vpc: bool,
    /// The scheme of the endpoints built here.
    pub protocol: Protocol,
}

impl Default for StsEndpoints {
    fn default() -> Self {
        StsEndpoints {
            explicit: None,
            region: None,
            vpc: false,
            protocol: Protocol::Https,
        }
    }
}

impl StsEndpoints {
    /// From an explicit endpoint (already resolved from config and environment) and the environment's
    /// `ALIBABA_CLOUD_STS_REGION` and `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED`.
    pub(crate) fn from_env(
        explicit: Option<Endpoint>,
        env: &dyn Environment,
        protocol: Protocol,
    ) -> StsEndpoints {
        StsEndpoints {
            explicit,
            region: env.var("ALIBABA_CLOUD_STS_REGION"),
            vpc: env
                .var("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            protocol,
        }
    }

    /// The endpoint when nothing more specific is known.
    pub(crate) fn endpoint(&self) -> Result<Endpoint, Error> {
        self.for_region(None)
    }

    /// The endpoint for a source that names its own STS region (a CLI profile's `sts_region`); the explicit
    /// endpoint still wins.
    pub(crate) fn for_region(&self, region: Option<&str>) -> Result<Endpoint, Error> {
        if let Some(e) = &self.explicit {
            return Ok(e.clone());
        }
        let host = match region.or(self.region.as_deref()) {
            Some(region) => {
                let prefix = if self.vpc { "sts-vpc" } else { "sts" };
                format!("{prefix}.{region}.aliyuncs.com")
            }
            None => "sts.aliyuncs.com".to_string(),
        };
        Endpoint::parse_with(&host, self.protocol)
    }
}

/// The `Credentials` of an STS answer.
fn credentials(answer: Value, action: &str, source: String) -> Result<Credentials, Error> {
    let nested = answer.get("Credentials").cloned().unwrap_or(Value::Null);
    let parsed: TemporaryAnswer = serde_json::from_value(nested)
        .map_err(|e| Error::InvalidResponse(format!("{action}: {e}")))?;
    parsed
        .credentials(&source, "Credentials.")
        .map_err(|why| Error::InvalidResponse(format!("{action}: {why}")))
}

/// One STS call that hands out credentials (named `source`), retried by the policy: another try only hands
/// out another set.
async fn issue(
    transport: &Transport,
    endpoint: &Endpoint,
    ctx: &CallContext,
    action: &str,
    params: &[(String, String)],
    auth: Auth<'_>,
    source: String,
) -> Result<Credentials, Error> {
    let request = Request {
        endpoint,
        service: Service::Sts,
        action,
        params,
    };
    let answer = retry::call(transport, &request, auth, Idempotency::Safe, ctx).await?;
    credentials(answer, action, source)
}

/// `AssumeRole`, signed with `signer`.
pub(crate) async fn assume_role(
    transport: &Transport,
    endpoint: &Endpoint,
    ctx: &CallContext,
    signer: &Credentials,
    request: &AssumeRole,
) -> Result<Credentials, Error> {
    let source = format!("role {} assumed with {}", request.role_arn, signer.source);
    let params = request.params();
    let auth = Auth::Signed(signer);
    issue(
        transport,
        endpoint,
        ctx,
        "AssumeRole",
        &params,
        auth,
        source,
    )
    .await
}

/// `AssumeRoleWithOIDC`, anonymous.
pub(crate) async fn assume_role_with_oidc(
    transport: &Transport,
    endpoint: &Endpoint,
    ctx: &CallContext,
    request: &AssumeRoleWithOidc,
) -> Result<Credentials, Error> {
    let source = format!(
        "role {} assumed with an OIDC token from {}",
        request.role_arn, request.oidc_provider_arn
    );
    let params = request.params();
    let action = "AssumeRoleWithOIDC";
    issue(
        transport,
        endpoint,
        ctx,
        action,
        &params,
        Auth::Anonymous,
        source,
    )
    .await
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::credentials::testing::{
        ManualClock, Reply, Server, call_context, sts_answer, transport,
    };
    use crate::environment::MapEnvironment;
    use crate::sign;
    use crate::transport::SignatureVersion;

    fn role() -> AssumeRole {
        AssumeRole {
            role_arn: "acs:ram::123:role/deployer".into(),
            role_session_name: "s1".into(),
            duration_seconds: 900,
            policy: Some(r#"{"Version":"1"}"#.into()),
            external_id: Some("ext-1".into()),
        }
    }

    fn oidc() -> AssumeRoleWithOidc {
        AssumeRoleWithOidc {
            role_arn: "acs:ram::123:role/ci".into(),
            oidc_provider_arn: "acs:ram::123:oidc-provider/gh".into(),
            oidc_token: "eyJ.secret.token".into(),
            role_session_name: "ci".into(),
            duration_seconds: None,
            policy: None,
        }
    }

    async fn sts_server() -> Server {
        let expires = ManualClock::new().now() + TimeDelta::minutes(15);
        Server::start(move |_| Reply::json(200, sts_answer("STS.NEW", expires))).await
    }

    #[tokio::test]
    async fn assume_role_is_signed_and_parsed_v3() {
        let server = sts_server().await;
        let signer = Credentials::new("AKBASE", "base-secret", None, "config");
        let got = assume_role(
            &transport(SignatureVersion::V3),
            &server.endpoint(),
            &call_context(),
            &signer,
            &role(),
        )
        .await
        .unwrap();
        assert_eq!(got.access_key_id, "STS.NEW");
        assert_eq!(got.security_token.as_deref(), Some("token-of-STS.NEW"));
        assert_eq!(
            got.expiration.unwrap().to_rfc3339(),
            "2026-01-01T00:15:00+00:00"
        );
        assert!(got.source.contains("acs:ram::123:role/deployer") && got.source.contains("config"));
        let req = &server.requests()[0];
        assert_eq!((req.method.as_str(), req.path()), ("POST", "/"));
        assert_eq!(req.header("x-acs-action"), Some("AssumeRole"));
        assert_eq!(req.header("x-acs-version"), Some("2015-04-01"));
        let auth = req.header("authorization").unwrap_or_default();
        assert!(
            auth.starts_with("ACS3-HMAC-SHA256 Credential=AKBASE,"),
            "{auth}"
        );
        // Parameters travel in the signed form body, not the URL.
        assert!(!req.target.contains('?'), "{}", req.target);
        assert_eq!(
            req.header("x-acs-content-sha256"),
            Some(sign::sha256_hex(req.body.as_bytes()).as_str())
        );
        for (k, v) in [
            ("RoleArn", "acs:ram::123:role/deployer"),
            ("RoleSessionName", "s1"),
            ("DurationSeconds", "900"),
            ("Policy", r#"{"Version":"1"}"#),
            ("ExternalId", "ext-1"),
        ] {
            assert_eq!(req.param(k).as_deref(), Some(v), "{k}");
        }
    }

    #[tokio::test]
    async fn assume_role_is_signed_v1_with_the_token_of_the_signer() {
        let server = sts_server().await;
        let signer = Credentials::new("STS.BASE", "base-secret", Some("base-token".into()), "ecs");
        assume_role(
            &transport(SignatureVersion::V1),
            &server.endpoint(),
            &call_context(),
            &signer,
            &role(),
        )
        .await
        .unwrap();
        let req = &server.requests()[0];
        assert_eq!(req.param("Action").as_deref(), Some("AssumeRole"));
        assert_eq!(req.param("AccessKeyId").as_deref(), Some("STS.BASE"));
        assert_eq!(req.param("SecurityToken").as_deref(), Some("base-token"));
        let params = req.params();
        let expected = sign::v1_signature("base-secret", &sign::v1_string_to_sign("POST", &params));
        assert_eq!(req.param("Signature"), Some(expected));
    }

    #[tokio::test]
    async fn assume_role_with_oidc_is_anonymous() {
        for signature in [SignatureVersion::V3, SignatureVersion::V1] {
            let server = sts_server().await;
            let got = assume_role_with_oidc(
                &transport(signature),
                &server.endpoint(),
                &call_context(),
                &oidc(),
            )
            .await
            .unwrap();
            assert_eq!(got.access_key_id, "STS.NEW");
            let req = &server.requests()[0];
            assert_eq!(req.action().as_deref(), Some("AssumeRoleWithOIDC"));
            assert_eq!(req.param("OIDCToken").as_deref(), Some("eyJ.secret.token"));
            assert_eq!(
                req.param("OIDCProviderArn").as_deref(),
                Some("acs:ram::123:oidc-provider/gh")
            );
            assert_eq!(req.param("DurationSeconds"), None);
            assert!(req.header("authorization").is_none(), "{signature:?}");
            for absent in ["AccessKeyId", "Signature", "SecurityToken"] {
                assert!(req.param(absent).is_none(), "{signature:?} sent {absent}");
            }
            assert!(!req.target.contains("OIDCToken"), "the token is in the URL");
        }
    }

    #[tokio::test]
    async fn sts_errors_and_malformed_answers() {
        let server = Server::start(|r| match r.param("RoleSessionName").as_deref() {
            Some("denied") => Reply::json(
                403,
                r#"{"Code":"NoPermission","Message":"You are not authorized to do this action.","RequestId":"R-9"}"#,
            ),
            _ => Reply::json(200, r#"{"RequestId":"R-1","Credentials":{"AccessKeyId":"X"}}"#),
        })
        .await;
        let signer = Credentials::new("AK", "S", None, "config");
        let mut req = role();
        req.role_session_name = "denied".into();
        let t = transport(SignatureVersion::V3);
        let err = assume_role(&t, &server.endpoint(), &call_context(), &signer, &req)
            .await
            .unwrap_err();
        assert!(err.has_code(&["NoPermission"]), "{err}");
        let err = assume_role(&t, &server.endpoint(), &call_context(), &signer, &role())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("Credentials.AccessKeySecret"),
            "{err}"
        );
    }

    #[test]
    fn oidc_debug_redacts_the_token() {
        let shown = format!("{:?}", oidc());
        assert!(!shown.contains("secret.token"), "{shown}");
    }

    #[test]
    fn endpoints_explicit_then_region_then_central() {
        let env = MapEnvironment::with_vars(&[]);
        let central = StsEndpoints::from_env(None, &env, Protocol::Https);
        assert_eq!(
            central.endpoint().unwrap().to_string(),
            "https://sts.aliyuncs.com"
        );
        assert_eq!(
            central.for_region(Some("cn-beijing")).unwrap().to_string(),
            "https://sts.cn-beijing.aliyuncs.com"
        );
        let env = MapEnvironment::with_vars(&[
            ("ALIBABA_CLOUD_STS_REGION", "cn-shanghai"),
            ("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED", "true"),
        ]);
        let regional = StsEndpoints::from_env(None, &env, Protocol::Https);
        assert_eq!(
            regional.endpoint().unwrap().to_string(),
            "https://sts-vpc.cn-shanghai.aliyuncs.com"
        );
        let explicit = StsEndpoints::from_env(
            Some(Endpoint::parse("http://127.0.0.1:9").unwrap()),
            &env,
            Protocol::Https,
        );
        assert_eq!(
            explicit.for_region(Some("cn-beijing")).unwrap().to_string(),
            "http://127.0.0.1:9"
        );
    }

    #[test]
    fn durations_and_session_names() {
        assert!(check_duration(899, "d").is_err());
        assert!(check_duration(43201, "d").is_err());
        assert_eq!(check_duration(900, "d").unwrap(), 900);
        let name = default_session_name(ManualClock::new().now());
        assert_eq!(name, "alicloud-openapi-1767225600000000");
    }
}
