//! STS 2015-04-01: AssumeRole (signed) and AssumeRoleWithOIDC (anonymous), and the issuing of temporary
//! credentials that the metadata service and the credentials URI share.
//!
//! An issued key belongs to the role's account, must be sent with its token, and stops working at its
//! expiry on the credential clock (real time plus the control API's offset).

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::model::{Role, StsCredential, World, parse_role_arn, rfc3339};
use crate::params::Params;

/// The shortest session STS issues.
pub const MIN_DURATION: u64 = 900;
/// The longest session any role may allow (RAM's upper bound for `MaxSessionDuration`).
pub const MAX_DURATION: u64 = 43_200;
/// A session's length when `DurationSeconds` is absent.
pub const DEFAULT_DURATION: u64 = 3600;
/// The longest `Policy` (characters), as the `alibabacloud_sts20150401` 1.2.0 docstrings give it.
pub const MAX_POLICY: usize = 2048;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        out.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    out.truncate(n);
    out
}

fn random_alnum(n: usize) -> String {
    random_bytes(n)
        .iter()
        .map(|b| char::from(ALNUM[usize::from(*b) % ALNUM.len()]))
        .collect()
}

/// A random opaque token of `n` letters and digits.
pub fn random_token(n: usize) -> String {
    random_alnum(n)
}

/// Issues a temporary credential of `role` for `duration` seconds from `now` (the credential clock) and
/// records it, so that the signature checks accept it.
pub fn issue(
    world: &mut World,
    role: &Role,
    session: &str,
    duration: u64,
    source: &str,
    now: f64,
) -> StsCredential {
    let credential = StsCredential {
        access_key_id: format!("STS.{}", random_alnum(25)),
        access_key_secret: random_alnum(44),
        // Real tokens are long Base64 strings starting with `CAIS`, with `+`, `/` and `=` in them: clients
        // must encode them like any other value.
        security_token: format!(
            "CAIS{}",
            base64::engine::general_purpose::STANDARD.encode(random_bytes(190))
        ),
        issued_at: now.floor(),
        expires_at: (now + duration as f64).floor(),
        account_id: role.account_id.clone(),
        role_arn: role.arn.clone(),
        role_session_name: session.to_string(),
        source: source.to_string(),
    };
    world.add_sts_credential(credential.clone());
    credential
}

/// The `Credentials` object of STS answers (also the metadata service's fields).
pub fn credentials_json(c: &StsCredential) -> Value {
    json!({
        "AccessKeyId": c.access_key_id,
        "AccessKeySecret": c.access_key_secret,
        "SecurityToken": c.security_token,
        "Expiration": rfc3339(c.expires_at),
    })
}

fn assumed_role_user(role: &Role, session: &str) -> Value {
    json!({
        "Arn": format!("acs:ram::{}:role/{}/{session}", role.account_id, role.name()),
        "AssumedRoleId": format!("{}:{session}", role.role_id()),
    })
}

fn missing(name: &str) -> ApiError {
    ApiError::new(
        400,
        &format!("MissingParameter.{name}"),
        format!("Parameter {name} is required."),
    )
}

fn role_arn(params: &Params) -> Result<&str, ApiError> {
    let arn = params
        .get("RoleArn")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| missing("RoleArn"))?;
    if parse_role_arn(arn).is_none() {
        return Err(ApiError::new(
            400,
            "InvalidParameter.RoleArn",
            "The parameter RoleArn is wrongly formed.",
        ));
    }
    Ok(arn)
}

/// `RoleSessionName`: 2 to 64 characters, letters, digits and `. @ - _` (the `alibabacloud_sts20150401`
/// 1.2.0 docstrings; older API pages say 2 to 32).
fn check_session(name: &str) -> Result<(), ApiError> {
    let ok = (2..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            400,
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed: 2 to 64 characters, letters, digits, '.', '@', '-' and '_'.",
        ))
    }
}

fn bad_duration() -> ApiError {
    ApiError::new(
        400,
        "InvalidParameter.DurationSeconds",
        "The Min/Max value of DurationSeconds is 15min/the role's MaxSessionDuration.",
    )
}

/// `DurationSeconds`: an integer from 900 to 43200 (the role's maximum is checked once the role is known).
fn duration(params: &Params) -> Result<u64, ApiError> {
    match params.get("DurationSeconds").filter(|d| !d.is_empty()) {
        None => Ok(DEFAULT_DURATION),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|d| (MIN_DURATION..=MAX_DURATION).contains(d))
            .ok_or_else(bad_duration),
    }
}

/// `Policy`: at most 2048 characters of JSON with `Version` and a `Statement` list. It narrows nothing here:
/// the emulator does not model RAM policies.
fn check_policy(params: &Params) -> Result<(), ApiError> {
    let Some(policy) = params.get("Policy").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    if policy.chars().count() > MAX_POLICY {
        return Err(ApiError::new(
            400,
            "InvalidParameter.PolicySize",
            format!("The size of Policy must be smaller than {MAX_POLICY} characters."),
        ));
    }
    let grammar_ok = serde_json::from_str::<Value>(policy)
        .ok()
        .is_some_and(|p| p["Statement"].is_array() && p.get("Version").is_some());
    if grammar_ok {
        Ok(())
    } else {
        Err(ApiError::new(
            400,
            "InvalidParameter.PolicyGrammar",
            "The parameter Policy has not passed grammar check.",
        ))
    }
}

/// `ExternalId`: 2 to 1224 characters of `[\w+=,.@:/-]` (the `alibabacloud_sts20150401` 1.2.0 docstrings).
fn external_id(params: &Params) -> Result<Option<&str>, ApiError> {
    let Some(id) = params.get("ExternalId").filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let ok = (2..=1224).contains(&id.chars().count())
        && id.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | ':' | '/' | '-')
        });
    if ok {
        Ok(Some(id))
    } else {
        Err(ApiError::new(
            400,
            "InvalidParameter.ExternalId",
            "The parameter ExternalId is wrongly formed: 2 to 1224 characters, letters, digits and = , . @ : / - _ +.",
        ))
    }
}

fn role<'a>(world: &'a World, arn: &str) -> Result<&'a Role, ApiError> {
    world.role(arn).ok_or_else(|| {
        ApiError::new(
            404,
            "EntityNotExist.Role",
            format!("The specified Role not exists: {arn}"),
        )
    })
}

fn within_max(role: &Role, duration: u64) -> Result<(), ApiError> {
    if duration > role.max_session_duration {
        Err(bad_duration())
    } else {
        Ok(())
    }
}

fn not_trusted() -> ApiError {
    ApiError::new(
        403,
        "NoPermission",
        "No permission perform sts:AssumeRole on this Role. Maybe you are not authorized to perform sts:AssumeRole or the specified role does not trust you.",
    )
}

/// AssumeRole: a signed caller whose account the role trusts gets a credential of the role's account.
pub fn assume_role(
    world: &mut World,
    caller: &Caller,
    params: &Params,
    now: f64,
) -> Result<Value, ApiError> {
    let arn = role_arn(params)?;
    let session = params
        .get("RoleSessionName")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("RoleSessionName"))?;
    check_session(session)?;
    let duration = duration(params)?;
    check_policy(params)?;
    let external = external_id(params)?;
    let role = role(world, arn)?.clone();
    if !role.trusts(&caller.account_id) {
        return Err(not_trusted());
    }
    if role
        .external_id
        .as_deref()
        .is_some_and(|wanted| external != Some(wanted))
    {
        return Err(not_trusted());
    }
    within_max(&role, duration)?;
    let credential = issue(world, &role, session, duration, "AssumeRole", now);
    Ok(json!({
        "AssumedRoleUser": assumed_role_user(&role, session),
        "Credentials": credentials_json(&credential),
    }))
}

fn oidc_error(code: &str, message: &str) -> ApiError {
    ApiError::new(401, &format!("AuthenticationFail.{code}"), message)
}

fn invalid_token(message: &str) -> ApiError {
    oidc_error("OIDCToken.Invalid", message)
}

/// The claims of an OIDC token that the emulator checks. The signature is not verified: the token only has
/// to be shaped like a JWT (three base64url parts, JSON header and payload, an asymmetric `alg`, a
/// non-empty signature part).
struct Claims {
    issuer: String,
    audiences: Vec<String>,
    subject: String,
    expires: f64,
    issued: Option<f64>,
}

fn decode_part(part: &str) -> Option<Map<String, Value>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT
        .decode(part)
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn claims(token: &str) -> Result<Claims, ApiError> {
    if !(4..=20_000).contains(&token.len()) {
        return Err(invalid_token(
            "The OIDCToken must be 4 to 20000 characters long.",
        ));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(invalid_token(
            "The number of Jwt field should be divided into 3 parts with '.' .",
        ));
    }
    let (Some(header), Some(payload)) = (decode_part(parts[0]), decode_part(parts[1])) else {
        return Err(invalid_token(
            "Cannot decode base64 encoded response(format invalided).",
        ));
    };
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("none");
    if !["RS", "PS", "ES"].iter().any(|p| alg.starts_with(p)) {
        return Err(invalid_token(&format!(
            "The algorithm {alg} that be specified in Jwt header is unknown."
        )));
    }
    let signature_ok = !parts[2].is_empty()
        && base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT
            .decode(parts[2])
            .is_ok();
    if !signature_ok {
        return Err(oidc_error(
            "OIDCToken.InvalidSignature",
            "OIDC token validate failed: invalid signature.",
        ));
    }
    let unrecognised = || invalid_token("The Jwt content is invalid that cannot be recognized.");
    let issuer = payload
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(unrecognised)?
        .to_string();
    let audiences = match payload.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .map(|a| a.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(unrecognised)?,
        _ => return Err(unrecognised()),
    };
    let expires = payload
        .get("exp")
        .and_then(Value::as_f64)
        .ok_or_else(unrecognised)?;
    Ok(Claims {
        issuer,
        audiences,
        subject: payload
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        expires,
        issued: payload.get("iat").and_then(Value::as_f64),
    })
}

/// AssumeRoleWithOIDC (anonymous): the token's `iss` must be the provider's issuer, one of its `aud` one of
/// the provider's audiences, its `exp` after the credential clock's now; the role must name the provider.
pub fn assume_role_with_oidc(
    world: &mut World,
    params: &Params,
    now: f64,
) -> Result<Value, ApiError> {
    let arn = role_arn(params)?;
    let provider_arn = params
        .get("OIDCProviderArn")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| missing("OIDCProviderArn"))?;
    let token = params
        .get("OIDCToken")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid_token("The OIDCToken can not empty."))?;
    let session = match params.get("RoleSessionName").filter(|s| !s.is_empty()) {
        Some(s) => {
            check_session(s)?;
            s.to_string()
        }
        None => format!("oidc-{}", random_alnum(12)),
    };
    let duration = duration(params)?;
    check_policy(params)?;
    let claims = claims(token)?;
    let provider = world
        .oidc_providers
        .iter()
        .find(|p| p.arn.eq_ignore_ascii_case(provider_arn))
        .cloned()
        .ok_or_else(|| oidc_error("NoPermission", "No such OIDC Provider registered."))?;
    let role = role(world, arn)?.clone();
    let trusted = role
        .oidc_provider_arn
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case(&provider.arn));
    if !trusted {
        return Err(oidc_error("NoPermission", "There is no permission"));
    }
    if claims.issuer != provider.issuer {
        return Err(oidc_error(
            "OIDCToken.IssuerNotMatch",
            "The issuer in the OIDC Token doesn't match the OIDC Provider registered.",
        ));
    }
    if !claims
        .audiences
        .iter()
        .any(|a| provider.audiences.contains(a))
    {
        return Err(oidc_error(
            "OIDCToken.AudienceNotMatch",
            "Invalid audience.",
        ));
    }
    if claims.expires <= now {
        return Err(oidc_error(
            "OIDCToken.Expired",
            "This JsonWebToken is expired.",
        ));
    }
    within_max(&role, duration)?;
    let credential = issue(world, &role, &session, duration, "AssumeRoleWithOIDC", now);
    let mut info = json!({
        "Issuer": claims.issuer,
        "Subject": claims.subject,
        "ClientIds": claims.audiences.join(","),
        "ExpirationTime": rfc3339(claims.expires),
        "VerificationInfo": "Success",
    });
    if let Some(iat) = claims.issued {
        info["IssuanceTime"] = Value::String(rfc3339(iat));
    }
    Ok(json!({
        "AssumedRoleUser": assumed_role_user(&role, &session),
        "Credentials": credentials_json(&credential),
        "OIDCTokenInfo": info,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &Value, payload: &Value, signature: &str) -> String {
        let enc = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!("{}.{}.{signature}", enc(header), enc(payload))
    }

    #[test]
    fn token_shapes() {
        let header = json!({"alg": "RS256", "kid": "k"});
        let payload = json!({"iss": "https://i", "aud": ["a", "b"], "sub": "s", "exp": 2_000_000_000, "iat": 1});
        let ok = claims(&jwt(&header, &payload, "c2ln")).expect("well formed");
        assert_eq!(ok.audiences, vec!["a", "b"]);
        assert_eq!(ok.subject, "s");
        let code = |t: &str| claims(t).err().map(|e| e.code);
        assert_eq!(
            code("a.b").as_deref(),
            Some("AuthenticationFail.OIDCToken.Invalid")
        );
        assert_eq!(
            code("!!!.???.x").as_deref(),
            Some("AuthenticationFail.OIDCToken.Invalid")
        );
        assert_eq!(
            code(&jwt(&json!({"alg": "HS256"}), &payload, "c2ln")).as_deref(),
            Some("AuthenticationFail.OIDCToken.Invalid")
        );
        assert_eq!(
            code(&jwt(&header, &payload, "")).as_deref(),
            Some("AuthenticationFail.OIDCToken.InvalidSignature")
        );
        assert_eq!(
            code(&jwt(&header, &json!({"iss": "x", "exp": 1}), "c2ln")).as_deref(),
            Some("AuthenticationFail.OIDCToken.Invalid")
        );
    }

    #[test]
    fn issued_keys_look_like_alibabas() {
        let mut world = World::default();
        let role = Role {
            arn: "acs:ram::1:role/r".into(),
            account_id: "1".into(),
            trusted_accounts: None,
            oidc_provider_arn: None,
            external_id: None,
            max_session_duration: 3600,
        };
        let c = issue(&mut world, &role, "s", 900, "AssumeRole", 1000.5);
        assert!(c.access_key_id.starts_with("STS.") && c.access_key_id.len() == 29);
        assert!(c.security_token.starts_with("CAIS"));
        assert_eq!(c.expires_at, 1900.0);
        assert_eq!(world.key(&c.access_key_id).map(|k| k.account_id), Some("1"));
    }
}
