//! Provider configuration: parsing what the engine sends, validating it, and turning it into client
//! settings. Names come from the schema's `config.variables`.

use std::collections::HashMap;

use serde_json::Value;

use crate::alicloud::ConfigInputs;
use crate::check::Failure;
use crate::schema::ConfigSpec;
use crate::values::{self, Props};

/// Keys the engine may send besides the schema's variables.
const ENGINE_KEYS: &[&str] = &["version", "pluginDownloadURL"];

/// Reads config from Configure's legacy `variables` map (`alicloud:config:region` → `region`).
pub fn from_variables(package: &str, variables: &HashMap<String, String>) -> Props {
    let prefix = format!("{package}:config:");
    variables
        .iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix(&prefix)?;
            // Object-valued config (endpoints) arrives JSON-encoded.
            let value = serde_json::from_str::<Value>(v)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(|| Value::String(v.clone()));
            Some((key.to_string(), value))
        })
        .collect()
}

/// The `endpoints` object, whether it came as an object or as JSON text.
fn endpoints(props: &Props) -> Result<Props, String> {
    match props.get("endpoints").map(values::reveal) {
        None | Some(Value::Null) => Ok(Props::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(format!(
                "'endpoints' must be an object such as {{\"ecs\": \"https://ecs.example\"}}, got {s:?}"
            )),
        },
        Some(other) => Err(format!("'endpoints' must be an object, got {other}")),
    }
}

/// Validates provider config; failures name the key and what is allowed.
pub fn validate(spec: &ConfigSpec, props: &Props) -> Vec<Failure> {
    let mut failures = Vec::new();
    for (key, value) in props {
        if key.starts_with("__") || ENGINE_KEYS.contains(&key.as_str()) {
            continue;
        }
        if !spec.variables.contains(key) {
            let allowed = spec.variables.join(", ");
            failures.push(Failure::new(
                key,
                format!("unknown configuration key '{key}'; alicloud accepts: {allowed}"),
            ));
            continue;
        }
        if key != "endpoints"
            && !value.is_null()
            && !values::is_unknown(value)
            && !values::reveal(value).is_string()
        {
            failures.push(Failure::new(key, format!("'{key}' must be a string")));
        }
    }
    if let Some(region) = values::get_str(props, "region") {
        let valid = region.split('-').count() >= 2
            && region.split('-').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if !valid {
            failures.push(Failure::new("region", format!("'region' must be an Alibaba Cloud region id such as cn-hangzhou, got {region:?}")));
        }
    }
    match endpoints(props) {
        Err(reason) => failures.push(Failure::new("endpoints", reason)),
        Ok(eps) => {
            for (service, url) in &eps {
                let url = values::reveal(url);
                if !spec.endpoint_services.contains(service) {
                    let allowed = spec.endpoint_services.join(", ");
                    failures.push(Failure::new(
                        "endpoints",
                        format!(
                            "unknown endpoint service 'endpoints.{service}'; allowed: {allowed}"
                        ),
                    ));
                } else if !url.is_string()
                    || url
                        .as_str()
                        .is_some_and(|u| u.trim().is_empty() || u.contains(char::is_whitespace))
                {
                    failures.push(Failure::new(
                        "endpoints",
                        format!(
                            "endpoints.{service} must be a host name or an http(s) URL, got {url}"
                        ),
                    ));
                }
            }
        }
    }
    let has = |k: &str| values::get_str(props, k).is_some();
    if has("accessKey") != has("secretKey") {
        failures.push(Failure::new(
            if has("accessKey") {
                "secretKey"
            } else {
                "accessKey"
            },
            "'accessKey' and 'secretKey' must be set together",
        ));
    }
    if has("securityToken") && !has("accessKey") {
        failures.push(Failure::new(
            "securityToken",
            "'securityToken' needs 'accessKey' and 'secretKey' as well",
        ));
    }
    let secrets = values::secret_texts(props);
    for failure in &mut failures {
        failure.reason = values::redact(&failure.reason, &secrets);
    }
    failures
}

/// Marks the schema's secret variables as secrets, so they stay secret in state.
pub fn protect_secrets(spec: &ConfigSpec, props: &mut Props) {
    for key in &spec.secrets {
        if let Some(v) = props.get_mut(key)
            && !v.is_null()
            && !values::is_secret(v)
        {
            *v = values::secret(v.take());
        }
    }
}

/// The settings the client needs; environment and profile fallbacks are applied by the client.
pub fn inputs(props: &Props) -> ConfigInputs {
    let get = |k: &str| values::get_str(props, k).map(str::to_string);
    let eps = endpoints(props).unwrap_or_default();
    let ep = |s: &str| {
        eps.get(s)
            .map(values::reveal)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    ConfigInputs {
        region: get("region"),
        access_key: get("accessKey"),
        secret_key: get("secretKey"),
        security_token: get("securityToken"),
        profile: get("profile"),
        endpoint_ecs: ep("ecs"),
        endpoint_ecd: ep("ecd"),
        application: Some(format!("pulumi-alicloud-rs/{}", env!("CARGO_PKG_VERSION"))),
        ..ConfigInputs::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use serde_json::json;

    fn check(v: Value) -> Vec<String> {
        let props = v.as_object().cloned().unwrap_or_default();
        validate(&Schema::embedded().config, &props)
            .into_iter()
            .map(|f| format!("{}: {}", f.property, f.reason))
            .collect()
    }

    #[test]
    fn valid_configs_pass() {
        assert!(check(json!({})).is_empty());
        assert!(check(json!({"region": "cn-hangzhou", "accessKey": "a", "secretKey": values::secret(json!("s")), "version": "0.1.0"})).is_empty());
        assert!(
            check(json!({"endpoints": {"ecs": "http://127.0.0.1:9", "ecd": "ecd.vpc.example"}}))
                .is_empty()
        );
        assert!(check(json!({"endpoints": "{\"ecs\":\"http://127.0.0.1:9\"}"})).is_empty());
        assert!(check(json!({"region": values::UNKNOWN})).is_empty());
    }

    #[test]
    fn bad_configs_name_the_key() {
        let cases = [
            (
                json!({"regoin": "cn-hangzhou"}),
                "regoin: unknown configuration key",
            ),
            (
                json!({"region": "Hangzhou"}),
                "region: 'region' must be an Alibaba Cloud region id",
            ),
            (
                json!({"accessKey": "a"}),
                "secretKey: 'accessKey' and 'secretKey' must be set together",
            ),
            (
                json!({"securityToken": "t"}),
                "securityToken: 'securityToken' needs",
            ),
            (
                json!({"endpoints": {"oss": "x"}}),
                "endpoints: unknown endpoint service 'endpoints.oss'",
            ),
            (
                json!({"endpoints": {"ecs": "has space"}}),
                "endpoints: endpoints.ecs must be",
            ),
            (
                json!({"endpoints": "nope"}),
                "endpoints: 'endpoints' must be an object",
            ),
            (json!({"region": 3}), "region: 'region' must be a string"),
        ];
        for (config, want) in cases {
            let got = check(config.clone());
            assert!(got.iter().any(|g| g.starts_with(want)), "{config}: {got:?}");
        }
    }

    #[test]
    fn variables_map_is_read() {
        let vars: HashMap<String, String> = [
            (
                "alicloud:config:region".to_string(),
                "cn-shanghai".to_string(),
            ),
            (
                "alicloud:config:endpoints".to_string(),
                "{\"ecs\":\"http://x\"}".to_string(),
            ),
            ("other:config:region".to_string(), "x".to_string()),
        ]
        .into();
        let props = from_variables("alicloud", &vars);
        assert_eq!(props.len(), 2);
        let inputs = inputs(&props);
        assert_eq!(inputs.region.as_deref(), Some("cn-shanghai"));
        assert_eq!(inputs.endpoint_ecs.as_deref(), Some("http://x"));
    }

    #[test]
    fn secrets_are_wrapped() {
        let mut props = json!({"secretKey": "s", "securityToken": values::secret(json!("t")), "region": "cn-hangzhou"}).as_object().cloned().unwrap();
        protect_secrets(&Schema::embedded().config, &mut props);
        assert!(values::is_secret(&props["secretKey"]));
        assert!(values::is_secret(&props["securityToken"]));
        assert!(!values::is_secret(&props["region"]));
        assert_eq!(values::get_str(&props, "secretKey"), Some("s"));
    }
}
