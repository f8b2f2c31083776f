//! A RAM role assumed with STS `AssumeRole`, signed with base credentials from another source (the caller's
//! `assume_role` on top of the chain, a CLI profile's `RamRoleArn` and `ChainableRamRoleArn`, an ini
//! `ram_role_arn`).

use std::sync::Arc;

use super::sts::{self, AssumeRole, DEFAULT_DURATION_SECONDS, check_duration};
use super::{
    BoxFuture, Credentials, FetchContext, LoadContext, ProvideCredentials, cached, with_context,
};
use crate::endpoints::Endpoint;
use crate::error::Error;

/// What a source says about the role to assume; defaults are filled by [`AssumeRoleProvider::build`].
#[derive(Debug, Clone, Default)]
pub(crate) struct RoleSpec {
    pub role_arn: String,
    pub session_name: Option<String>,
    pub duration_seconds: Option<u64>,
    pub policy: Option<String>,
    pub external_id: Option<String>,
    /// A profile's own STS region.
    pub sts_region: Option<String>,
}

/// Assumes a role with the credentials of `base`.
pub(crate) struct AssumeRoleProvider {
    base: Arc<dyn ProvideCredentials>,
    endpoint: Endpoint,
    request: AssumeRole,
}

impl AssumeRoleProvider {
    /// A provider for `request` at `endpoint`, signed with what `base` provides.
    pub(crate) fn new(
        base: Arc<dyn ProvideCredentials>,
        endpoint: Endpoint,
        request: AssumeRole,
    ) -> AssumeRoleProvider {
        AssumeRoleProvider {
            base,
            endpoint,
            request,
        }
    }

    /// Checks `spec` (named `what` in messages) and builds a cached provider: the session name defaults to
    /// `ALIBABA_CLOUD_ROLE_SESSION_NAME`, else `alicloud-openapi-<unix micros>`; the duration to 3600 s.
    pub(crate) fn build(
        base: Arc<dyn ProvideCredentials>,
        spec: RoleSpec,
        what: &str,
        cx: &LoadContext<'_>,
    ) -> Result<Arc<dyn ProvideCredentials>, Error> {
        if spec.role_arn.trim().is_empty() {
            return Err(Error::Credentials(format!("{what}: the role ARN is empty")));
        }
        let duration_seconds = check_duration(
            spec.duration_seconds
                .filter(|d| *d > 0)
                .unwrap_or(DEFAULT_DURATION_SECONDS),
            &format!("{what}: the session duration"),
        )?;
        let role_session_name = spec
            .session_name
            .filter(|s| !s.is_empty())
            .or_else(|| cx.env.var("ALIBABA_CLOUD_ROLE_SESSION_NAME"))
            .unwrap_or_else(|| sts::default_session_name(cx.clock.now()));
        let endpoint = cx.sts.for_region(spec.sts_region.as_deref())?;
        let request = AssumeRole {
            role_arn: spec.role_arn,
            role_session_name,
            duration_seconds,
            policy: spec.policy.filter(|p| !p.is_empty()),
            external_id: spec.external_id.filter(|p| !p.is_empty()),
        };
        Ok(cached(
            AssumeRoleProvider::new(base, endpoint, request),
            cx.clock,
        ))
    }
}

impl ProvideCredentials for AssumeRoleProvider {
    fn describe(&self) -> String {
        format!(
            "role {} (STS AssumeRole at {}) with {}",
            self.request.role_arn,
            self.endpoint,
            self.base.describe()
        )
    }

    fn provide<'a>(
        &'a self,
        cx: &'a FetchContext<'a>,
    ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
        Box::pin(async move {
            let Some(base) = self.base.provide(cx).await? else {
                return Err(Error::Credentials(format!(
                    "cannot assume role {}: no base credentials from {}",
                    self.request.role_arn,
                    self.base.describe()
                )));
            };
            sts::assume_role(
                cx.transport(),
                &self.endpoint,
                cx.call(),
                &base,
                &self.request,
            )
            .await
            .map(Some)
            .map_err(|e| {
                with_context(
                    e,
                    &format!(
                        "assuming role {} at {}",
                        self.request.role_arn, self.endpoint
                    ),
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::credentials::sts::StsEndpoints;
    use crate::credentials::testing::{ManualClock, Reply, Server, provide, sts_answer, transport};
    use crate::{MapEnvironment, SignatureVersion};

    #[tokio::test]
    async fn assumes_the_role_with_the_base_credentials() {
        let expires = ManualClock::new().now() + TimeDelta::minutes(60);
        let server =
            Server::start(move |_| Reply::json(200, sts_answer("STS.ROLE", expires))).await;
        let env = MapEnvironment::with_vars(&[("ALIBABA_CLOUD_ROLE_SESSION_NAME", "from-env")]);
        let sts = StsEndpoints {
            explicit: Some(server.endpoint()),
            ..Default::default()
        };
        let clock = ManualClock::new().clock();
        let cx = LoadContext {
            env: &env,
            sts: &sts,
            clock: &clock,
            names: crate::environment::field_names,
        };
        let base: Arc<dyn ProvideCredentials> =
            Arc::new(Credentials::new("AKBASE", "S", None, "configuration"));
        let spec = RoleSpec {
            role_arn: "acs:ram::1:role/r".into(),
            ..Default::default()
        };
        let p = AssumeRoleProvider::build(base, spec, "assume_role", &cx).unwrap();
        assert!(p.describe().contains("configuration"), "{}", p.describe());
        let got = provide(p.as_ref(), &transport(SignatureVersion::V3))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.access_key_id, "STS.ROLE");
        let req = &server.requests()[0];
        assert_eq!(req.param("RoleSessionName").as_deref(), Some("from-env"));
        assert_eq!(req.param("DurationSeconds").as_deref(), Some("3600"));
        assert!(
            req.header("authorization")
                .unwrap_or_default()
                .contains("Credential=AKBASE,")
        );
    }

    #[test]
    fn checks_the_role_and_duration_at_configure() {
        let env = MapEnvironment::with_vars(&[]);
        let sts = StsEndpoints::default();
        let clock = ManualClock::new().clock();
        let cx = LoadContext {
            env: &env,
            sts: &sts,
            clock: &clock,
            names: crate::environment::field_names,
        };
        let base: Arc<dyn ProvideCredentials> = Arc::new(Credentials::new("A", "S", None, "x"));
        let err = AssumeRoleProvider::build(base.clone(), RoleSpec::default(), "assume_role", &cx)
            .err()
            .unwrap();
        assert!(err.to_string().contains("role ARN is empty"), "{err}");
        let spec = RoleSpec {
            role_arn: "acs:ram::1:role/r".into(),
            duration_seconds: Some(600),
            ..Default::default()
        };
        let err = AssumeRoleProvider::build(base, spec, "assume_role", &cx)
            .err()
            .unwrap();
        assert!(err.to_string().contains("between 900 and 43200"), "{err}");
    }
}
