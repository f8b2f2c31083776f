//! Request signing, pure: no clock, no randomness, no I/O. The caller supplies time and nonce.
//!
//! - V3 `ACS3-HMAC-SHA256`: canonical request → string to sign → lowercase hex HMAC-SHA256 keyed with the
//!   raw secret, sent in the `Authorization` header.
//! - RPC V1 `HMAC-SHA1`: `METHOD&%2F&enc(canonicalized query)` → Base64 HMAC-SHA1 keyed with `secret&`,
//!   sent as the `Signature` parameter.
//!
//! Both percent-encode per RFC 3986 as Alibaba specifies: `A-Z a-z 0-9 - _ . ~` stay, everything else is
//! `%XY` in uppercase hex (space is `%20`, `*` is `%2A`).

use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use ring::{digest, hmac};

/// The V3 algorithm name.
pub const ACS3: &str = "ACS3-HMAC-SHA256";

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Alibaba's percent-encoding of one key or value.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// `k=v` pairs, each side encoded, sorted by encoded key (then value), joined with `&`.
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
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// What a V3 signature covers.
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
pub fn v1_signature(secret: &str, string_to_sign: &str) -> String {
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        format!("{secret}&").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(hmac::sign(&key, string_to_sign.as_bytes()))
}

/// One RPC-style call, as both schemes sign it besides its business parameters. Time and nonce come from the
/// caller, so signing stays pure.
#[derive(Debug, Clone)]
pub struct RpcCall<'a> {
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
    /// AccessKey ID.
    pub access_key_id: &'a str,
    /// AccessKey secret.
    pub secret: &'a str,
    /// STS token, for temporary credentials.
    pub security_token: Option<&'a str>,
}

impl RpcCall<'_> {
    fn unsigned(&self) -> AnonymousCall<'_> {
        AnonymousCall {
            method: self.method,
            host: self.host,
            action: self.action,
            version: self.version,
            timestamp: self.timestamp,
            nonce: self.nonce,
        }
    }

    /// V3: the headers of a request that carries `query` in its URL and an empty body, `host` and
    /// `Authorization` included.
    pub fn v3_headers(&self, query: &[(String, String)]) -> Vec<(String, String)> {
        self.v3_headers_with_body(query, b"")
    }

    /// V3: the headers of a request with `query` in its URL and `body` (for RPC, a form-encoded parameter
    /// body), `host` and `Authorization` included. The signature covers the body through
    /// `x-acs-content-sha256`.
    pub fn v3_headers_with_body(
        &self,
        query: &[(String, String)],
        body: &[u8],
    ) -> Vec<(String, String)> {
        let mut headers = self.unsigned().v3_headers(body);
        if let Some(token) = self.security_token {
            headers.push(("x-acs-security-token".into(), token.into()));
        }
        let payload_hash = sha256_hex(body);
        let authorization = v3_authorization(
            &V3Request {
                method: self.method,
                path: "/",
                query,
                headers: &headers,
                payload_hash: &payload_hash,
            },
            self.access_key_id,
            self.secret,
        );
        headers.push(("authorization".into(), authorization));
        headers
    }

    /// V1: every parameter to send: `params`, the common ones, and `Signature` last.
    pub fn v1_params(&self, params: &[(String, String)]) -> Vec<(String, String)> {
        let mut all = self.unsigned().v1_params(params);
        let common = [
            ("AccessKeyId", self.access_key_id),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", self.nonce),
        ];
        all.extend(common.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        if let Some(token) = self.security_token {
            all.push(("SecurityToken".into(), token.into()));
        }
        let signature = v1_signature(self.secret, &v1_string_to_sign(self.method, &all));
        all.push(("Signature".into(), signature));
        all
    }
}

/// An RPC call sent without credentials, as the APIs that authenticate by other means take it (STS
/// `AssumeRoleWithOIDC`, which carries an OIDC token instead of a signature).
#[derive(Debug, Clone)]
pub struct AnonymousCall<'a> {
    /// HTTP method, uppercase.
    pub method: &'a str,
    /// The `Host` the request goes to.
    pub host: &'a str,
    /// The API action.
    pub action: &'a str,
    /// The API version.
    pub version: &'a str,
    /// ISO 8601 UTC time, e.g. `2026-01-01T00:00:00Z`.
    pub timestamp: &'a str,
    /// A value never used twice.
    pub nonce: &'a str,
}

impl AnonymousCall<'_> {
    /// V3: the `x-acs-*` headers and `host` of a request with this body, without `Authorization`.
    pub fn v3_headers(&self, body: &[u8]) -> Vec<(String, String)> {
        vec![
            ("host".into(), self.host.into()),
            ("x-acs-action".into(), self.action.into()),
            ("x-acs-version".into(), self.version.into()),
            ("x-acs-date".into(), self.timestamp.into()),
            ("x-acs-signature-nonce".into(), self.nonce.into()),
            ("x-acs-content-sha256".into(), sha256_hex(body)),
        ]
    }

    /// V1: `params` and the common parameters that name the call, with no key and no signature.
    pub fn v1_params(&self, params: &[(String, String)]) -> Vec<(String, String)> {
        let mut all = params.to_vec();
        let common = [
            ("Action", self.action),
            ("Version", self.version),
            ("Format", "JSON"),
            ("Timestamp", self.timestamp),
        ];
        all.extend(common.iter().map(|(k, v)| (k.to_string(), v.to_string())));
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

    fn call() -> RpcCall<'static> {
        RpcCall {
            method: "POST",
            host: "sts.aliyuncs.com",
            action: "AssumeRole",
            version: "2015-04-01",
            timestamp: "2026-01-01T00:00:00Z",
            nonce: "n-1",
            access_key_id: "AK",
            secret: "secret",
            security_token: Some("token"),
        }
    }

    #[test]
    fn v3_body_is_covered_and_empty_body_is_the_default() {
        let c = call();
        let none = c.v3_headers(&[]);
        assert_eq!(none, c.v3_headers_with_body(&[], b""));
        let with = c.v3_headers_with_body(&[], b"RoleArn=x");
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
        let c = call();
        let anon = AnonymousCall {
            method: c.method,
            host: c.host,
            action: "AssumeRoleWithOIDC",
            version: c.version,
            timestamp: c.timestamp,
            nonce: c.nonce,
        };
        let headers = anon.v3_headers(b"");
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
        let signed = c.v1_params(&[]);
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
    fn empty_body_hash() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
