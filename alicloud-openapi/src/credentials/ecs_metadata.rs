//! The RAM role of the ECS instance this runs on, from the instance metadata service (as credentials-go's
//! `ecs_ram_role.go`): an IMDSv2 token first (`PUT /latest/api/token`), falling back to v1 unless
//! `ALIBABA_CLOUD_IMDSV1_DISABLED=true`; the role name as configured, from `ALIBABA_CLOUD_ECS_METADATA`, or
//! listed by the service; then `GET /latest/meta-data/ram/security-credentials/<role>`.
//!
//! 1-second connect and read timeouts, so that a machine off ECS is not slowed down. Asked for by role name,
//! a failure is an error; as the chain's last resort, a service that cannot be reached, or an instance with
//! no role, means "no credentials here".

use std::sync::Arc;
use std::time::Duration;

use super::{
    BoxFuture, Credentials, FetchContext, LoadContext, Loaded, Loader, ProvideCredentials,
    TemporaryAnswer, cached, configured, is_true,
};
use crate::endpoints::{Endpoint, Protocol};
use crate::environment::{Environment, Setting, SettingNames};
use crate::error::Error;
use crate::transport::LazyHttp;

/// The metadata service's address.
pub(crate) const DEFAULT_ENDPOINT: &str = "http://100.100.100.200";
const TOKEN_PATH: &str = "/latest/api/token";
const ROLES_PATH: &str = "/latest/meta-data/ram/security-credentials/";
const TOKEN_TTL_SECONDS: &str = "21600";
const TIMEOUT: Duration = Duration::from_secs(1);
const DISABLED: &str = "ALIBABA_CLOUD_ECS_METADATA_DISABLED";
const IMDSV1_DISABLED: &str = "ALIBABA_CLOUD_IMDSV1_DISABLED";
const ROLE_NAME: &str = "ALIBABA_CLOUD_ECS_METADATA";
const ENDPOINT: &str = "ALIBABA_CLOUD_ECS_METADATA_ENDPOINT";

/// Credentials of an instance RAM role.
pub(crate) struct EcsMetadataProvider {
    endpoint: Endpoint,
    role_name: Option<String>,
    imdsv1_disabled: bool,
    /// Whether an unreachable service (or an instance without a role) means "none here" instead of an error.
    probe: bool,
    http: LazyHttp,
}

/// Why a step failed: the service was not there, or it answered wrongly.
enum Failure {
    Unreachable(String),
    Broken(String),
}

impl EcsMetadataProvider {
    /// A provider for `role_name` (listed by the service when `None`), at `ALIBABA_CLOUD_ECS_METADATA_ENDPOINT`
    /// or the default address. With `probe`, an unreachable service means "no credentials here".
    pub fn new(
        env: &dyn Environment,
        role_name: Option<String>,
        probe: bool,
    ) -> Result<EcsMetadataProvider, Error> {
        let endpoint = Endpoint::parse_with(
            &env.var(ENDPOINT).unwrap_or_else(|| DEFAULT_ENDPOINT.into()),
            Protocol::Http,
        )?;
        let http = LazyHttp::new(|| {
            reqwest::Client::builder()
                .no_proxy()
                .connect_timeout(TIMEOUT)
                .read_timeout(TIMEOUT)
        });
        Ok(EcsMetadataProvider {
            endpoint,
            role_name: role_name.filter(|r| !r.is_empty()),
            imdsv1_disabled: is_true(env, IMDSV1_DISABLED),
            probe,
            http,
        })
    }

    fn http(&self) -> Result<&reqwest::Client, Failure> {
        self.http.get().map_err(|e| Failure::Broken(e.to_string()))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<(u16, String), Failure> {
        let response = request.send().await.map_err(|e| {
            let e = e.without_url();
            if e.is_connect() || e.is_timeout() {
                Failure::Unreachable(format!("{what}: {e}"))
            } else {
                Failure::Broken(format!("{what}: {e}"))
            }
        })?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| Failure::Broken(format!("{what}: {}", e.without_url())))?;
        Ok((status, body))
    }

    /// The IMDSv2 session token; `None` to go on without one (v1).
    async fn token(&self) -> Result<Option<String>, Failure> {
        let request = self
            .http()?
            .put(self.url(TOKEN_PATH))
            .header("X-aliyun-ecs-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS);
        match self.send(request, "getting a metadata token").await {
            Ok((200, token)) => Ok(Some(token.trim().to_string())),
            Ok((status, _)) if self.imdsv1_disabled => Err(Failure::Broken(format!(
                "getting a metadata token: HTTP {status}, and {IMDSV1_DISABLED}=true forbids going on without one"
            ))),
            Ok(_) => Ok(None),
            // Without an answer to the token request, the other requests would go unanswered too.
            Err(Failure::Unreachable(why)) if self.probe => Err(Failure::Unreachable(why)),
            Err(Failure::Unreachable(why) | Failure::Broken(why)) if self.imdsv1_disabled => {
                Err(Failure::Broken(why))
            }
            Err(_) => Ok(None),
        }
    }

    async fn get(
        &self,
        path: &str,
        token: Option<&str>,
        what: &str,
    ) -> Result<(u16, String), Failure> {
        let mut request = self.http()?.get(self.url(path));
        if let Some(token) = token {
            request = request.header("x-aliyun-ecs-metadata-token", token);
        }
        self.send(request, what).await
    }

    async fn fetch(&self) -> Result<Credentials, Failure> {
        let token = self.token().await?;
        let role = match &self.role_name {
            Some(role) => role.clone(),
            None => match self
                .get(
                    ROLES_PATH,
                    token.as_deref(),
                    "listing the instance's RAM role",
                )
                .await?
            {
                (200, body) => body
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        Failure::Unreachable("the instance has no RAM role attached".into())
                    })?,
                (404, _) => {
                    return Err(Failure::Unreachable(
                        "the instance has no RAM role attached".into(),
                    ));
                }
                (status, body) => {
                    return Err(Failure::Broken(format!(
                        "listing the instance's RAM role: HTTP {status}: {}",
                        excerpt(&body)
                    )));
                }
            },
        };
        let what = format!("getting the credentials of RAM role {role:?}");
        let (status, body) = self
            .get(&format!("{ROLES_PATH}{role}"), token.as_deref(), &what)
            .await?;
        if status != 200 {
            // An error answer carries no credentials, so it can be shown.
            return Err(Failure::Broken(format!(
                "{what}: HTTP {status}: {}",
                excerpt(&body)
            )));
        }
        let answer: TemporaryAnswer = serde_json::from_str(&body).map_err(|e| {
            Failure::Broken(format!("{what}: the answer is not the expected JSON ({e})"))
        })?;
        if answer.code.as_deref() != Some("Success") {
            return Err(Failure::Broken(format!(
                "{what}: Code is {:?}, not \"Success\"",
                answer.code.unwrap_or_default()
            )));
        }
        let source = format!("ECS instance RAM role {role:?}");
        answer.credentials(&source, "").map_err(|why| {
            Failure::Broken(if why.starts_with("the answer") {
                format!("{what}: {why}")
            } else {
                why
            })
        })
    }
}

fn excerpt(body: &str) -> String {
    body.chars().take(200).collect()
}

impl ProvideCredentials for EcsMetadataProvider {
    fn describe(&self) -> String {
        match &self.role_name {
            Some(role) => format!(
                "ECS instance RAM role {role:?} from the metadata service at {}",
                self.endpoint
            ),
            None => format!(
                "ECS instance RAM role from the metadata service at {}",
                self.endpoint
            ),
        }
    }

    fn provide<'a>(
        &'a self,
        _cx: &'a FetchContext<'a>,
    ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
        Box::pin(async move {
            match self.fetch().await {
                Ok(c) => Ok(Some(c)),
                Err(Failure::Unreachable(why)) if self.probe => {
                    tracing::debug!(source = %self.describe(), reason = %why, "no credentials from the metadata service");
                    Ok(None)
                }
                Err(Failure::Unreachable(why) | Failure::Broken(why)) => {
                    Err(Error::Credentials(format!("{}: {why}", self.describe())))
                }
            }
        })
    }
}

/// Whether this looks like an ECS instance, from its DMI vendor and product (`Alibaba Cloud`, `Alibaba Cloud
/// ECS`). `None` where that cannot be read (not Linux).
fn looks_like_ecs(env: &dyn Environment) -> Option<bool> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    Some(
        [
            "/sys/class/dmi/id/product_name",
            "/sys/class/dmi/id/sys_vendor",
        ]
        .iter()
        .any(|path| {
            env.read_file(std::path::Path::new(path))
                .ok()
                .flatten()
                .is_some_and(|text| text.contains("Alibaba Cloud"))
        }),
    )
}

/// The metadata service: by the caller's `ecs_role_name`, or as the chain's last resort.
#[derive(Debug, Clone)]
pub(crate) enum EcsMetadataLoader {
    /// `ecs_role_name` (unset: nothing here). Failures are errors.
    Config(Option<String>),
    /// The role named by `ALIBABA_CLOUD_ECS_METADATA` (failures are errors), else a probe of the service
    /// when this looks like an ECS instance or `ALIBABA_CLOUD_ECS_METADATA_ENDPOINT` names the service.
    Default,
}

impl Loader for EcsMetadataLoader {
    fn describe(&self, names: SettingNames) -> String {
        match self {
            EcsMetadataLoader::Config(_) => configured(names, &[Setting::EcsRoleName]),
            EcsMetadataLoader::Default => format!(
                "ECS instance RAM role from the metadata service ({ROLE_NAME}, {ENDPOINT}, {DISABLED})"
            ),
        }
    }

    fn load(&self, cx: &LoadContext<'_>) -> Result<Loaded, Error> {
        let disabled = is_true(cx.env, DISABLED);
        match self {
            EcsMetadataLoader::Config(None) => Ok(Loaded::Absent("not set".into())),
            EcsMetadataLoader::Config(Some(role)) => {
                if disabled {
                    return Err(Error::Credentials(format!(
                        "{} is {role:?} but {DISABLED}=true disables the metadata service",
                        (cx.names)(Setting::EcsRoleName)
                    )));
                }
                Ok(Loaded::Found(role_provider(cx, Some(role.clone()))?))
            }
            EcsMetadataLoader::Default => {
                if disabled {
                    return Ok(Loaded::Absent(format!("disabled by {DISABLED}=true")));
                }
                if let Some(role) = cx.env.var(ROLE_NAME) {
                    return Ok(Loaded::Found(role_provider(cx, Some(role))?));
                }
                if cx.env.var(ENDPOINT).is_none() && looks_like_ecs(cx.env) == Some(false) {
                    return Ok(Loaded::Absent(format!(
                        "not an ECS instance (no \"Alibaba Cloud\" in /sys/class/dmi/id/product_name or sys_vendor); name the role with {ROLE_NAME} or {} to use it anyway",
                        (cx.names)(Setting::EcsRoleName)
                    )));
                }
                Ok(Loaded::Maybe(cached(
                    EcsMetadataProvider::new(cx.env, None, true)?,
                    cx.clock,
                )))
            }
        }
    }
}

/// A cached provider for a role asked for by name (or, with `None`, the instance's one), failing loudly.
pub(crate) fn role_provider(
    cx: &LoadContext<'_>,
    role: Option<String>,
) -> Result<Arc<dyn ProvideCredentials>, Error> {
    let role = role
        .filter(|r| !r.is_empty())
        .or_else(|| cx.env.var(ROLE_NAME));
    Ok(cached(
        EcsMetadataProvider::new(cx.env, role, false)?,
        cx.clock,
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::credentials::testing::{
        Recorded, Reply, Server, absent, found, load, provide, transport,
    };
    use crate::{MapEnvironment, SignatureVersion};

    const CREDENTIALS: &str = r#"{"Code":"Success","AccessKeyId":"STS.ECS","AccessKeySecret":"ecs-secret","SecurityToken":"ecs-token","Expiration":"2026-01-01T06:00:00Z","LastUpdated":"2026-01-01T00:00:00Z"}"#;

    /// A metadata service with role `worker`; `v2` decides whether it hands out tokens.
    async fn service(v2: bool) -> Server {
        Server::start(move |r: &Recorded| match (r.method.as_str(), r.path()) {
            ("PUT", TOKEN_PATH) if v2 => Reply::json(200, "imds-token"),
            ("PUT", TOKEN_PATH) => Reply::json(404, "not found"),
            ("GET", ROLES_PATH) => Reply::json(200, "worker\n"),
            ("GET", "/latest/meta-data/ram/security-credentials/worker") => {
                Reply::json(200, CREDENTIALS)
            }
            _ => Reply::json(404, "not found"),
        })
        .await
    }

    fn env(server: &Server, extra: &[(&str, &str)]) -> MapEnvironment {
        let mut env = MapEnvironment::with_vars(extra);
        env.vars.insert(ENDPOINT.into(), server.url.clone());
        env
    }

    #[tokio::test]
    async fn imdsv2_token_then_role_listing_then_credentials() {
        let server = service(true).await;
        let p = EcsMetadataProvider::new(&env(&server, &[]), None, false).unwrap();
        let c = provide(&p, &transport(SignatureVersion::V3))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.security_token.as_deref()),
            ("STS.ECS", Some("ecs-token"))
        );
        assert_eq!(
            c.expiration.unwrap().to_rfc3339(),
            "2026-01-01T06:00:00+00:00"
        );
        let reqs = server.requests();
        assert_eq!(reqs.len(), 3);
        assert_eq!(
            reqs[0].header("x-aliyun-ecs-metadata-token-ttl-seconds"),
            Some("21600")
        );
        for r in &reqs[1..] {
            assert_eq!(r.header("x-aliyun-ecs-metadata-token"), Some("imds-token"));
        }
        assert!(!format!("{c:?}").contains("ecs-secret"));
    }

    #[tokio::test]
    async fn falls_back_to_v1_unless_disabled() {
        let server = service(false).await;
        let p = EcsMetadataProvider::new(&env(&server, &[]), Some("worker".into()), false).unwrap();
        let t = transport(SignatureVersion::V3);
        assert!(provide(&p, &t).await.unwrap().is_some());
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2, "no listing when the role is named");
        assert!(reqs[1].header("x-aliyun-ecs-metadata-token").is_none());
        let p = EcsMetadataProvider::new(
            &env(&server, &[(IMDSV1_DISABLED, "true")]),
            Some("worker".into()),
            false,
        )
        .unwrap();
        let err = provide(&p, &t).await.unwrap_err().to_string();
        assert!(err.contains(IMDSV1_DISABLED), "{err}");
    }

    // The clock is paused: time moves only when every task waits on a timer, so the waits measured below
    // are the provider's own timeouts, whatever the machine's load.
    #[tokio::test(start_paused = true)]
    async fn unreachable_is_none_for_a_probe_and_an_error_by_name() {
        // A port nobody listens on: bind, note the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let env = MapEnvironment::with_vars(&[(ENDPOINT, &format!("127.0.0.1:{port}"))]);
        let t = transport(SignatureVersion::V3);
        let probe = EcsMetadataProvider::new(&env, None, true).unwrap();
        assert!(
            probe
                .describe()
                .contains(&format!("http://127.0.0.1:{port}"))
        );
        let started = tokio::time::Instant::now();
        assert!(provide(&probe, &t).await.unwrap().is_none());
        assert_eq!(
            tokio::time::Instant::now(),
            started,
            "a refused connection is not retried"
        );
        let named = EcsMetadataProvider::new(&env, Some("worker".into()), false).unwrap();
        let err = provide(&named, &t).await.unwrap_err().to_string();
        assert!(err.contains("RAM role \"worker\""), "{err}");

        // A service that takes the request and never answers costs the probe one read timeout: it stops at
        // the token request instead of trying the others.
        let silent =
            Server::start(|_| Reply::json(200, "t").after(Duration::from_secs(3600))).await;
        let probe = EcsMetadataProvider::new(&super::tests::env(&silent, &[]), None, true).unwrap();
        let started = tokio::time::Instant::now();
        assert!(provide(&probe, &t).await.unwrap().is_none());
        let waited = tokio::time::Instant::now() - started;
        assert!(waited >= TIMEOUT && waited < 2 * TIMEOUT, "{waited:?}");
        assert_eq!(silent.count(), 1);
    }

    #[tokio::test]
    async fn no_role_attached_and_bad_answers() {
        let answer = Arc::new(Mutex::new((404u16, String::new())));
        let a = answer.clone();
        let server = Server::start(move |r: &Recorded| match r.path() {
            ROLES_PATH => Reply::json(404, "Not Found"),
            _ if r.method == "PUT" => Reply::json(200, "t"),
            _ => {
                let (status, body) = a.lock().unwrap().clone();
                Reply::json(status, body)
            }
        })
        .await;
        let t = transport(SignatureVersion::V3);
        let probe = EcsMetadataProvider::new(&env(&server, &[]), None, true).unwrap();
        assert!(provide(&probe, &t).await.unwrap().is_none());
        let strict = EcsMetadataProvider::new(&env(&server, &[]), None, false).unwrap();
        let err = provide(&strict, &t).await.unwrap_err().to_string();
        assert!(err.contains("no RAM role attached"), "{err}");
        let named =
            EcsMetadataProvider::new(&env(&server, &[]), Some("worker".into()), false).unwrap();
        *answer.lock().unwrap() = (200, r#"{"Code":"Failed","AccessKeyId":"X"}"#.into());
        let err = provide(&named, &t).await.unwrap_err().to_string();
        assert!(err.contains("not \"Success\""), "{err}");
        *answer.lock().unwrap() = (200, "not json".into());
        assert!(
            provide(&named, &t)
                .await
                .unwrap_err()
                .to_string()
                .contains("expected JSON")
        );
        *answer.lock().unwrap() = (500, "oops".into());
        assert!(
            provide(&named, &t)
                .await
                .unwrap_err()
                .to_string()
                .contains("HTTP 500")
        );
    }

    #[test]
    fn loader_positions() {
        let plain = MapEnvironment::with_vars(&[]);
        assert_eq!(
            absent(load(&EcsMetadataLoader::Config(None), &plain).unwrap()),
            "not set"
        );
        let p = found(load(&EcsMetadataLoader::Config(Some("deployer".into())), &plain).unwrap());
        assert!(p.describe().contains("\"deployer\""), "{}", p.describe());
        let off = MapEnvironment::with_vars(&[(DISABLED, "TRUE")]);
        assert!(load(&EcsMetadataLoader::Config(Some("r".into())), &off).is_err());
        assert!(absent(load(&EcsMetadataLoader::Default, &off).unwrap()).contains(DISABLED));
        // Off ECS (no Alibaba DMI), the last resort is skipped without asking the network.
        assert!(
            absent(load(&EcsMetadataLoader::Default, &plain).unwrap())
                .contains("not an ECS instance")
        );
        let on_ecs = MapEnvironment::with_vars(&[])
            .file("/sys/class/dmi/id/product_name", "Alibaba Cloud ECS\n");
        assert!(matches!(
            load(&EcsMetadataLoader::Default, &on_ecs).unwrap(),
            Loaded::Maybe(_)
        ));
        let pointed = MapEnvironment::with_vars(&[(ENDPOINT, "http://127.0.0.1:1")]);
        assert!(matches!(
            load(&EcsMetadataLoader::Default, &pointed).unwrap(),
            Loaded::Maybe(_)
        ));
        let by_name = MapEnvironment::with_vars(&[(ROLE_NAME, "worker")]);
        let p = found(load(&EcsMetadataLoader::Default, &by_name).unwrap());
        assert!(p.describe().contains("\"worker\""));
    }
}
