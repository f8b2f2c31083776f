//! Our signer against the golden vectors in `tests/vectors`, one test per stage.

use std::path::{Path, PathBuf};

use alicloud_openapi::sign::{self, V3Request};
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
