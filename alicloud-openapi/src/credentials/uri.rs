//! Credentials served over HTTP: `GET <uri>` answers JSON with `Code: "Success"` (when present),
//! `AccessKeyId`, `AccessKeySecret`, `SecurityToken` and `Expiration` (credentials-go's `uri.go`). From the
//! caller's `credentials_uri`, `ALIBABA_CLOUD_CREDENTIALS_URI`, or a CLI profile in `CredentialsURI` mode.

use std::sync::Arc;
use std::time::Duration;

use super::{
    BoxFuture, Credentials, FetchContext, LoadContext, Loaded, Loader, ProvideCredentials,
    TemporaryAnswer, cached, configured,
};
use crate::environment::{Setting, SettingNames};
use crate::error::Error;
use crate::transport::LazyHttp;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const VARIABLE: &str = "ALIBABA_CLOUD_CREDENTIALS_URI";

/// Fetches credentials from a URL.
pub(crate) struct UriProvider {
    url: reqwest::Url,
    http: LazyHttp,
}

impl UriProvider {
    /// A provider for `uri` (an `http` or `https` URL), named `what` in messages.
    pub(crate) fn new(uri: &str, what: &str) -> Result<UriProvider, Error> {
        let url = reqwest::Url::parse(uri.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                Error::Credentials(format!("{what}: not an http(s) URL: {}", shown(uri)))
            })?;
        let http = LazyHttp::new(|| {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
        });
        Ok(UriProvider { url, http })
    }

    async fn fetch(&self) -> Result<Credentials, String> {
        let response = self
            .http
            .get()
            .map_err(|e| e.to_string())?
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let answer: Option<TemporaryAnswer> = serde_json::from_str(&body).ok();
        if !status.is_success() {
            let detail = answer
                .map(|a| {
                    format!(
                        "{}: {}",
                        a.code.unwrap_or_default(),
                        a.message.unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            return Err(format!("HTTP {} {detail}", status.as_u16()));
        }
        let answer = answer.ok_or("the answer is not the expected JSON")?;
        if let Some(code) = answer.code.as_deref().filter(|c| *c != "Success") {
            return Err(format!(
                "Code is {code:?}, not \"Success\": {}",
                answer.message.unwrap_or_default()
            ));
        }
        answer.credentials(&self.describe(), "")
    }
}

/// A URL without its query and fragment, which may carry tokens.
fn shown(uri: &str) -> String {
    match reqwest::Url::parse(uri.trim()) {
        Ok(mut u) => {
            let hidden = u.query().is_some();
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_password(None);
            if hidden {
                format!("{u}?…")
            } else {
                u.to_string()
            }
        }
        Err(_) => "(unparsable)".into(),
    }
}

impl ProvideCredentials for UriProvider {
    fn describe(&self) -> String {
        format!("credentials URI {}", shown(self.url.as_str()))
    }

    fn provide<'a>(
        &'a self,
        _cx: &'a FetchContext<'a>,
    ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
        Box::pin(async move {
            self.fetch()
                .await
                .map(Some)
                .map_err(|why| Error::Credentials(format!("{}: {why}", self.describe())))
        })
    }
}

/// A cached provider for `uri`.
pub(crate) fn uri_provider(
    uri: &str,
    what: &str,
    cx: &LoadContext<'_>,
) -> Result<Arc<dyn ProvideCredentials>, Error> {
    Ok(cached(UriProvider::new(uri, what)?, cx.clock))
}

/// The caller's `credentials_uri`, or `ALIBABA_CLOUD_CREDENTIALS_URI`.
#[derive(Clone)]
pub(crate) enum UriLoader {
    /// `credentials_uri` (unset: nothing here).
    Config(Option<String>),
    /// `ALIBABA_CLOUD_CREDENTIALS_URI`.
    Environment,
}

impl std::fmt::Debug for UriLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UriLoader::Config(uri) => write!(f, "Config({:?})", uri.as_deref().map(shown)),
            UriLoader::Environment => f.write_str("Environment"),
        }
    }
}

impl Loader for UriLoader {
    fn describe(&self, names: SettingNames) -> String {
        match self {
            UriLoader::Config(_) => configured(names, &[Setting::CredentialsUri]),
            UriLoader::Environment => format!("credentials URI from the environment ({VARIABLE})"),
        }
    }

    fn load(&self, cx: &LoadContext<'_>) -> Result<Loaded, Error> {
        let (uri, what) = match self {
            UriLoader::Config(uri) => (uri.clone(), (cx.names)(Setting::CredentialsUri)),
            UriLoader::Environment => (cx.env.var(VARIABLE), VARIABLE.to_string()),
        };
        match uri.filter(|u| !u.trim().is_empty()) {
            None => Ok(Loaded::Absent("not set".into())),
            Some(uri) => Ok(Loaded::Found(uri_provider(&uri, &what, cx)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::testing::{Reply, Server, absent, found, load, provide, transport};
    use crate::{MapEnvironment, SignatureVersion};

    #[tokio::test]
    async fn fetches_and_parses() {
        let server = Server::start(|r| {
            assert_eq!(r.method, "GET");
            Reply::json(
                200,
                r#"{"Code":"Success","AccessKeyId":"STS.URI","AccessKeySecret":"uri-secret","SecurityToken":"uri-token","Expiration":"2026-01-01T01:00:00Z"}"#,
            )
        })
        .await;
        let uri = format!("{}/creds?token=shh", server.url);
        let env = MapEnvironment::with_vars(&[(VARIABLE, &uri)]);
        let p = found(load(&UriLoader::Environment, &env).unwrap());
        assert!(!p.describe().contains("shh"), "{}", p.describe());
        let c = provide(p.as_ref(), &transport(SignatureVersion::V3))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.access_key_id, "STS.URI");
        assert_eq!(
            c.expiration.unwrap().to_rfc3339(),
            "2026-01-01T01:00:00+00:00"
        );
        assert_eq!(server.requests()[0].target, "/creds?token=shh");
    }

    #[tokio::test]
    async fn failures_name_the_uri_but_not_its_query() {
        let server = Server::start(|r| match r.path() {
            "/denied" => Reply::json(403, r#"{"Code":"Forbidden","Message":"no"}"#),
            "/failed" => Reply::json(200, r#"{"Code":"Failed","Message":"role gone"}"#),
            _ => Reply::json(200, r#"{"AccessKeyId":"X"}"#),
        })
        .await;
        let t = transport(SignatureVersion::V3);
        for (path, expected) in [
            ("/denied", "HTTP 403 Forbidden: no"),
            ("/failed", "role gone"),
            ("/partial", "lacks AccessKeyId"),
        ] {
            let uri = format!("{}{path}?secret=1", server.url);
            let p = found(load(&UriLoader::Config(Some(uri)), &MapEnvironment::default()).unwrap());
            let err = provide(p.as_ref(), &t).await.unwrap_err().to_string();
            assert!(err.contains(expected) && err.contains(path), "{err}");
            assert!(!err.contains("secret=1"), "{err}");
        }
    }

    #[test]
    fn missing_and_invalid() {
        let env = MapEnvironment::default();
        assert_eq!(
            absent(load(&UriLoader::Environment, &env).unwrap()),
            "not set"
        );
        assert_eq!(
            absent(load(&UriLoader::Config(None), &env).unwrap()),
            "not set"
        );
        let err = load(&UriLoader::Config(Some("ftp://x/creds".into())), &env).unwrap_err();
        assert!(
            err.to_string()
                .contains("credentials_uri: not an http(s) URL"),
            "{err}"
        );
    }
}
