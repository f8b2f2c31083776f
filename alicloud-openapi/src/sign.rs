//! Request signing, pure: no clock, no randomness, no I/O. The caller supplies time and nonce.
//!
//! - V3 `ACS3-HMAC-SHA256`: canonical request → string to sign → lowercase hex HMAC-SHA256 keyed with the
//!   raw secret, sent in the `Authorization` header.
//! - RPC V1 `HMAC-SHA1`: `METHOD&%2F&enc(canonicalized query)` → Base64 HMAC-SHA1 keyed with `secret&`,
//!   sent as the `Signature` parameter.
//!
//! Both percent-encode per RFC 3986 as Alibaba specifies: `A-Z a-z 0-9 - _ . ~` stay, everything else is
//! `%XY` in uppercase hex (space is `%20`, `*` is `%2A`).

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use ring::{digest, hmac};

use crate::redact::Redact;

/// The V3 algorithm name.
pub const ACS3: &str = "ACS3-HMAC-SHA256";

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Alibaba's percent-encoding of one key or value.
///
/// ```
/// use alicloud_openapi::sign::percent_encode;
///
/// assert_eq!(percent_encode(" ~/*-+"), "%20~%2F%2A-%2B");
/// ```
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// `k=v` pairs, each side encoded, sorted by encoded key (then value), joined with `&`.
///
/// ```
/// use alicloud_openapi::sign::canonical_query;
///
/// let params = [("test".to_string(), "ok".to_string()), ("empty".to_string(), String::new())];
/// assert_eq!(canonical_query(&params), "empty=&test=ok");
/// ```
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lowercase hex SHA-256.
///
/// ```
/// use alicloud_openapi::sign::sha256_hex;
///
/// assert_eq!(
///     sha256_hex(b"test"),
///     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
/// );
/// ```
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// What a V3 signature covers.
///
/// ```
/// use alicloud_openapi::sign::{V3Request, v3_authorization};
///
/// // darabonba-openapi-util's own test vector.
/// let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
/// let request = V3Request {
///     method: "GET",
///     path: "/",
///     query: &[pair("test", "ok"), pair("empty", "")],
///     headers: &[pair("x-acs-test", "http"), pair("x-acs-TEST", "https")],
///     payload_hash: "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23",
/// };
/// assert_eq!(
///     v3_authorization(&request, "acesskey", "secret"),
///     "ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,\
///      Signature=d16b30a7699ae9e43875b13195b2f81bcc3ed10c14a9b5eb780e51619aa50be1"
/// );
/// ```
#[derive(Debug, Clone)]
pub struct V3Request<'a> {
    /// HTTP method, uppercase.
    pub method: &'a str,
    /// Path, `/` for RPC APIs.
    pub path: &'a str,
    /// Query parameters (unencoded).
    pub query: &'a [(String, String)],
    /// Headers to sign (any case; values are trimmed).
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body (`x-acs-content-sha256`).
    pub payload_hash: &'a str,
}

fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut merged: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for (name, value) in headers {
        merged
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.trim().to_string());
    }
    let mut canonical = String::new();
    for (name, values) in &mut merged {
        values.sort();
        canonical.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let signed = merged.keys().cloned().collect::<Vec<_>>().join(";");
    (canonical, signed)
}

/// The V3 canonical request.
pub fn v3_canonical_request(req: &V3Request<'_>) -> String {
    let (headers, signed) = canonical_headers(req.headers);
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        canonical_query(req.query),
        headers,
        signed,
        req.payload_hash
    )
}

/// The V3 string to sign.
pub fn v3_string_to_sign(canonical_request: &str) -> String {
    format!("{ACS3}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// The V3 signature: lowercase hex HMAC-SHA256 keyed with the raw secret.
pub fn v3_signature(secret: &str, string_to_sign: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hex::encode(hmac::sign(&key, string_to_sign.as_bytes()))
}

/// The V3 `Authorization` header value.
pub fn v3_authorization(req: &V3Request<'_>, access_key_id: &str, secret: &str) -> String {
    let (_, signed) = canonical_headers(req.headers);
    let signature = v3_signature(secret, &v3_string_to_sign(&v3_canonical_request(req)));
    format!("{ACS3} Credential={access_key_id},SignedHeaders={signed},Signature={signature}")
}

/// The V1 string to sign over every parameter except `Signature`.
pub fn v1_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let signed: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .cloned()
        .collect();
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(&signed))
    )
}

/// The V1 signature: Base64 HMAC-SHA1 keyed with `secret&`.
///
/// ```
/// use alicloud_openapi::sign::{v1_signature, v1_string_to_sign};
///
/// // darabonba-openapi-util's own test vector.
/// let params = [("query".to_string(), "test".to_string()), ("body".to_string(), "test".to_string())];
/// let string_to_sign = v1_string_to_sign("GET", &params);
/// assert_eq!(string_to_sign, "GET&%2F&body%3Dtest%26query%3Dtest");
/// assert_eq!(v1_signature("secret", &string_to_sign), "XlUyV4sXjOuX5FnjUz9IF9tm5rU=");
/// ```
pub fn v1_signature(secret: &str, string_to_sign: &str) -> String {
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        format!("{secret}&").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(hmac::sign(&key, string_to_sign.as_bytes()))
}

/// An AccessKey pair, optionally with an STS token and the time it expires. `Debug` never shows the secret
/// or the token.
///
/// ```
/// use alicloud_openapi::Credentials;
///
/// let c = Credentials::new("LTAI5tExample", "example-secret", None, "example");
/// assert!(!format!("{c:?}").contains("example-secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// AccessKey ID.
    pub access_key_id: String,
    /// AccessKey secret.
    pub access_key_secret: String,
    /// STS security token, for temporary credentials.
    pub security_token: Option<String>,
    /// When temporary credentials stop working; `None` for long-lived keys.
    pub expiration: Option<DateTime<Utc>>,
    /// Where they were found, for messages.
    pub source: String,
}

impl Credentials {
    /// Long-lived credentials (no expiration).
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: impl Into<String>,
        security_token: Option<String>,
        source: impl Into<String>,
    ) -> Credentials {
        Credentials {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token,
            expiration: None,
            source: source.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &Redact::from(&self.access_key_secret))
            .field("security_token", &Redact::from(&self.security_token))
            .field("expiration", &self.expiration)
            .field("source", &self.source)
            .finish()
    }
}

/// One RPC-style call, as both schemes sign it besides its business parameters; without credentials it is
/// sent unsigned, as the APIs that authenticate by other means take it (STS `AssumeRoleWithOIDC`, which
/// carries an OIDC token instead). Time and nonce come from the caller, so signing stays pure. `Debug`
/// shows no secret.
///
/// ```
/// use alicloud_openapi::Credentials;
/// use alicloud_openapi::sign::Call;
///
/// let credentials = Credentials::new("AK", "secret", None, "example");
/// let call = Call {
///     method: "POST",
///     host: "ecs.cn-hangzhou.aliyuncs.com",
///     action: "DescribeRegions",
///     version: "2014-05-26",
///     timestamp: "2026-01-01T00:00:00Z",
///     nonce: "n-1",
///     credentials: Some(&credentials),
/// };
/// let headers = call.v3_headers(&[], b"");
/// assert!(headers.iter().any(|(name, _)| name == "authorization"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// HTTP method, uppercase.
    pub method: &'a str,
    /// The `Host` the request goes to (V3 signs it).
    pub host: &'a str,
    /// The API action.
    pub action: &'a str,
    /// The API version.
    pub version: &'a str,
    /// ISO 8601 UTC time, e.g. `2026-01-01T00:00:00Z`.
    pub timestamp: &'a str,
    /// A value never used twice.
    pub nonce: &'a str,
    /// Signed with these; `None` sends the call unsigned.
    pub credentials: Option<&'a Credentials>,
}

impl Call<'_> {
    /// V3: the headers of a request with `query` in its URL and `body` (for RPC, empty or a form-encoded
    /// parameter body): `host`, the `x-acs-*` headers and, when signed, the security token and
    /// `Authorization`. The signature covers the body through `x-acs-content-sha256`.
    pub fn v3_headers(&self, query: &[(String, String)], body: &[u8]) -> Vec<(String, String)> {
        let payload_hash = sha256_hex(body);
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.host.into()),
            ("x-acs-action".into(), self.action.into()),
            ("x-acs-version".into(), self.version.into()),
            ("x-acs-date".into(), self.timestamp.into()),
            ("x-acs-signature-nonce".into(), self.nonce.into()),
            ("x-acs-content-sha256".into(), payload_hash.clone()),
        ];
        let Some(credentials) = self.credentials else {
            return headers;
        };
        if let Some(token) = &credentials.security_token {
            headers.push(("x-acs-security-token".into(), token.clone()));
        }
        let authorization = v3_authorization(
            &V3Request {
                method: self.method,
                path: "/",
                query,
                headers: &headers,
                payload_hash: &payload_hash,
            },
            &credentials.access_key_id,
            &credentials.access_key_secret,
        );
        headers.push(("authorization".into(), authorization));
        headers
    }

    /// V1: every parameter to send: `params`, the common ones that name the call and, when signed, the key,
    /// the token and `Signature` last.
    pub fn v1_params(&self, params: &[(String, String)]) -> Vec<(String, String)> {
        let mut all = params.to_vec();
        let common = [
            ("Action", self.action),
            ("Version", self.version),
            ("Format", "JSON"),
            ("Timestamp", self.timestamp),
        ];
        all.extend(common.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let Some(credentials) = self.credentials else {
            return all;
        };
        let signed = [
            ("AccessKeyId", credentials.access_key_id.as_str()),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", self.nonce),
        ];
        all.extend(signed.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        if let Some(token) = &credentials.security_token {
            all.push(("SecurityToken".into(), token.clone()));
        }
        let signature = v1_signature(
            &credentials.access_key_secret,
            &v1_string_to_sign(self.method, &all),
        );
        all.push(("Signature".into(), signature));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_follows_rfc3986() {
        assert_eq!(percent_encode(" ~/*-+"), "%20~%2F%2A-%2B");
        assert_eq!(percent_encode("a:b=c&d"), "a%3Ab%3Dc%26d");
        assert_eq!(percent_encode("镜像"), "%E9%95%9C%E5%83%8F");
        assert_eq!(
            canonical_query(&[("test".into(), " ~/*-+".into())]),
            "test=%20~%2F%2A-%2B"
        );
    }

    fn credentials() -> Credentials {
        Credentials::new("AK", "secret", Some("token".into()), "test")
    }

    fn call(credentials: Option<&Credentials>) -> Call<'_> {
        Call {
            method: "POST",
            host: "sts.aliyuncs.com",
            action: "AssumeRole",
            version: "2015-04-01",
            timestamp: "2026-01-01T00:00:00Z",
            nonce: "n-1",
            credentials,
        }
    }

    #[test]
    fn v3_body_is_covered() {
        let credentials = credentials();
        let c = call(Some(&credentials));
        let none = c.v3_headers(&[], b"");
        let with = c.v3_headers(&[], b"RoleArn=x");
        let get = |h: &[(String, String)], n: &str| {
            h.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(get(&with, "x-acs-content-sha256"), sha256_hex(b"RoleArn=x"));
        assert_ne!(get(&with, "authorization"), get(&none, "authorization"));
        assert_eq!(get(&with, "x-acs-security-token"), "token");
    }

    #[test]
    fn anonymous_calls_carry_no_key_and_no_signature() {
        let anon = Call {
            action: "AssumeRoleWithOIDC",
            ..call(None)
        };
        let headers = anon.v3_headers(&[], b"");
        assert!(
            headers
                .iter()
                .all(|(k, _)| k != "authorization" && k != "x-acs-security-token")
        );
        let params = anon.v1_params(&[("RoleArn".into(), "r".into())]);
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["RoleArn", "Action", "Version", "Format", "Timestamp"]
        );
        // The signed form of the same call adds exactly the key, the signature and the token.
        let credentials = credentials();
        let signed = call(Some(&credentials)).v1_params(&[]);
        for name in [
            "AccessKeyId",
            "Signature",
            "SignatureNonce",
            "SecurityToken",
        ] {
            assert!(signed.iter().any(|(k, _)| k == name), "{name}");
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let credentials = credentials();
        let shown = format!("{:?}", call(Some(&credentials)));
        assert!(shown.contains("AK"), "{shown}");
        assert!(
            !shown.contains("secret\"") && !shown.contains("\"token\""),
            "{shown}"
        );
    }

    #[test]
    fn empty_body_hash() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
