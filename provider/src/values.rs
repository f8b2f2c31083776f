//! Property values as the engine sends them: `google.protobuf.Struct` with Pulumi's sentinels for
//! unknown (preview) values and secrets, converted to and from `serde_json`.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value as PbValue};
use std::collections::BTreeSet;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

/// A property bag: property name → value.
pub type Props = Map<String, Value>;

/// The string the engine uses for a value not known until the update runs.
pub const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/// The key marking an object as a special Pulumi value, and the signature of a secret.
const SIG_KEY: &str = "4dabf18193072939515e22adb298388d";
const SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";

/// Converts an optional Struct into properties (absent → empty).
pub fn from_struct(s: Option<&Struct>) -> Props {
    s.map(|s| {
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), from_pb(v)))
            .collect()
    })
    .unwrap_or_default()
}

/// Converts properties into a Struct.
pub fn to_struct(props: &Props) -> Struct {
    Struct {
        fields: props.iter().map(|(k, v)| (k.clone(), to_pb(v))).collect(),
    }
}

fn from_pb(v: &PbValue) -> Value {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(from_pb).collect()),
        Some(Kind::StructValue(s)) => Value::Object(from_struct(Some(s))),
    }
}

fn to_pb(v: &Value) -> PbValue {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(ListValue {
            values: a.iter().map(to_pb).collect(),
        }),
        Value::Object(o) => Kind::StructValue(to_struct(o)),
    };
    PbValue { kind: Some(kind) }
}

/// The unknown sentinel as a value.
pub fn unknown() -> Value {
    Value::String(UNKNOWN.to_string())
}

/// Whether a value is unknown (preview), looking through a secret wrapper.
pub fn is_unknown(v: &Value) -> bool {
    matches!(reveal(v), Value::String(s) if s == UNKNOWN)
}

/// Wraps a value as a secret.
pub fn secret(v: Value) -> Value {
    let mut m = Map::new();
    m.insert(SIG_KEY.to_string(), Value::String(SECRET_SIG.to_string()));
    m.insert("value".to_string(), v);
    Value::Object(m)
}

/// Whether a value is wrapped as a secret.
pub fn is_secret(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.get(SIG_KEY).and_then(Value::as_str) == Some(SECRET_SIG))
}

/// The value inside a secret wrapper, or the value itself.
pub fn reveal(v: &Value) -> &Value {
    match v {
        Value::Object(m) if is_secret(v) => m.get("value").unwrap_or(&Value::Null),
        _ => v,
    }
}

/// A known string property, looking through secrets; `None` when absent, null, unknown or not a string.
pub fn get_str<'a>(props: &'a Props, key: &str) -> Option<&'a str> {
    match props.get(key).map(reveal) {
        Some(Value::String(s)) if s != UNKNOWN => Some(s),
        _ => None,
    }
}

/// Why properties do not make a typed value.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A property is not known yet (preview): there is no value to decode.
    #[error("'{0}' is not known yet")]
    Unknown(String),
    /// The properties do not fit the type.
    #[error(transparent)]
    Invalid(#[from] serde_json::Error),
}

/// Whether a value is unknown or holds an unknown anywhere inside it.
fn holds_unknown(v: &Value) -> bool {
    match reveal(v) {
        Value::String(s) => s == UNKNOWN,
        Value::Array(a) => a.iter().any(holds_unknown),
        Value::Object(o) => o.values().any(holds_unknown),
        _ => false,
    }
}

/// A value with every secret wrapper inside it removed.
fn reveal_all(v: &Value) -> Value {
    match reveal(v) {
        Value::Array(a) => Value::Array(a.iter().map(reveal_all).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), reveal_all(v))).collect())
        }
        other => other.clone(),
    }
}

/// The properties a typed value is read from: secrets revealed, nulls (unset) and the engine's bookkeeping
/// keys (`__defaults`) left out, each with whether it holds an unknown.
fn settable(props: &Props) -> impl Iterator<Item = (&String, bool, Value)> {
    props
        .iter()
        .filter(|(k, _)| !k.starts_with("__"))
        .map(|(k, v)| (k, holds_unknown(v), reveal_all(v)))
        .filter(|(_, _, v)| !v.is_null())
}

/// Properties as a typed value, for operations that run on known values (Create, Update, Read, Delete,
/// Invoke). Secrets are revealed (the caller marks the outputs again from the properties' secret keys) and
/// an unknown is an error, never a value.
pub fn decode<T: DeserializeOwned>(props: &Props) -> Result<T, DecodeError> {
    let mut known = Map::new();
    for (key, unknown, value) in settable(props) {
        if unknown {
            return Err(DecodeError::Unknown(key.clone()));
        }
        known.insert(key.clone(), value);
    }
    Ok(serde_json::from_value(Value::Object(known))?)
}

/// What Check and Diff can see of properties as a typed value whose fields are all optional: a value that is
/// unknown (preview), null or not of its field's type is left out, as if unset. Secrets are revealed.
pub fn view<T: DeserializeOwned + Default>(props: &Props) -> T {
    let fitting: Map<String, Value> = settable(props)
        .filter(|(_, unknown, _)| !unknown)
        .filter(|(key, _, value)| {
            let alone = Map::from_iter([((*key).clone(), value.clone())]);
            serde_json::from_value::<T>(Value::Object(alone)).is_ok()
        })
        .map(|(key, _, value)| (key.clone(), value))
        .collect();
    // Each field fits on its own, and a type whose fields are all optional takes any set of them.
    serde_json::from_value(Value::Object(fitting)).unwrap_or_default()
}

/// A typed value as properties; unset (`None`) fields are left out.
pub fn encode<T: Serialize>(value: &T) -> Props {
    match serde_json::to_value(value) {
        Ok(Value::Object(props)) => props.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        // Every type encoded here is a struct of strings and lists, which serializes to an object.
        _ => Props::new(),
    }
}

/// The properties whose values are secrets.
pub fn secret_keys(props: &Props) -> BTreeSet<String> {
    props
        .iter()
        .filter(|(_, v)| is_secret(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Marks the named properties as secrets: the provider accepts secrets, so the engine no longer carries the
/// marking from inputs to outputs itself.
pub fn mark_secret(props: &mut Props, keys: &BTreeSet<String>) {
    for key in keys {
        if let Some(v) = props.get_mut(key)
            && !v.is_null()
            && !is_secret(v)
        {
            *v = secret(v.take());
        }
    }
}

/// The text of every value (and key) inside a secret anywhere in `props`, to keep them out of messages.
/// Texts shorter than [`MIN_REDACTED`] are left: hiding them would garble the words around them, and no
/// credential, id or account is that short.
pub fn secret_texts(props: &Props) -> Vec<String> {
    fn texts(v: &Value, inside: bool, out: &mut Vec<String>) {
        let inside = inside || is_secret(v);
        match reveal(v) {
            Value::String(s) if inside => out.push(s.clone()),
            Value::Number(n) if inside => out.push(n.to_string()),
            Value::Array(a) => a.iter().for_each(|v| texts(v, inside, out)),
            Value::Object(o) => {
                for (k, v) in o {
                    if inside {
                        out.push(k.clone());
                    }
                    texts(v, inside, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    props.values().for_each(|v| texts(v, false, &mut out));
    out.retain(|s| s.chars().count() >= MIN_REDACTED);
    // Longest first, so that a secret containing another is hidden whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// The shortest secret text [`secret_texts`] reports.
pub const MIN_REDACTED: usize = 4;

/// `message` with each of `secrets` replaced by `[secret]`.
pub fn redact(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_string(), |m, s| {
        m.replace(s.as_str(), "[secret]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn struct_round_trip_keeps_unknowns_and_secrets() {
        let props = json!({
            "a": "x", "n": 3.0, "b": true, "z": null, "l": ["p", 1.5],
            "u": UNKNOWN, "s": secret(json!("hidden")),
        });
        let props = props.as_object().unwrap().clone();
        let back = from_struct(Some(&to_struct(&props)));
        assert_eq!(back, props);
        assert!(is_unknown(&back["u"]));
        assert!(is_secret(&back["s"]));
        assert_eq!(get_str(&back, "s"), Some("hidden"));
        assert_eq!(get_str(&back, "u"), None);
        assert_eq!(get_str(&back, "missing"), None);
    }

    #[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        image_name: Option<String>,
        image_ids: Option<Vec<String>>,
    }

    #[test]
    fn decode_reveals_secrets_and_refuses_unknowns() {
        let props = json!({"imageName": secret(json!("golden")), "imageIds": [secret(json!("m-1"))], "__defaults": []});
        let sample: Sample = decode(props.as_object().unwrap()).unwrap();
        assert_eq!(sample.image_name.as_deref(), Some("golden"));
        assert_eq!(sample.image_ids, Some(vec!["m-1".to_string()]));
        for unknown in [
            json!({"imageName": unknown()}),
            json!({"imageIds": [secret(unknown())]}),
        ] {
            let err = decode::<Sample>(unknown.as_object().unwrap()).unwrap_err();
            assert!(matches!(err, DecodeError::Unknown(_)), "{err}");
        }
        assert!(decode::<Sample>(json!({"imageName": 3}).as_object().unwrap()).is_err());
    }

    #[test]
    fn view_keeps_only_known_values_of_their_type() {
        let props = json!({"imageName": secret(unknown()), "imageIds": ["m-1", 2], "other": 1});
        assert_eq!(
            view::<Sample>(props.as_object().unwrap()),
            Sample::default()
        );
        let props = json!({"imageName": secret(json!("golden")), "imageIds": null});
        let seen: Sample = view(props.as_object().unwrap());
        assert_eq!(seen.image_name.as_deref(), Some("golden"));
        assert_eq!(seen.image_ids, None);
    }

    #[test]
    fn encode_leaves_out_unset_fields() {
        let props = encode(&Sample {
            image_name: Some("golden".into()),
            image_ids: None,
        });
        assert_eq!(Value::Object(props), json!({"imageName": "golden"}));
    }

    #[test]
    fn unknown_inside_secret_is_unknown() {
        assert!(is_unknown(&secret(unknown())));
        assert!(!is_unknown(&json!("m-123")));
    }

    #[test]
    fn secrets_are_found_marked_and_redacted() {
        let props = json!({"a": secret(json!("hidden-account")), "b": "plain", "c": secret(json!(["x1", "hidden"])), "e": {"n": secret(json!({"inner-key": 1234.5}))}});
        let props = props.as_object().unwrap().clone();
        let keys = secret_keys(&props);
        assert_eq!(
            keys.iter().map(String::as_str).collect::<Vec<_>>(),
            ["a", "c"]
        );
        let mut outputs = json!({"a": "hidden-account", "b": "plain", "d": null});
        let outputs = outputs.as_object_mut().unwrap();
        mark_secret(outputs, &keys);
        assert!(is_secret(&outputs["a"]));
        assert!(!is_secret(&outputs["b"]));
        assert!(outputs["d"].is_null());
        mark_secret(outputs, &keys);
        assert_eq!(
            reveal(&outputs["a"]),
            &json!("hidden-account"),
            "marked once"
        );
        let texts = secret_texts(&props);
        assert_eq!(texts, ["hidden-account", "inner-key", "hidden", "1234.5"]);
        assert_eq!(
            redact("account hidden-account is hidden (x1)", &texts),
            "account [secret] is [secret] (x1)"
        );
    }
}
