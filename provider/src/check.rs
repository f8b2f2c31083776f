//! The generic part of Check: unknown properties, required inputs and types, from the schema.
//! Resource-specific rules (formats, lengths) are added by each resource's `validate`.

use serde_json::Value;

use crate::schema::ResourceSpec;
use crate::values::{self, Props};

/// One rejected input: the property and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The property name.
    pub property: String,
    /// Why it was rejected, in words a user can act on.
    pub reason: String,
}

impl Failure {
    /// A failure of `property`.
    pub fn new(property: &str, reason: impl Into<String>) -> Self {
        Failure {
            property: property.to_string(),
            reason: reason.into(),
        }
    }
}

/// Null, or a secret null: a value the program did not set.
fn is_null(v: &Value) -> bool {
    values::reveal(v).is_null()
}

/// Checks `news` against the schema. An input listed in `unobservable` is required only for a new
/// resource: one that already exists without it (an import) keeps working.
pub fn check_schema(
    spec: &ResourceSpec,
    unobservable: &[&str],
    olds: &Props,
    news: &Props,
) -> Vec<Failure> {
    let mut failures = Vec::new();
    for key in news.keys() {
        // The engine may add bookkeeping keys such as `__defaults`.
        if !key.starts_with("__") && !spec.inputs.contains(key) {
            let allowed = spec.inputs.join(", ");
            failures.push(Failure::new(
                key,
                format!(
                    "unknown property '{key}'; {} accepts: {allowed}",
                    spec.token
                ),
            ));
        }
    }
    // An unobservable input is optional in the schema, so that the program `pulumi import` writes for a
    // resource without it is valid as is; it is still needed to create one.
    let required = spec
        .required_inputs
        .iter()
        .map(String::as_str)
        .chain(unobservable.iter().copied());
    for name in required {
        let missing = news.get(name).is_none_or(is_null);
        let exempt =
            unobservable.contains(&name) && !olds.is_empty() && olds.get(name).is_none_or(is_null);
        if missing && !exempt {
            let reason = if unobservable.contains(&name) {
                format!(
                    "missing required property '{name}': {} needs it to be created (only a resource that \
                     already exists without it, such as an imported one, may leave it out)",
                    spec.token
                )
            } else {
                format!("missing required property '{name}'")
            };
            failures.push(Failure::new(name, reason));
        }
    }
    for (name, kind) in &spec.input_types {
        let Some(value) = news.get(name) else {
            continue;
        };
        if is_null(value) || values::is_unknown(value) {
            continue;
        }
        let ok = match kind.as_str() {
            "string" => values::reveal(value).is_string(),
            "boolean" => values::reveal(value).is_boolean(),
            "integer" | "number" => values::reveal(value).is_number(),
            _ => true,
        };
        if !ok {
            failures.push(Failure::new(
                name,
                format!("'{name}' must be a {kind}, got {}", values::reveal(value)),
            ));
        }
    }
    failures
}

/// The characters Alibaba allows to start an image name: a letter or a Chinese character.
/// Whether an Alibaba resource name may start with `c`: a letter or a Chinese character.
pub(crate) fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || is_cjk(c)
}

/// Whether an ECD image name may contain `c` after its first character.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_cjk(c) || matches!(c, ':' | '_' | '-')
}

/// A CJK unified ideograph, as Alibaba's name rules allow.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

fn starts_with_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// An ECD image name (the `ImageName` rule of the official SDK's CreateImage model): `min..=max` characters,
/// starting with a letter or Chinese character, made of letters, Chinese characters, digits, `:`, `_` and `-`
/// (no `.`), not starting with `http(s)://`.
pub fn name(property: &str, value: &str, min: usize, max: usize) -> Option<Failure> {
    let len = value.chars().count();
    let rule = format!(
        "'{property}' must be {min} to {max} characters, start with a letter or a Chinese character, \
         and contain only letters, Chinese characters, digits, ':', '_' and '-' (no '.')"
    );
    let valid_chars = value.chars().all(is_name_char);
    if starts_with_url(value) {
        Some(Failure::new(
            property,
            format!("'{property}' must not start with http:// or https://"),
        ))
    } else if len < min
        || len > max
        || !value.chars().next().is_some_and(is_name_start)
        || !valid_chars
    {
        Some(Failure::new(
            property,
            format!("{rule}; got {value:?} ({len} characters)"),
        ))
    } else {
        None
    }
}

/// A free-text description: `min..=max` characters, not starting with `http(s)://`.
pub fn description(property: &str, value: &str, min: usize, max: usize) -> Option<Failure> {
    let len = value.chars().count();
    if starts_with_url(value) {
        Some(Failure::new(
            property,
            format!("'{property}' must not start with http:// or https://"),
        ))
    } else if len < min || len > max {
        Some(Failure::new(
            property,
            format!("'{property}' must be {min} to {max} characters, got {len}"),
        ))
    } else {
        None
    }
}

/// An Alibaba id: `prefix` followed by lowercase letters and digits, at most 64 characters in all.
pub fn id_with_prefix(property: &str, value: &str, prefix: &str, example: &str) -> Option<Failure> {
    let rest = value.strip_prefix(prefix).unwrap_or("");
    let ok = value.starts_with(prefix)
        && !rest.is_empty()
        && value.len() <= 64
        && rest
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (!ok).then(|| {
        Failure::new(
            property,
            format!(
                "'{property}' must be an ID such as {example} (\"{prefix}\" followed by lowercase letters and digits), got {value:?}"
            ),
        )
    })
}

/// A numeric Alibaba Cloud account ID (UID).
pub fn account_id(property: &str, value: &str) -> Option<Failure> {
    let ok = !value.is_empty() && value.len() <= 20 && value.chars().all(|c| c.is_ascii_digit());
    (!ok).then(|| {
        Failure::new(
            property,
            format!("'{property}' must be a numeric Alibaba Cloud account ID such as 1234567890123456, got {value:?}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name("imageName", "golden-image_1:v2-0", 2, 128).is_none());
        assert!(name("imageName", "镜像一号", 2, 128).is_none());
        for bad in [
            "a",
            "1abc",
            "-abc",
            "has space",
            "bad/slash",
            "my.image",
            "http://x",
            "HTTPS://x",
            &"a".repeat(129),
        ] {
            let f = name("imageName", bad, 2, 128).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert_eq!(f.property, "imageName");
        }
    }

    #[test]
    fn descriptions() {
        assert!(description("description", "Golden image, v2 (2026)", 2, 256).is_none());
        assert!(description("description", "x", 2, 256).is_some());
        assert!(description("description", &"x".repeat(257), 2, 256).is_some());
        assert!(
            description("description", "https://example", 2, 256)
                .unwrap()
                .reason
                .contains("http")
        );
    }

    #[test]
    fn ids() {
        assert!(id_with_prefix("imageId", "m-bp1demoimage00000001", "m-", "m-x").is_none());
        for bad in ["m-", "bp1", "m-UPPER", "m-a_b", "ecd-123"] {
            assert!(
                id_with_prefix("imageId", bad, "m-", "m-x").is_some(),
                "{bad:?} accepted"
            );
        }
        assert!(account_id("accountId", "1234567890123456").is_none());
        for bad in ["", "12a", "-1", "123456789012345678901"] {
            assert!(account_id("accountId", bad).is_some(), "{bad:?} accepted");
        }
    }
}
