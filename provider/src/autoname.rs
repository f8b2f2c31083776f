//! Pulumi autonaming for name properties: a resource declared without a name gets one derived from its
//! logical name plus a suffix, kept across updates. For an ECD image the name is also the only key the API
//! offers (CreateImage takes no client token), so the suffix is reproducible: the same stack, resource and
//! source desktop always give the same name. A create whose answer was lost, or whose `pulumi up` was killed,
//! can then find the image it made on the next attempt instead of leaving it behind untracked; and a
//! replacement from another desktop gets another name, so old and new can exist side by side.

use ring::digest;
use serde_json::Value;

use crate::check::{is_name_char, is_name_start};
use crate::proto::pulumirpc::check_request::AutonamingOptions;
use crate::proto::pulumirpc::check_request::autonaming_options::Mode;
use crate::values::{self, Props};

/// How a resource names itself when the program gives no name.
#[derive(Debug, Clone, Copy)]
pub struct AutoName {
    /// The input property that holds the name.
    pub property: &'static str,
    /// The longest name the API takes.
    pub max_len: usize,
    /// The input whose value, with the URN, makes the suffix: a change of it replaces the resource.
    pub keyed_by: &'static str,
}

/// Characters of the suffix.
const SUFFIX_LEN: usize = 7;

/// Fills `auto.property` in `news` when the program left it out: the old value when there is one (a name
/// never changes just because it was generated); for a new resource, the engine's autonaming choice when the
/// project configures one, else [`reproducible`]. With autonaming disabled by the engine, or for an existing
/// resource without a name, the property stays unset; while the keying input is unknown (preview), so is
/// the name.
pub fn apply(
    auto: AutoName,
    olds: &Props,
    news: &mut Props,
    logical_name: &str,
    urn: &str,
    options: Option<&AutonamingOptions>,
) {
    if news.contains_key(auto.property) {
        return;
    }
    if let Some(old) = olds
        .get(auto.property)
        .filter(|v| values::reveal(v).is_string())
    {
        news.insert(auto.property.to_string(), old.clone());
        return;
    }
    if !olds.is_empty() {
        // An existing resource that has no name (say, an imported one): naming it now would be a change.
        return;
    }
    let name = match options.map(|o| (Mode::try_from(o.mode), o.proposed_name.as_str())) {
        Some((Ok(Mode::Disable), _)) => return,
        // The engine's choice (from the project's autonaming configuration); Check validates it.
        Some((Ok(Mode::Enforce), proposed)) => Value::String(proposed.to_string()),
        Some((_, proposed)) if !proposed.is_empty() => Value::String(fit(proposed, auto.max_len)),
        _ if news.get(auto.keyed_by).is_some_and(values::is_unknown) => values::unknown(),
        _ => {
            let key = values::get_str(news, auto.keyed_by).unwrap_or_default();
            Value::String(reproducible(auto, logical_name, urn, key))
        }
    };
    news.insert(auto.property.to_string(), name);
}

/// `<logical name>-<7 hex characters of SHA-256(urn, key)>`, the prefix made to fit Alibaba's name rule.
pub fn reproducible(auto: AutoName, logical_name: &str, urn: &str, key: &str) -> String {
    let hash = digest::digest(&digest::SHA256, format!("{urn}\n{key}").as_bytes());
    let suffix = &hex::encode(hash.as_ref())[..SUFFIX_LEN];
    let prefix = fit(logical_name, auto.max_len - SUFFIX_LEN - 1);
    format!("{prefix}-{suffix}")
}

/// Replaces characters Alibaba names do not allow with `-`, starts with a letter, and shortens to `max_len`.
fn fit(name: &str, max_len: usize) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if is_name_char(c) { c } else { '-' })
        .collect();
    let starts_well = out.chars().next().is_some_and(is_name_start);
    if out.is_empty() {
        out = "image".into();
    } else if !starts_well || out.to_ascii_lowercase().starts_with("http") {
        out = format!("image-{out}");
    }
    out.chars().take(max_len).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;
    use serde_json::json;

    const AUTO: AutoName = AutoName {
        property: "imageName",
        max_len: 128,
        keyed_by: "desktopId",
    };
    const URN: &str = "urn:pulumi:dev::proj::alicloud:ecd:Image::golden";

    fn props(v: Value) -> Props {
        v.as_object().cloned().unwrap_or_default()
    }

    fn named(
        olds: Value,
        news: Value,
        name: &str,
        options: Option<AutonamingOptions>,
    ) -> Option<Value> {
        let mut news = props(news);
        apply(AUTO, &props(olds), &mut news, name, URN, options.as_ref());
        news.get("imageName").cloned()
    }

    fn options(mode: Mode, proposed: &str) -> Option<AutonamingOptions> {
        Some(AutonamingOptions {
            proposed_name: proposed.into(),
            mode: mode as i32,
        })
    }

    #[test]
    fn a_given_or_unknown_name_is_left_alone() {
        assert_eq!(
            named(json!({}), json!({"imageName": "mine"}), "golden", None),
            Some(json!("mine"))
        );
        let unknown = json!(crate::values::UNKNOWN);
        assert_eq!(
            named(json!({}), json!({"imageName": unknown}), "golden", None),
            Some(unknown)
        );
    }

    #[test]
    fn the_old_name_is_kept() {
        assert_eq!(
            named(
                json!({"imageName": "golden-1a2b3c4"}),
                json!({}),
                "golden",
                None
            ),
            Some(json!("golden-1a2b3c4"))
        );
    }

    #[test]
    fn an_existing_resource_without_a_name_is_not_named() {
        assert_eq!(
            named(json!({"desktopId": "ecd-1"}), json!({}), "golden", None),
            None
        );
    }

    #[test]
    fn a_new_name_is_reproducible_per_urn_and_desktop_and_valid() {
        let d1 = json!({"desktopId": "ecd-1"});
        let first = named(json!({}), d1.clone(), "golden", None).expect("a name");
        let again = named(json!({}), d1.clone(), "golden", None).expect("a name");
        assert_eq!(first, again);
        let other_desktop =
            named(json!({}), json!({"desktopId": "ecd-2"}), "golden", None).expect("a name");
        assert_ne!(first, other_desktop);
        let mut news = props(d1);
        apply(
            AUTO,
            &Props::new(),
            &mut news,
            "golden",
            "urn:pulumi:prod::proj::alicloud:ecd:Image::golden",
            None,
        );
        assert_ne!(Some(&first), news.get("imageName"), "another stack");
        assert_eq!(
            first.as_str(),
            Some(reproducible(AUTO, "golden", URN, "ecd-1").as_str())
        );
        let unknown_desktop = json!({"desktopId": crate::values::UNKNOWN});
        assert_eq!(
            named(json!({}), unknown_desktop, "golden", None),
            Some(json!(crate::values::UNKNOWN))
        );
        let first = first.as_str().expect("a string").to_string();
        assert!(
            first.starts_with("golden-") && first.len() == "golden-".len() + 7,
            "{first}"
        );
        for logical in [
            "9lives",
            "with space/and:colon",
            "http-thing",
            &"x".repeat(300),
            "镜像",
            "dotted.name",
        ] {
            let name = named(json!({}), json!({}), logical, None).expect("a name");
            let name = name.as_str().expect("a string");
            assert_eq!(
                check::name("imageName", name, 2, 128),
                None,
                "{logical} → {name}"
            );
        }
    }

    #[test]
    fn the_engines_autonaming_choice_is_honoured() {
        assert_eq!(
            named(
                json!({}),
                json!({}),
                "golden",
                options(Mode::Propose, "proposed-name")
            ),
            Some(json!("proposed-name"))
        );
        assert_eq!(
            named(
                json!({}),
                json!({}),
                "golden",
                options(Mode::Enforce, "Exactly This")
            ),
            Some(json!("Exactly This"))
        );
        assert_eq!(
            named(json!({}), json!({}), "golden", options(Mode::Disable, "")),
            None
        );
        let fitted = named(
            json!({}),
            json!({}),
            "golden",
            options(Mode::Propose, "1 bad name"),
        )
        .expect("a name");
        assert_eq!(fitted, json!("image-1-bad-name"));
    }
}
