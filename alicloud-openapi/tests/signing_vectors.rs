//! Our signer against the golden vectors in `tests/vectors`: one test per stage, and the call type the
//! client signs with against every vector shaped like a call.

use std::path::{Path, PathBuf};

use alicloud_openapi::Credentials;
use alicloud_openapi::sign::{self, Call, V3Request};
use serde_json::Value;

fn vectors(alg: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(alg);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no vectors in {}", dir.display());
    cases
}

/// A stage file with CRLF normalised and surrounding whitespace trimmed; `None` when the case lacks it.
fn stage(case: &Path, name: &str) -> Option<String> {
    let path = case.join(name);
    std::fs::read_to_string(&path)
        .ok()
        .map(|s| s.replace("\r\n", "\n").trim().to_string())
}

fn request(case: &Path) -> Value {
    let text = stage(case, "request.json")
        .unwrap_or_else(|| panic!("{}: no request.json", case.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", case.display()))
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

#[test]
fn v1_string_to_sign() {
    let mut checked = 0;
    for case in vectors("v1") {
        let Some(want) = stage(&case, "string_to_sign.txt") else {
            continue;
        };
        let req = request(&case);
        assert_eq!(
            sign::v1_string_to_sign(text(&req, "method"), &pairs(&req["params"])),
            want,
            "{}",
            case.display()
        );
        checked += 1;
    }
    assert!(checked >= 3);
}

#[test]
fn v1_signature() {
    for case in vectors("v1") {
        let req = request(&case);
        let sts = sign::v1_string_to_sign(text(&req, "method"), &pairs(&req["params"]));
        let want = stage(&case, "signature.txt")
            .unwrap_or_else(|| panic!("{}: no signature.txt", case.display()));
        assert_eq!(
            sign::v1_signature(text(&req, "access_key_secret"), &sts),
            want,
            "{}",
            case.display()
        );
    }
}

type Pairs = Vec<(String, String)>;

fn v3_request(req: &Value) -> (Pairs, Pairs) {
    (pairs(&req["query"]), pairs(&req["headers"]))
}

#[test]
fn v3_canonical_request_and_string_to_sign() {
    let mut checked = 0;
    for case in vectors("v3") {
        let req = request(&case);
        let (query, headers) = v3_request(&req);
        let r = V3Request {
            method: text(&req, "method"),
            path: text(&req, "path"),
            query: &query,
            headers: &headers,
            payload_hash: text(&req, "payload_hash"),
        };
        let canonical = sign::v3_canonical_request(&r);
        if let Some(want) = stage(&case, "canonical_request.txt") {
            assert_eq!(canonical, want, "{}", case.display());
            checked += 1;
        }
        if let Some(want) = stage(&case, "string_to_sign.txt") {
            assert_eq!(
                sign::v3_string_to_sign(&canonical),
                want,
                "{}",
                case.display()
            );
        }
    }
    assert!(checked >= 2);
}

#[test]
fn v3_authorization() {
    for case in vectors("v3") {
        let req = request(&case);
        let (query, headers) = v3_request(&req);
        let r = V3Request {
            method: text(&req, "method"),
            path: text(&req, "path"),
            query: &query,
            headers: &headers,
            payload_hash: text(&req, "payload_hash"),
        };
        let want = stage(&case, "authorization.txt")
            .unwrap_or_else(|| panic!("{}: no authorization.txt", case.display()));
        let got = sign::v3_authorization(
            &r,
            text(&req, "access_key_id"),
            text(&req, "access_key_secret"),
        );
        assert_eq!(got, want, "{}", case.display());
    }
}

// What the client calls: `sign::Call`, from the parts of a call, to every header or parameter sent. Each
// vector shaped like a call (the headers, or common parameters, that `Call` writes) is rebuilt from those
// parts and must come out exactly as the vector, signature included.

/// The headers `Call::v3_headers` writes before `authorization`.
const CALL_HEADERS: &[&str] = &[
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
    "x-acs-security-token",
];

/// The parameters `Call::v1_params` adds to a call's own.
const CALL_PARAMS: &[&str] = &[
    "Action",
    "Version",
    "Format",
    "Timestamp",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "SecurityToken",
];

fn sorted(mut pairs: Pairs) -> Pairs {
    pairs.sort();
    pairs
}

#[test]
fn call_v3_headers() {
    let mut checked = 0;
    for case in vectors("v3") {
        let req = request(&case);
        let (query, headers) = v3_request(&req);
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let call_shaped = headers
            .iter()
            .all(|(k, _)| CALL_HEADERS.contains(&k.as_str()))
            && get("host").is_some()
            && text(&req, "payload_hash") == sign::sha256_hex(b"");
        if !call_shaped {
            continue;
        }
        let credentials = Credentials::new(
            text(&req, "access_key_id"),
            text(&req, "access_key_secret"),
            get("x-acs-security-token"),
            "vector",
        );
        let (host, action, version, date, nonce) = (
            get("host").unwrap_or_default(),
            get("x-acs-action").unwrap_or_default(),
            get("x-acs-version").unwrap_or_default(),
            get("x-acs-date").unwrap_or_default(),
            get("x-acs-signature-nonce").unwrap_or_default(),
        );
        let call = Call {
            method: text(&req, "method"),
            host: &host,
            action: &action,
            version: &version,
            timestamp: &date,
            nonce: &nonce,
            credentials: Some(&credentials),
        };
        let authorization = stage(&case, "authorization.txt")
            .unwrap_or_else(|| panic!("{}: no authorization.txt", case.display()));
        let mut want = headers.clone();
        want.push(("authorization".into(), authorization));
        assert_eq!(
            sorted(call.v3_headers(&query, b"")),
            sorted(want),
            "{}",
            case.display()
        );
        checked += 1;
    }
    assert!(checked >= 3, "{checked} call-shaped V3 vectors");
}

#[test]
fn call_v1_params() {
    let mut checked = 0;
    for case in vectors("v1") {
        let req = request(&case);
        let params = pairs(&req["params"]);
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let call_shaped = get("Format").as_deref() == Some("JSON")
            && get("Action").is_some()
            && get("SignatureMethod").as_deref() == Some("HMAC-SHA1");
        if !call_shaped {
            continue;
        }
        let own: Pairs = params
            .iter()
            .filter(|(k, _)| !CALL_PARAMS.contains(&k.as_str()))
            .cloned()
            .collect();
        let credentials = Credentials::new(
            get("AccessKeyId").unwrap_or_default(),
            text(&req, "access_key_secret"),
            get("SecurityToken"),
            "vector",
        );
        let (action, version, timestamp, nonce) = (
            get("Action").unwrap_or_default(),
            get("Version").unwrap_or_default(),
            get("Timestamp").unwrap_or_default(),
            get("SignatureNonce").unwrap_or_default(),
        );
        let call = Call {
            method: text(&req, "method"),
            host: "unused-by-v1",
            action: &action,
            version: &version,
            timestamp: &timestamp,
            nonce: &nonce,
            credentials: Some(&credentials),
        };
        let signature = stage(&case, "signature.txt")
            .unwrap_or_else(|| panic!("{}: no signature.txt", case.display()));
        let mut want = params.clone();
        want.push(("Signature".into(), signature));
        assert_eq!(
            sorted(call.v1_params(&own)),
            sorted(want),
            "{}",
            case.display()
        );
        checked += 1;
    }
    assert!(checked >= 2, "{checked} call-shaped V1 vectors");
}
