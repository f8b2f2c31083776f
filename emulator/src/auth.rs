//! Verifies both signature schemes Alibaba's SDKs use, against the seeded keys:
//! V3 `ACS3-HMAC-SHA256` (Authorization header) and RPC V1 `HMAC-SHA1` (`Signature` parameter).
//! Written apart from the client crate's signer on purpose: the two are checked against each other.

use std::collections::HashMap;

use axum::http::HeaderMap;
use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use ring::{digest, hmac};

use crate::error::ApiError;
use crate::model::World;

/// Requests older or newer than this are refused, and nonces are remembered this long.
pub const WINDOW_SECONDS: f64 = 15.0 * 60.0;

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

fn canonical_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (enc(k), enc(v))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Nonces seen within the window.
#[derive(Debug, Default)]
pub struct Nonces {
    seen: HashMap<String, f64>,
}

impl Nonces {
    /// Records a nonce; false when it was already used within the window.
    pub fn fresh(&mut self, nonce: &str, now: f64) -> bool {
        if self.seen.len() > 10_000 {
            self.seen.retain(|_, t| now - *t < WINDOW_SECONDS);
        }
        match self.seen.get(nonce) {
            Some(t) if now - *t < WINDOW_SECONDS => false,
            _ => {
                self.seen.insert(nonce.to_string(), now);
                true
            }
        }
    }

    /// Forgets every nonce.
    pub fn clear(&mut self) {
        self.seen.clear();
    }
}

/// Which scheme a request uses, and what it says about the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// ACS3-HMAC-SHA256.
    V3,
    /// RPC HMAC-SHA1.
    V1,
}

/// What a verified request may do.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The calling account; empty for an anonymous call.
    pub account_id: String,
}

/// Everything signature checks need from a request.
pub struct Signed<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Query parameters.
    pub query: &'a [(String, String)],
    /// Form body parameters.
    pub form: &'a [(String, String)],
    /// Headers.
    pub headers: &'a HeaderMap,
    /// Raw body.
    pub body: &'a [u8],
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The scheme a request claims: V3 with an `Authorization: ACS3-…` header, V1 with a `Signature`
/// parameter, or none (an anonymous call, which only anonymous actions accept).
pub fn scheme(req: &Signed<'_>) -> Option<Scheme> {
    if header(req.headers, "authorization").is_some_and(|a| a.starts_with("ACS3-")) {
        Some(Scheme::V3)
    } else if param(req.query, "Signature")
        .or(param(req.form, "Signature"))
        .is_some()
    {
        Some(Scheme::V1)
    } else {
        None
    }
}

/// `IncompleteSignature` for a request that carries no signature.
pub fn unsigned() -> ApiError {
    ApiError::new(
        400,
        "IncompleteSignature",
        "The request signature does not conform to Aliyun standards: no Authorization header and no Signature parameter.",
    )
}

/// The clocks a verification uses: real time for timestamps and nonces, the credential clock (real time plus
/// the control API's offset) for the expiry of temporary keys.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Unix seconds, real time.
    pub now: f64,
    /// Unix seconds on the credential clock.
    pub credentials: f64,
}

fn check_time(value: Option<&str>, name: &str, now: f64) -> Result<(), ApiError> {
    let value = value.ok_or_else(|| ApiError::missing(name))?;
    let at = chrono::DateTime::parse_from_rfc3339(value).map_err(|_| {
        ApiError::new(
            400,
            "InvalidTimeStamp.Format",
            format!("Specified time stamp or date value is not well formatted: {value}"),
        )
    })?;
    let skew = (at.timestamp() as f64 - now).abs();
    if skew > WINDOW_SECONDS {
        return Err(ApiError::new(
            400,
            "InvalidTimeStamp.Expired",
            format!(
                "Specified time stamp or date value is expired: {name} {value} is more than 15 minutes from the server time."
            ),
        ));
    }
    Ok(())
}

fn caller(
    world: &World,
    access_key_id: &str,
    token: Option<&str>,
    clock: Clock,
) -> Result<(String, String), ApiError> {
    let key = world.key(access_key_id).ok_or_else(|| {
        ApiError::new(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    })?;
    let token = token.filter(|t| !t.is_empty());
    if let Some(expected) = key.security_token {
        let Some(token) = token else {
            return Err(ApiError::new(
                400,
                "MissingSecurityToken",
                "SecurityToken is mandatory for this access key: it is a temporary (STS) credential.",
            ));
        };
        if token != expected {
            return Err(ApiError::new(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "The security token you provided does not match the access key.",
            ));
        }
        if key.expires_at.is_some_and(|e| e <= clock.credentials) {
            return Err(ApiError::new(
                400,
                "InvalidSecurityToken.Expired",
                "Specified SecurityToken is expired.",
            ));
        }
    } else if token.is_some() {
        return Err(ApiError::new(
            400,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "A security token was sent with a permanent access key.",
        ));
    }
    Ok((key.account_id.to_string(), key.secret.to_string()))
}

/// Verifies a V3 request.
pub fn verify_v3(
    req: &Signed<'_>,
    world: &World,
    nonces: &mut Nonces,
    clock: Clock,
) -> Result<Caller, ApiError> {
    let now = clock.now;
    let incomplete = |why: &str| {
        ApiError::new(
            400,
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards: {why}"),
        )
    };
    let authorization = header(req.headers, "authorization").unwrap_or_default();
    let rest = authorization
        .strip_prefix("ACS3-HMAC-SHA256 ")
        .ok_or_else(|| incomplete("unsupported signature algorithm"))?;
    let mut fields: HashMap<&str, &str> = HashMap::new();
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| incomplete("malformed Authorization"))?;
        fields.insert(k, v);
    }
    let (Some(access_key_id), Some(signed_headers), Some(signature)) = (
        fields.get("Credential"),
        fields.get("SignedHeaders"),
        fields.get("Signature"),
    ) else {
        return Err(incomplete(
            "Authorization needs Credential, SignedHeaders and Signature",
        ));
    };
    let signed: Vec<String> = signed_headers
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    let mut required: Vec<String> = vec!["host".into()];
    required.extend(
        req.headers
            .keys()
            .map(|k| k.as_str().to_ascii_lowercase())
            .filter(|k| k.starts_with("x-acs-")),
    );
    if let Some(missing) = required.iter().find(|h| !signed.contains(h)) {
        return Err(incomplete(&format!("header {missing} must be signed")));
    }
    for name in [
        "x-acs-action",
        "x-acs-version",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ] {
        if header(req.headers, name).is_none() {
            return Err(ApiError::missing(name));
        }
    }
    check_time(header(req.headers, "x-acs-date"), "x-acs-date", now)?;
    let body_hash = hex::encode(digest::digest(&digest::SHA256, req.body));
    if header(req.headers, "x-acs-content-sha256") != Some(body_hash.as_str()) {
        return Err(ApiError::new(
            400,
            "InvalidParameter.ContentSHA256",
            "x-acs-content-sha256 does not match the SHA-256 of the request body.",
        ));
    }
    let (account_id, secret) = caller(
        world,
        access_key_id,
        header(req.headers, "x-acs-security-token"),
        clock,
    )?;

    let mut canonical_headers = String::new();
    for name in &signed {
        let mut values: Vec<String> = req
            .headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
            .collect();
        values.sort();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let mut sorted_signed = signed.clone();
    sorted_signed.sort();
    let canonical = format!(
        "{}\n/\n{}\n{}\n{}\n{}",
        req.method,
        canonical_query(req.query),
        canonical_headers,
        sorted_signed.join(";"),
        body_hash
    );
    let string_to_sign = format!(
        "ACS3-HMAC-SHA256\n{}",
        hex::encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let expected = hex::encode(hmac::sign(&key, string_to_sign.as_bytes()));
    if !constant_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(ApiError::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        ));
    }
    let nonce = header(req.headers, "x-acs-signature-nonce").unwrap_or_default();
    if !nonces.fresh(nonce, now) {
        return Err(ApiError::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(Caller { account_id })
}

/// Verifies an RPC V1 request (signature over query and form parameters together).
pub fn verify_v1(
    req: &Signed<'_>,
    world: &World,
    nonces: &mut Nonces,
    clock: Clock,
) -> Result<Caller, ApiError> {
    let now = clock.now;
    let all: Vec<(String, String)> = req.query.iter().chain(req.form.iter()).cloned().collect();
    let get = |name: &str| param(&all, name);
    if get("SignatureMethod") != Some("HMAC-SHA1") {
        return Err(ApiError::new(
            400,
            "IncompleteSignature",
            "SignatureMethod must be HMAC-SHA1.",
        ));
    }
    if get("SignatureVersion") != Some("1.0") {
        return Err(ApiError::new(
            400,
            "IncompleteSignature",
            "SignatureVersion must be 1.0.",
        ));
    }
    let access_key_id = get("AccessKeyId").ok_or_else(|| ApiError::missing("AccessKeyId"))?;
    let nonce = get("SignatureNonce").ok_or_else(|| ApiError::missing("SignatureNonce"))?;
    check_time(get("Timestamp"), "Timestamp", now)?;
    let (account_id, secret) = caller(world, access_key_id, get("SecurityToken"), clock)?;
    let signed: Vec<(String, String)> = all
        .iter()
        .filter(|(k, _)| k != "Signature")
        .cloned()
        .collect();
    let string_to_sign = format!(
        "{}&{}&{}",
        req.method,
        enc("/"),
        enc(&canonical_query(&signed))
    );
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        format!("{secret}&").as_bytes(),
    );
    let expected = base64::engine::general_purpose::STANDARD
        .encode(hmac::sign(&key, string_to_sign.as_bytes()));
    if !constant_eq(
        expected.as_bytes(),
        get("Signature").unwrap_or_default().as_bytes(),
    ) {
        return Err(ApiError::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        ));
    }
    if !nonces.fresh(nonce, now) {
        return Err(ApiError::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(Caller { account_id })
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_v1_vector_verifies_canonicalisation() {
        // Alibaba's documented DescribeRegions example (secret "testsecret").
        let params: Vec<(String, String)> = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sts = format!("GET&{}&{}", enc("/"), enc(&canonical_query(&params)));
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"testsecret&");
        let sig =
            base64::engine::general_purpose::STANDARD.encode(hmac::sign(&key, sts.as_bytes()));
        assert_eq!(sig, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
    }

    #[test]
    fn nonces_are_single_use_within_the_window() {
        let mut n = Nonces::default();
        assert!(n.fresh("a", 1000.0));
        assert!(!n.fresh("a", 1001.0));
        assert!(n.fresh("a", 1000.0 + WINDOW_SECONDS + 1.0));
    }
}
