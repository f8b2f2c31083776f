//! Service endpoints: an explicit override, else Alibaba's documented regional endpoint.

use std::fmt;

use crate::error::Error;

/// An Alibaba Cloud product this client calls.
///
/// ```
/// use alicloud_openapi::Service;
///
/// assert_eq!((Service::Ecs.product(), Service::Ecs.version()), ("ecs", "2014-05-26"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Elastic Compute Service, API version 2014-05-26.
    Ecs,
    /// Elastic Cloud Desktop, API version 2020-09-30.
    Ecd,
    /// Security Token Service, API version 2015-04-01.
    Sts,
}

impl Service {
    /// The product code used in endpoints.
    pub fn product(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::Ecd => "ecd",
            Service::Sts => "sts",
        }
    }

    /// The API version.
    pub fn version(self) -> &'static str {
        match self {
            Service::Ecs => "2014-05-26",
            Service::Ecd => "2020-09-30",
            Service::Sts => "2015-04-01",
        }
    }

    /// Whether parameters travel in a form body rather than the query string. STS parameters include
    /// policies and OIDC tokens, which stay out of URLs (as in Alibaba's credentials SDKs).
    pub(crate) fn params_in_body(self) -> bool {
        matches!(self, Service::Sts)
    }
}

/// The scheme of endpoints given as a bare `host` or `host:port` (the `protocol` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// `https` (the default).
    #[default]
    Https,
    /// `http`.
    Http,
}

impl Protocol {
    /// `HTTP` or `HTTPS`, in any case.
    pub fn parse(text: &str) -> Result<Protocol, Error> {
        match text.trim().to_ascii_lowercase().as_str() {
            "https" => Ok(Protocol::Https),
            "http" => Ok(Protocol::Http),
            _ => Err(Error::Config(format!(
                "invalid protocol {text:?}: use HTTP or HTTPS"
            ))),
        }
    }

    /// `http` or `https`.
    pub fn scheme(self) -> &'static str {
        match self {
            Protocol::Https => "https",
            Protocol::Http => "http",
        }
    }
}

/// A parsed endpoint: where requests go and the `host` value they are signed with.
///
/// ```
/// use alicloud_openapi::{Endpoint, Protocol, Service};
///
/// let private = Endpoint::parse_with("127.0.0.1:9000", Protocol::Http)?;
/// assert_eq!((private.to_string().as_str(), private.host().as_str()), ("http://127.0.0.1:9000", "127.0.0.1:9000"));
/// let public = Endpoint::regional(Service::Ecd, "cn-shanghai");
/// assert_eq!(public.to_string(), "https://ecd.cn-shanghai.aliyuncs.com");
/// # Ok::<(), alicloud_openapi::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: reqwest::Url,
}

impl Endpoint {
    /// Parses `host`, `host:port` (HTTPS) or a full `http(s)://host[:port]` URL.
    pub fn parse(text: &str) -> Result<Endpoint, Error> {
        Endpoint::parse_with(text, Protocol::Https)
    }

    /// Parses `host` or `host:port`, which get `protocol`'s scheme, or a full `http(s)://host[:port]` URL,
    /// which keeps its own.
    pub fn parse_with(text: &str, protocol: Protocol) -> Result<Endpoint, Error> {
        let trimmed = text.trim();
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_string()
        } else {
            format!("{}://{trimmed}", protocol.scheme())
        };
        let bad = |why: &str| {
            Error::Config(format!(
                "invalid endpoint {text:?}: {why}; use a host name or an http(s)://host[:port] URL"
            ))
        };
        let url = reqwest::Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("only http and https are supported"));
        }
        if url.host_str().is_none_or(str::is_empty) || url.path() != "/" || url.query().is_some() {
            return Err(bad("it must name only a scheme, host and port"));
        }
        Ok(Endpoint { url })
    }

    /// Alibaba's public regional endpoint: `https://<product>.<region>.aliyuncs.com`.
    pub fn regional(service: Service, region: &str) -> Endpoint {
        Endpoint::regional_with(service, region, Protocol::Https)
    }

    /// Alibaba's public regional endpoint with `protocol`'s scheme.
    pub fn regional_with(service: Service, region: &str, protocol: Protocol) -> Endpoint {
        let url = reqwest::Url::parse(&format!(
            "{}://{}.{region}.aliyuncs.com",
            protocol.scheme(),
            service.product()
        ));
        // The region was validated to be [a-z0-9-]+, which always makes a valid URL.
        Endpoint {
            url: url.unwrap_or_else(|_| panic!("invalid region {region:?}")),
        }
    }

    /// The URL requests are sent to.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// The `host` header value: host, plus the port when it is not the scheme's default.
    pub fn host(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.url.as_str().trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_urls() {
        let e = Endpoint::parse("ecs-vpc.cn-hangzhou.aliyuncs.com").unwrap();
        assert_eq!(e.to_string(), "https://ecs-vpc.cn-hangzhou.aliyuncs.com");
        assert_eq!(e.host(), "ecs-vpc.cn-hangzhou.aliyuncs.com");
        let e = Endpoint::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(e.host(), "127.0.0.1:8080");
        assert_eq!(
            Endpoint::parse("https://ecd.example:443").unwrap().host(),
            "ecd.example"
        );
        for bad in [
            "ftp://x",
            "http://",
            "https://x/path",
            "http://x?q=1",
            "has space",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn protocol_decides_the_scheme_of_bare_hosts_only() {
        let http = Protocol::parse("HTTP").unwrap();
        assert_eq!(
            Endpoint::parse_with("127.0.0.1:9000", http)
                .unwrap()
                .to_string(),
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            Endpoint::parse_with("https://ecs.example", http)
                .unwrap()
                .to_string(),
            "https://ecs.example"
        );
        assert_eq!(
            Endpoint::regional_with(Service::Ecd, "cn-shanghai", http).to_string(),
            "http://ecd.cn-shanghai.aliyuncs.com"
        );
        assert_eq!(Protocol::parse("https").unwrap(), Protocol::Https);
        assert!(Protocol::parse("ftp").is_err());
    }

    #[test]
    fn regional_defaults() {
        assert_eq!(
            Endpoint::regional(Service::Ecs, "cn-hangzhou").to_string(),
            "https://ecs.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            Endpoint::regional(Service::Ecd, "ap-southeast-1").to_string(),
            "https://ecd.ap-southeast-1.aliyuncs.com"
        );
    }
}
